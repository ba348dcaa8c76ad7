import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, pbkdf2Sync, randomBytes, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasProgram, run, runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { crlf, WireClient } from './support/wire-client.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'postel-test';
const message = 'Subject: sasl\n\nauthenticated\n';

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Every SASL mechanism over a real `postel serve`, driven where possible by clients nobody
 * here wrote: curl (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL) and mpop
 * (SCRAM-SHA-256). SCRAM-SHA-256-PLUS, which neither does, is driven by a minimal client
 * written from RFC 5802 below. Nothing is trusted, so password mechanisms need TLS.
 */
describe('SASL over POP3 (RFC 5034) with real clients', () => {
  let dir: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  let cert: string;
  let token: (claims?: Record<string, unknown>) => string;
  let clientCert: string;
  let clientKey: string;

  before(async () => {
    dir = await tempDataDir('');
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
    await writeFile(join(dir.dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    token = (claims = {}) => {
      const header = base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'k1' }));
      const now = Math.floor(Date.now() / 1000);
      const payload = base64url(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', email: 'alice', iat: now, exp: now + 600, ...claims }));
      const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${header}.${payload}.${base64url(signature)}`;
    };
    // A CA and a client certificate naming alice, for EXTERNAL.
    const ca = join(dir.dir, 'ca');
    clientCert = join(dir.dir, 'client-cert.pem');
    clientKey = join(dir.dir, 'client-key.pem');
    const ssl = async (...args: string[]): Promise<void> => {
      const r = await run('openssl', args);
      assert.equal(r.code, 0, r.stderr);
    };
    await ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${ca}-key.pem`, '-out', `${ca}.pem`, '-subj', '/CN=postel test CA', '-days', '2');
    await ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', clientKey, '-out', `${clientCert}.csr`, '-subj', '/CN=alice');
    await ssl('x509', '-req', '-in', `${clientCert}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-out', clientCert, '-days', '2');

    await writeFile(
      dir.config,
      `data_dir = ${JSON.stringify(join(dir.dir, 'data'))}
[pop3]
max_auth_failures = 50
[auth]
trusted_networks = []
max_failures_per_ip = 1000
failure_response_ms = 0
max_user_delay = 0
[tls]
client_ca = ${JSON.stringify(`${ca}.pem`)}
[sasl]
mechanisms = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN", "CRAM-MD5", "OAUTHBEARER", "XOAUTH2", "EXTERNAL"]
scram_iterations = 4096
[oauth]
issuer = ${JSON.stringify(ISSUER)}
audience = [${JSON.stringify(AUDIENCE)}]
keys_file = ${JSON.stringify(join(dir.dir, 'jwks.json'))}
${dir.storeToml}`,
    );
    assert.equal((await runCli(['user', 'add', 'alice', '--password-stdin', '--config', dir.config], 'sasl-pw\n')).code, 0);
    assert.equal((await runCli(['user', 'add', 'carol', '--password-stdin', '--scheme', 'PLAIN', '--config', dir.config], 'cram-pw\n')).code, 0);
    await writeFile(join(dir.dir, 'm.eml'), message);
    for (const user of ['alice', 'carol']) assert.equal((await runCli(['deliver', user, join(dir.dir, 'm.eml'), '--config', dir.config])).code, 0);
    server = await startServerProcess(['--config', dir.config]);
    cert = join(dir.dir, 'data', 'tls', 'self-signed-cert.pem');
  });
  after(async () => {
    await server?.stop();
    await dir?.cleanup();
  });

  it('CAPA offers no password mechanism before TLS, and all of them after STLS', async () => {
    const c = await WireClient.connect(server.port);
    await c.line();
    const before = (await c.multi('CAPA')).body.toString();
    assert.match(before, /^SASL SCRAM-SHA-256 CRAM-MD5\r$/m);
    assert.match(await c.command('AUTH PLAIN AGFsaWNlAHNhc2wtcHc='), /^-ERR \[AUTH\] Plaintext authentication disallowed/);
    await c.command('STLS');
    await c.startTls({ ca: await (await import('node:fs/promises')).readFile(cert, 'utf8') });
    const after = (await c.multi('CAPA')).body.toString();
    assert.match(after, /^SASL SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN CRAM-MD5 OAUTHBEARER XOAUTH2\r$/m);
    c.close();
  });

  const curl = async (args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> => run('curl', ['-sS', '--cacert', cert, ...args]);

  for (const [mechanism, user, password] of [
    ['PLAIN', 'alice', 'sasl-pw'],
    ['LOGIN', 'alice', 'sasl-pw'],
    ['CRAM-MD5', 'carol', 'cram-pw'],
  ] as const) {
    it(`curl AUTH ${mechanism}, with and without an initial response`, async (t) => {
      if (!(await hasProgram('curl'))) return t.skip('curl not installed');
      for (const ir of [[], ['--sasl-ir']]) {
        const r = await curl([...ir, `pop3s://${user};AUTH=${mechanism}:${password}@localhost:${server.tlsPort}/1`]);
        assert.equal(r.code, 0, `${mechanism} ${ir.join('')}: ${r.stderr}`);
        assert.deepEqual(r.stdout, crlf(message));
        const bad = await curl([...ir, `pop3s://${user};AUTH=${mechanism}:wrong@localhost:${server.tlsPort}/1`]);
        assert.equal(bad.code, 67, `${mechanism}: a wrong password must fail: ${bad.stderr}`);
      }
    });
  }

  for (const mechanism of ['XOAUTH2', 'OAUTHBEARER']) {
    it(`curl AUTH ${mechanism} with a JWT, also one over 4 KB`, async (t) => {
      if (!(await hasProgram('curl'))) return t.skip('curl not installed');
      const long = token({ padding: 'x'.repeat(4000) });
      assert.ok(long.length > 4096);
      for (const [jwt, ir] of [[token(), []], [long, []], [long, ['--sasl-ir']]] as const) {
        const r = await curl([...ir, '--login-options', `AUTH=${mechanism}`, '--oauth2-bearer', jwt, `pop3s://alice@localhost:${server.tlsPort}/1`]);
        assert.equal(r.code, 0, `${mechanism}: ${r.stderr}`);
        assert.deepEqual(r.stdout, crlf(message));
      }
      const expired = token({ exp: Math.floor(Date.now() / 1000) - 3600 });
      const bad = await curl(['--login-options', `AUTH=${mechanism}`, '--oauth2-bearer', expired, `pop3s://alice@localhost:${server.tlsPort}/1`]);
      assert.notEqual(bad.code, 0, 'an expired token must fail');
      const other = await curl(['--login-options', `AUTH=${mechanism}`, '--oauth2-bearer', token({ aud: 'someone-else' }), `pop3s://alice@localhost:${server.tlsPort}/1`]);
      assert.notEqual(other.code, 0, 'a token for another audience must fail');
    });
  }

  it('curl AUTH EXTERNAL with a client certificate signed by the configured CA', async (t) => {
    if (!(await hasProgram('curl'))) return t.skip('curl not installed');
    const r = await curl(['--cert', clientCert, '--key', clientKey, '--login-options', 'AUTH=EXTERNAL', `pop3s://alice@localhost:${server.tlsPort}/1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, crlf(message));
    const without = await curl(['--login-options', 'AUTH=EXTERNAL', `pop3s://alice@localhost:${server.tlsPort}/1`]);
    assert.notEqual(without.code, 0, 'EXTERNAL without a certificate must fail');
    // A certificate naming alice but signed by nobody the server trusts.
    const rogueKey = join(dir.dir, 'rogue-key.pem');
    const rogueCert = join(dir.dir, 'rogue-cert.pem');
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', rogueKey, '-out', rogueCert, '-subj', '/CN=alice', '-days', '2']);
    assert.equal(made.code, 0, made.stderr);
    const rogue = await curl(['--cert', rogueCert, '--key', rogueKey, '--login-options', 'AUTH=EXTERNAL', `pop3s://alice@localhost:${server.tlsPort}/1`]);
    assert.notEqual(rogue.code, 0, 'a self-signed client certificate must not authenticate');
  });

  it('mpop AUTH SCRAM-SHA-256 over STLS and over implicit TLS', async (t) => {
    if (!(await hasProgram('mpop'))) return t.skip('mpop not installed');
    for (const [port, starttls] of [[server.port, 'on'], [server.tlsPort, 'off']] as const) {
      const mbox = join(dir.dir, `mpop-${starttls}.mbox`);
      const r = await run('mpop', [
        '--host=localhost', `--port=${port}`, '--tls=on', `--tls-starttls=${starttls}`, `--tls-trust-file=${cert}`,
        '--auth=scram-sha-256', '--user=alice', '--passwordeval=echo sasl-pw', '--keep=on', '--only-new=off',
        `--uidls-file=${join(dir.dir, `uidls-${starttls}`)}`, `--delivery=mbox,${mbox}`, '--quiet',
      ]);
      assert.equal(r.code, 0, `mpop (${starttls}): ${r.stderr}`);
      const got = await (await import('node:fs/promises')).readFile(mbox, 'latin1');
      assert.match(got, /Subject: sasl\n\nauthenticated\n/);
    }
    assert.match(server.stdout(), /"event":"login","user":"alice","mechanism":"SCRAM-SHA-256"/);
  });

  it('SCRAM-SHA-256-PLUS with tls-exporter and tls-server-end-point channel binding', async () => {
    const ca = await (await import('node:fs/promises')).readFile(cert, 'utf8');
    for (const binding of ['tls-exporter', 'tls-server-end-point'] as const) {
      const c = await WireClient.connectTls(server.tlsPort as number, { ca });
      await c.line();
      const socket = c.socket as import('node:tls').TLSSocket;
      const cbData =
        binding === 'tls-exporter'
          ? socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0))
          : createHash('sha256').update(socket.getPeerCertificate().raw).digest();
      const gs2 = `p=${binding},,`;
      const nonce = randomBytes(18).toString('base64');
      const first = `n=alice,r=${nonce}`;
      const challenge = await c.command(`AUTH SCRAM-SHA-256-PLUS ${Buffer.from(gs2 + first).toString('base64')}`);
      assert.match(challenge, /^\+ /);
      const serverFirst = Buffer.from(challenge.slice(2), 'base64').toString();
      const fields = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
      assert.ok(fields.r?.startsWith(nonce));
      const salted = pbkdf2Sync('sasl-pw', Buffer.from(fields.s as string, 'base64'), Number(fields.i), 32, 'sha256');
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=${Buffer.concat([Buffer.from(gs2), cbData]).toString('base64')},r=${fields.r}`;
      const authMessage = `${first},${serverFirst},${withoutProof}`;
      const signature = createHmac('sha256', storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)));
      const final = await c.command(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64'));
      assert.match(final, /^\+ /, `${binding}: ${final}`);
      const serverKey = createHmac('sha256', salted).update('Server Key').digest();
      const expected = createHmac('sha256', serverKey).update(authMessage).digest('base64');
      assert.equal(Buffer.from(final.slice(2), 'base64').toString(), `v=${expected}`);
      assert.match(await c.command(''), /^\+OK alice's maildrop/);
      c.close();
    }
  });

  it('AUTH responses: "*" cancels, bad base64 is refused, an unknown mechanism is refused', async () => {
    const ca = await (await import('node:fs/promises')).readFile(cert, 'utf8');
    const c = await WireClient.connectTls(server.tlsPort as number, { ca });
    await c.line();
    assert.match(await c.command('AUTH LOGIN'), /^\+ /);
    assert.equal(await c.command('*'), '-ERR Authentication cancelled');
    assert.match(await c.command('AUTH PLAIN'), /^\+ ?$/);
    assert.match(await c.command('not base64!'), /^-ERR Invalid base64/);
    assert.match(await c.command('AUTH NTLM'), /^-ERR Unsupported authentication mechanism/);
    assert.match(await c.command('AUTH PLAIN ***'), /^-ERR Invalid base64/);
    c.close();
  });
});
