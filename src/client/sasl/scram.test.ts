import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MemoryCredentials } from '../../auth/sasl/memory-credentials.fixture.js';
import { scramMechanism } from '../../auth/sasl/scram.js';
import { scramSha256Mechanism } from './scram.js';

// RFC 7677 section 3, the published SCRAM-SHA-256 exchange.
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

test('RFC 7677 test vector, message by message', async () => {
  const mech = scramSha256Mechanism('user', 'pencil', { clientNonce: CLIENT_NONCE });
  assert.equal(mech.initialResponse()?.toString(), `n,,n=user,r=${CLIENT_NONCE}`);
  assert.equal((await mech.respond(Buffer.from(SERVER_FIRST))).toString(), CLIENT_FINAL);
  assert.throws(() => mech.verifyCompleted(), /without proving/);
  assert.equal((await mech.respond(Buffer.from(SERVER_FINAL))).length, 0);
  mech.verifyCompleted();
});

test('a wrong server signature, a foreign nonce, and a server error are refused', async () => {
  const bad = scramSha256Mechanism('user', 'pencil', { clientNonce: CLIENT_NONCE });
  await bad.respond(Buffer.from(SERVER_FIRST));
  await assert.rejects(bad.respond(Buffer.from('v=AAAA')), /signature does not match/);
  const foreign = scramSha256Mechanism('user', 'pencil', { clientNonce: CLIENT_NONCE });
  await assert.rejects(foreign.respond(Buffer.from('r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')), /nonce/);
  const refused = scramSha256Mechanism('user', 'pencil', { clientNonce: CLIENT_NONCE });
  await refused.respond(Buffer.from(SERVER_FIRST));
  assert.equal((await refused.respond(Buffer.from('e=invalid-proof'))).length, 0);
  assert.throws(() => refused.verifyCompleted());
});

test('user names are escaped (RFC 5802 saslname)', () => {
  const mech = scramSha256Mechanism('a=b,c', 'pw', { clientNonce: 'nonce' });
  assert.equal(mech.initialResponse()?.toString(), 'n,,n=a=3Db=2Cc,r=nonce');
});

// Each password goes through the server's key derivation (what `postel user add` stores) and
// the client's proof; the server accepts the proof only when both sides prepared it alike.
for (const password of ['pass\u00A0word', 'e\u0301t\u00E9', '\uFB01ne', 'tab\there', '\u2168', '\u05D0a\u05D1']) {
  test(`SCRAM keys of client and server agree for the password ${JSON.stringify(password)}`, async () => {
    const credentials = await MemoryCredentials.create({ u: { password, scram: { salt: randomBytes(16), iterations: 4096 } } });
    const server = scramMechanism({ credentials, plus: false, secret: Buffer.alloc(32, 7), iterations: 4096 });
    const exchange = server.start({ remoteAddress: '192.0.2.1', secure: true });
    const client = scramSha256Mechanism('u', password);
    const first = await exchange.step(client.initialResponse?.());
    assert.equal(first.kind, 'challenge');
    if (first.kind !== 'challenge') return;
    const final = await exchange.step(await client.respond(first.data));
    assert.equal(final.kind, 'success', JSON.stringify(final));
  });
}
