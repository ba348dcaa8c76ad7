import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Pop3AuthError, Pop3Client, Pop3TlsError, type Pop3ClientOptions } from '../src/client/index.js';
import { dovecotUnavailable, startDovecot, type Dovecot } from './support/dovecot.js';
import { crlf } from './support/wire-client.js';

/*
 * The client library against a real Dovecot: STLS and implicit TLS with certificate
 * checks, USER/PASS, APOP and every SASL mechanism Dovecot 2.3 offers that we implement,
 * and byte-exact retrieval with pipelining.
 */

const TRICKY = 'Subject: tricky\n\n.\n..\n.leading dot\nFrom start\ncaf\u00e9\nlast\n';

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const skip = await dovecotUnavailable();

describe('client against Dovecot', { skip }, () => {
  let dovecot: Dovecot;
  before(async () => {
    dovecot = await startDovecot({ users: { alice: 'alice-pw' } });
    await dovecot.deliver('alice', TRICKY);
    await dovecot.deliver('alice', 'Subject: two\n\nsecond\n');
  });
  after(async () => {
    await dovecot?.stop();
  });

  const connect = (mode: 'starttls' | 'tls', extra: Partial<Pop3ClientOptions> = {}): Promise<Pop3Client> =>
    Pop3Client.connect({
      host: '127.0.0.1',
      port: mode === 'tls' ? dovecot.pop3sPort : dovecot.pop3Port,
      tls: mode,
      tlsOptions: { ca: dovecot.certificate },
      timeoutMs: 10_000,
      ...extra,
    });

  for (const mode of ['starttls', 'tls'] as const) {
    for (const method of ['USER', 'APOP', 'PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256'] as const) {
      test(`${mode === 'tls' ? 'implicit TLS' : 'STLS'}, ${method}: logs in and retrieves byte for byte`, async () => {
        const client = await connect(mode);
        assert.equal(client.secure, true);
        if (method === 'USER') await client.login('alice', 'alice-pw');
        else if (method === 'APOP') await client.apop('alice', 'alice-pw');
        else await client.authenticate(method, { user: 'alice', secret: 'alice-pw' });
        const [uidl, list] = await Promise.all([client.uidl(), client.list()]);
        assert.equal(uidl.length, 2);
        assert.deepEqual(list.map((e) => e.size), [crlf(TRICKY).length, crlf('Subject: two\n\nsecond\n').length]);
        const bodies = await Promise.all([client.retr(1), client.retr(2)].map(async (p) => drain(await p)));
        assert.deepEqual(bodies, [crlf(TRICKY), crlf('Subject: two\n\nsecond\n')]);
        await client.quit();
      });
    }
  }

  test('STLS: CAPA before TLS offers STLS; the one after TLS does not', async () => {
    const plain = await Pop3Client.connect({ host: '127.0.0.1', port: dovecot.pop3Port, tls: 'none', timeoutMs: 10_000 });
    assert.equal(plain.capabilities.stls, true);
    assert.equal(plain.secure, false);
    await plain.quit();
    const upgraded = await connect('starttls');
    assert.equal(upgraded.capabilities.stls, false);
    assert.ok(upgraded.capabilities.sasl.includes('SCRAM-SHA-256'));
    await upgraded.quit();
  });

  test('an untrusted certificate fails with Pop3TlsError, on both ports, unless opted out', async () => {
    for (const mode of ['tls', 'starttls'] as const) {
      await assert.rejects(connect(mode, { tlsOptions: {} }), Pop3TlsError);
      const insecure = await connect(mode, { tlsOptions: { rejectUnauthorized: false } });
      await insecure.login('alice', 'alice-pw');
      await insecure.quit();
    }
  });

  // Last: after a failed login Dovecot delays the next one from this address by seconds
  // (its auth penalty), so nothing should log in after this test.
  test('a wrong password is a Pop3AuthError with [AUTH]', async () => {
    const client = await connect('tls');
    await assert.rejects(client.login('alice', 'nope'), (err: unknown) => {
      assert.ok(err instanceof Pop3AuthError, String(err));
      assert.equal(err.code, 'AUTH');
      return true;
    });
    client.close();
  });
});
