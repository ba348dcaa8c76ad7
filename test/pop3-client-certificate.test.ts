import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { externalMechanism } from '../src/auth/sasl/external.js';
import { UsersCredentials } from '../src/auth/sasl/users-credentials.js';
import { hasProgram, run } from './support/server-process.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';
import { WireClient } from './support/wire-client.js';

/*
 * Client certificates (SASL EXTERNAL) are judged by OpenSSL, not by hand: the server asks
 * for one against tls.client_ca and uses Node's `authorized`. So whatever OpenSSL checks
 * (validity, key usage, extended key usage, chain) refuses a certificate here, for implicit
 * TLS and STLS alike. Certificates are made with the openssl CLI, as an operator would.
 */

async function ssl(cwd: string, ...args: string[]): Promise<void> {
  const r = await run('openssl', args.map((a) => a.replace(/^@/, `${cwd}/`)));
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A client certificate for alice signed by the CA, with the given extensions (openssl x509 -extfile syntax). */
async function clientCert(dir: string, name: string, extensions: string): Promise<{ cert: string; key: string }> {
  await writeFile(join(dir, `${name}.ext`), `[e]\n${extensions}\n`);
  await ssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `@${name}-key.pem`, '-out', `@${name}.csr`, '-subj', '/CN=alice');
  await ssl(dir, 'x509', '-req', '-in', `@${name}.csr`, '-CA', '@ca.pem', '-CAkey', '@ca-key.pem', '-CAcreateserial', '-out', `@${name}.pem`, '-days', '2', '-extfile', `@${name}.ext`, '-extensions', 'e');
  return { cert: await readFile(join(dir, `${name}.pem`), 'utf8'), key: await readFile(join(dir, `${name}-key.pem`), 'utf8') };
}

/** A client certificate for alice whose validity ended in 2020, signed by the CA through `openssl ca`. */
async function expiredCert(dir: string): Promise<{ cert: string; key: string }> {
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await writeFile(
    join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca = d\n[d]\ndatabase = ${dir}/index.txt\nnew_certs_dir = ${dir}\nserial = ${dir}/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n`,
  );
  await ssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '@expired-key.pem', '-out', '@expired.csr', '-subj', '/CN=alice');
  await ssl(dir, 'ca', '-batch', '-config', '@ca.cnf', '-cert', '@ca.pem', '-keyfile', '@ca-key.pem', '-in', '@expired.csr', '-out', '@expired.pem', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext');
  return { cert: await readFile(join(dir, 'expired.pem'), 'utf8'), key: await readFile(join(dir, 'expired-key.pem'), 'utf8') };
}

describe('client certificates verified by OpenSSL (SASL EXTERNAL)', () => {
  let haveOpenssl = false;
  let dir = '';
  let t: TestServer;
  const certs: Record<string, { cert: string; key: string }> = {};
  before(async () => {
    haveOpenssl = await hasProgram('openssl');
    if (!haveOpenssl) return;
    dir = await mkdtemp(join(tmpdir(), 'postel-client-cert-'));
    await ssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '@ca-key.pem', '-out', '@ca.pem', '-subj', '/CN=postel test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    certs.good = await clientCert(dir, 'good', 'keyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth');
    certs.plain = await clientCert(dir, 'plain', 'basicConstraints = CA:FALSE');
    certs.wrongKeyUsage = await clientCert(dir, 'wrong-ku', 'keyUsage = critical, keyEncipherment');
    certs.serverOnly = await clientCert(dir, 'server-only', 'extendedKeyUsage = serverAuth');
    certs.expired = await expiredCert(dir);
    // Same name, same shape, another CA.
    await ssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '@rogue-key.pem', '-out', '@rogue.pem', '-subj', '/CN=alice', '-days', '2');
    certs.rogue = { cert: await readFile(join(dir, 'rogue.pem'), 'utf8'), key: await readFile(join(dir, 'rogue-key.pem'), 'utf8') };
    t = await startPop3TestServer({
      tls: true,
      clientCa: join(dir, 'ca.pem'),
      sasl: (users) => [externalMechanism(new UsersCredentials(users))],
    });
  });
  after(async () => {
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** AUTH EXTERNAL's answer over implicit TLS with this certificate. */
  async function implicit(which: string): Promise<string> {
    const c = await WireClient.connectTls(t.tlsPort as number, { ca: t.certPem, ...certs[which] });
    await c.line();
    const answer = await c.command('AUTH EXTERNAL =');
    c.close();
    return answer;
  }

  /** The same after STLS on the plain port. */
  async function stls(which: string): Promise<string> {
    const c = await WireClient.connect(t.port);
    await c.line();
    assert.match(await c.command('STLS'), /^\+OK/);
    await c.startTls({ ca: t.certPem, ...certs[which] });
    const answer = await c.command('AUTH EXTERNAL =');
    c.close();
    return answer;
  }

  it('a certificate the CA signed for client use logs in, over implicit TLS and STLS', async (ctx) => {
    if (!haveOpenssl) return ctx.skip('openssl not installed');
    assert.match(await implicit('good'), /^\+OK alice's maildrop/);
    assert.match(await stls('good'), /^\+OK alice's maildrop/);
    assert.match(await implicit('plain'), /^\+OK alice's maildrop/, 'no key usage extensions at all: any use');
  });

  for (const [which, why] of [
    ['wrongKeyUsage', 'a key usage without digitalSignature'],
    ['serverOnly', 'an extended key usage for servers only'],
    ['expired', 'a validity that ended'],
    ['rogue', 'another CA'],
  ] as const) {
    it(`refuses a certificate with ${why}, by OpenSSL's verdict, over implicit TLS and STLS`, async (ctx) => {
      if (!haveOpenssl) return ctx.skip('openssl not installed');
      // EXTERNAL is not even offered: the connection has no verified certificate user.
      const before = t.logs.filter((l) => l.event === 'client_certificate_refused').length;
      assert.equal(await implicit(which), '-ERR Unsupported authentication mechanism');
      assert.equal(await stls(which), '-ERR Unsupported authentication mechanism');
      const refused = t.logs.filter((l) => l.event === 'client_certificate_refused').slice(before);
      assert.equal(refused.length, 2, 'logged with OpenSSL\'s reason');
      if (which === 'expired') assert.equal(refused[0]?.reason, 'CERT_HAS_EXPIRED');
    });
  }
});
