import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createMechanisms } from './mechanisms.js';
import { MemoryCredentials } from './memory-credentials.fixture.js';
import { scramMechanism } from './scram.js';
import type { SaslContext, SaslMechanism, SaslStep } from './types.js';

/*
 * The server against RFC 7677's example and against a SCRAM client written here from the
 * RFC with node:crypto alone (it shares no code with the server).
 */

const RFC_SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const SECRET = Buffer.alloc(32, 7);
const plain: SaslContext = { remoteAddress: '192.0.2.1', secure: false };
const EXPORTER = Buffer.alloc(32, 0xe1);
const END_POINT = createHash('sha256').update('server certificate').digest();
const tlsCtx: SaslContext = {
  remoteAddress: '192.0.2.1',
  secure: true,
  tls: { exporter: () => EXPORTER, serverEndPoint: END_POINT },
};

async function users(): Promise<MemoryCredentials> {
  return MemoryCredentials.create({
    user: { password: 'pencil', scram: { salt: RFC_SALT, iterations: 4096 } },
    'a,b=c': { password: 'odd name', scram: { salt: randomBytes(16), iterations: 4096 } },
    nokeys: { password: 'pencil' },
  });
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function text(step: SaslStep): string {
  assert.equal(step.kind, 'challenge', JSON.stringify(step));
  return step.kind === 'challenge' ? step.data.toString('utf8') : '';
}

/** A SCRAM-SHA-256 client (RFC 5802 section 3), independent of the server's code. */
class Client {
  readonly nonce = randomBytes(18).toString('base64');
  private authMessage = '';
  private saltedPassword = Buffer.alloc(0);
  readonly gs2: string;

  constructor(
    private readonly user: string,
    private readonly password: string,
    options: { flag?: string; authzid?: string; cbData?: Buffer } = {},
  ) {
    this.gs2 = `${options.flag ?? 'n'},${options.authzid === undefined ? '' : `a=${escape(options.authzid)}`},`;
    this.cbData = options.cbData ?? Buffer.alloc(0);
  }

  private readonly cbData: Buffer;

  get bare(): string {
    return `n=${escape(this.user)},r=${this.nonce}`;
  }

  first(): Buffer {
    return bytes(this.gs2 + this.bare);
  }

  final(serverFirst: string, tweak: { nonce?: string; proof?: (proof: Buffer) => Buffer } = {}): Buffer {
    const fields = new Map(serverFirst.split(',').map((f) => [f.slice(0, 1), f.slice(2)] as const));
    const nonce = fields.get('r') ?? '';
    assert.ok(nonce.startsWith(this.nonce), 'server nonce extends the client nonce');
    const salt = Buffer.from(fields.get('s') ?? '', 'base64');
    const iterations = Number(fields.get('i'));
    this.saltedPassword = pbkdf2Sync(this.password, salt, iterations, 32, 'sha256');
    const withoutProof = `c=${Buffer.concat([bytes(this.gs2), this.cbData]).toString('base64')},r=${tweak.nonce ?? nonce}`;
    this.authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(this.saltedPassword, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const signature = hmac(storedKey, this.authMessage);
    let proof: Buffer = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0)));
    if (tweak.proof) proof = tweak.proof(proof);
    return bytes(`${withoutProof},p=${proof.toString('base64')}`);
  }

  expectedServerFinal(): string {
    return `v=${hmac(hmac(this.saltedPassword, 'Server Key'), this.authMessage).toString('base64')}`;
  }
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function escape(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function mechanism(credentials: MemoryCredentials, plus = false, nonce?: () => string): SaslMechanism {
  return scramMechanism({ credentials, plus, secret: SECRET, iterations: 4096, ...(nonce && { nonce }) });
}

/** Runs a whole exchange with the client; returns the last step. */
async function run(mech: SaslMechanism, ctx: SaslContext, client: Client, tweak: Parameters<Client['final']>[1] = {}): Promise<SaslStep> {
  const exchange = mech.start(ctx);
  const serverFirst = await exchange.step(client.first());
  if (serverFirst.kind !== 'challenge') return serverFirst;
  return exchange.step(client.final(text(serverFirst), tweak));
}

describe('SCRAM-SHA-256', () => {
  test('RFC 7677 section 3 example, byte for byte', async () => {
    const mech = mechanism(await users(), false, () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
    const exchange = mech.start(plain);
    const serverFirst = await exchange.step(bytes('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    assert.equal(text(serverFirst), 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const outcome = await exchange.step(
      bytes('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    );
    assert.equal(outcome.kind, 'success');
    assert.ok(outcome.kind === 'success');
    assert.equal(outcome.user, 'user');
    assert.equal(outcome.final?.toString('utf8'), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // Finished: nothing more is accepted.
    assert.equal((await exchange.step(Buffer.alloc(0))).kind, 'failure');
  });

  test('an independent client logs in, and the server proves it knows the keys', async () => {
    const client = new Client('user', 'pencil');
    const exchange = mechanism(await users()).start(plain);
    const serverFirst = text(await exchange.step(client.first()));
    assert.match(serverFirst, /^r=[^,]+,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096$/);
    const outcome = await exchange.step(client.final(serverFirst));
    assert.ok(outcome.kind === 'success', JSON.stringify(outcome));
    assert.equal(outcome.final?.toString(), client.expectedServerFinal());
  });

  test('each exchange gets a fresh server nonce', async () => {
    const mech = mechanism(await users());
    const client = new Client('user', 'pencil');
    const a = text(await mech.start(plain).step(client.first()));
    const b = text(await mech.start(plain).step(client.first()));
    assert.notEqual(a.split(',')[0], b.split(',')[0]);
  });

  test('without an initial response the server sends an empty challenge first', async () => {
    const client = new Client('user', 'pencil');
    const exchange = mechanism(await users()).start(plain);
    assert.equal(text(await exchange.step(undefined)), '');
    const serverFirst = text(await exchange.step(client.first()));
    assert.equal((await exchange.step(client.final(serverFirst))).kind, 'success');
  });

  test('a wrong password gets e=invalid-proof, then fails', async () => {
    const client = new Client('user', 'pencil!');
    const exchange = mechanism(await users()).start(plain);
    const serverFirst = text(await exchange.step(client.first()));
    assert.equal(text(await exchange.step(client.final(serverFirst))), 'e=invalid-proof');
    const outcome = await exchange.step(Buffer.alloc(0));
    assert.ok(outcome.kind === 'failure');
    assert.match(outcome.reason, /invalid proof/);
    assert.equal(outcome.user, 'user');
    assert.equal(outcome.temporary, undefined);
  });

  test('a tampered proof is refused', async () => {
    const exchange = await run(mechanism(await users()), plain, new Client('user', 'pencil'), {
      proof: (proof) => Buffer.from(proof.map((b, i) => (i === 5 ? b ^ 1 : b))),
    });
    assert.equal(text(exchange), 'e=invalid-proof');
    const short = await run(mechanism(await users()), plain, new Client('user', 'pencil'), { proof: (proof) => proof.subarray(1) });
    assert.equal(text(short), 'e=invalid-proof');
  });

  test('a nonce that is not the combined one is refused', async () => {
    const step = await run(mechanism(await users()), plain, new Client('user', 'pencil'), { nonce: 'someothernonce' });
    assert.equal(text(step), 'e=other-error');
  });

  test('an unknown user sees what a wrong password sees, with a stable salt', async () => {
    const credentials = await users();
    const mech = mechanism(credentials);
    const first = async (name: string) => text(await mech.start(plain).step(new Client(name, 'x').first())).replace(/^r=[^,]+,/, '');
    const ghost = await first('ghost');
    assert.match(ghost, /^s=[A-Za-z0-9+/]{22}==,i=4096$/, 'same shape as a real user');
    assert.equal(await first('ghost'), ghost, 'same salt every time, as for a real user');
    assert.notEqual(await first('ghost2'), ghost);
    // A user without SCRAM keys is treated the same way.
    assert.match(await first('nokeys'), /^s=[A-Za-z0-9+/]{22}==,i=4096$/);

    const step = await run(mech, plain, new Client('ghost', 'pencil'));
    assert.equal(text(step), 'e=invalid-proof');
  });

  test("user names travel with ',' and '=' escaped", async () => {
    const client = new Client('a,b=c', 'odd name');
    assert.match(client.bare, /^n=a=2Cb=3Dc,/);
    const outcome = await run(mechanism(await users()), plain, client);
    assert.ok(outcome.kind === 'success');
    assert.equal(outcome.user, 'a,b=c');
  });

  test('malformed client-first messages fail at once', async () => {
    const mech = mechanism(await users());
    const bad = [
      'n,,n=user',
      'n,,r=abc,n=user',
      'n,,n=us=2Xer,r=abc',
      'n,,n=,r=abc',
      'n,,m=ext,n=user,r=abc',
      'x,,n=user,r=abc',
      'n,b=user,n=user,r=abc',
      'n,,n=user,r=a b,c',
      'n,,n=user,r=',
      'n=user,r=abc',
      'n,,n=user\u0007,r=abc',
    ];
    for (const message of bad) {
      const outcome = await mech.start(plain).step(bytes(message));
      assert.equal(outcome.kind, 'failure', message);
    }
    assert.equal((await mech.start(plain).step(Buffer.from([0x6e, 0x2c, 0x2c, 0xff]))).kind, 'failure', 'not UTF-8');
  });

  test('malformed client-final messages are refused', async () => {
    const mech = mechanism(await users());
    for (const final of ['c=biws', 'r=x,c=biws,p=AAAA', 'c=biws,r=x,p=not base64!', 'c=bi,r=x,p=AAAA']) {
      const client = new Client('user', 'pencil');
      const exchange = mech.start(plain);
      await exchange.step(client.first());
      const step = await exchange.step(bytes(final));
      assert.ok(step.kind === 'challenge' && step.data.toString().startsWith('e='), final);
      assert.equal((await exchange.step(Buffer.alloc(0))).kind, 'failure');
    }
  });

  test('an authzid must name the user itself', async () => {
    const mech = mechanism(await users());
    assert.equal((await run(mech, plain, new Client('user', 'pencil', { authzid: 'user' }))).kind, 'success');
    const other = await run(mech, plain, new Client('user', 'pencil', { authzid: 'admin' }));
    assert.ok(other.kind === 'failure');
    assert.match(other.reason, /authzid/);
  });

  test("'y' is fine while -PLUS is not offered, and is a downgrade when it is", async () => {
    const credentials = await users();
    const [scram] = createMechanisms(['SCRAM-SHA-256'], { credentials, secret: SECRET });
    assert.ok(scram);
    assert.equal((await run(scram, tlsCtx, new Client('user', 'pencil', { flag: 'y' }))).kind, 'success');

    const [both] = createMechanisms(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'], { credentials, secret: SECRET });
    assert.ok(both);
    // Without TLS -PLUS is not offered, so 'y' is honest.
    assert.equal((await run(both, plain, new Client('user', 'pencil', { flag: 'y' }))).kind, 'success');
    const downgraded = await run(both, tlsCtx, new Client('user', 'pencil', { flag: 'y' }));
    assert.ok(downgraded.kind === 'failure');
    assert.match(downgraded.reason, /downgrade/);
    // 'n' (a client that cannot bind) is still welcome.
    assert.equal((await run(both, tlsCtx, new Client('user', 'pencil'))).kind, 'success');
  });

  test("'p' belongs to SCRAM-SHA-256-PLUS", async () => {
    const outcome = await run(mechanism(await users()), tlsCtx, new Client('user', 'pencil', { flag: 'p=tls-exporter', cbData: EXPORTER }));
    assert.equal(outcome.kind, 'failure');
  });
});

describe('SCRAM-SHA-256-PLUS', () => {
  test('is available only with channel binding data', async () => {
    const plus = mechanism(await users(), true);
    assert.equal(plus.name, 'SCRAM-SHA-256-PLUS');
    assert.equal(plus.available(plain), false);
    assert.equal(plus.available({ remoteAddress: 'x', secure: true, tls: {} }), false);
    assert.equal(plus.available(tlsCtx), true);
    assert.equal(plus.available({ remoteAddress: 'x', secure: true, tls: { serverEndPoint: END_POINT } }), true);
  });

  for (const [type, data] of [
    ['tls-exporter', EXPORTER],
    ['tls-server-end-point', END_POINT],
  ] as const) {
    test(`logs in with ${type}`, async () => {
      const client = new Client('user', 'pencil', { flag: `p=${type}`, cbData: data });
      const outcome = await run(mechanism(await users(), true), tlsCtx, client);
      assert.ok(outcome.kind === 'success', JSON.stringify(outcome));
      assert.equal(outcome.final?.toString(), client.expectedServerFinal());
    });

    test(`refuses ${type} data of another connection`, async () => {
      const client = new Client('user', 'pencil', { flag: `p=${type}`, cbData: Buffer.alloc(32, 0x55) });
      assert.equal(text(await run(mechanism(await users(), true), tlsCtx, client)), 'e=channel-bindings-dont-match');
    });
  }

  test('refuses a c= that drops the channel binding data or alters the header', async () => {
    const noData = new Client('user', 'pencil', { flag: 'p=tls-exporter' });
    assert.equal(text(await run(mechanism(await users(), true), tlsCtx, noData)), 'e=channel-bindings-dont-match');
    // The client binds under 'n,,' while announcing p=: an attacker who rewrote the header.
    const exchange = mechanism(await users(), true).start(tlsCtx);
    const client = new Client('user', 'pencil', { flag: 'n', cbData: EXPORTER });
    const serverFirst = await exchange.step(bytes(`p=tls-exporter,,${client.bare}`));
    assert.equal(text(await exchange.step(client.final(text(serverFirst)))), 'e=channel-bindings-dont-match');
  });

  test('refuses clients that do not bind, unknown types and missing data', async () => {
    const mech = mechanism(await users(), true);
    for (const [flag, ctx] of [
      ['n', tlsCtx],
      ['y', tlsCtx],
      ['p=tls-unique', tlsCtx],
      ['p=tls-exporter', { remoteAddress: 'x', secure: true, tls: { serverEndPoint: END_POINT } }],
      ['p=tls-exporter', plain],
    ] as const) {
      const outcome = await run(mech, ctx, new Client('user', 'pencil', { flag }));
      assert.equal(outcome.kind, 'failure', flag);
    }
  });

  test('a wrong password with good binding is still refused', async () => {
    const client = new Client('user', 'pencil2', { flag: 'p=tls-exporter', cbData: EXPORTER });
    assert.equal(text(await run(mechanism(await users(), true), tlsCtx, client)), 'e=invalid-proof');
  });
});
