import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { saslTlsContext, tlsServerEndPoint } from './channel-binding.js';
import { MemoryCredentials } from './memory-credentials.fixture.js';
import { scramMechanism } from './scram.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = hasOpenssl() ? false : 'openssl is not installed';
let dir: string;

/** A self-signed certificate made by openssl with the given key and digest options. */
async function certificate(name: string, keyArgs: string[], digestArgs: string[]): Promise<{ cert: Buffer; key: Buffer; der: Buffer }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', ...digestArgs], { stdio: 'ignore' });
  const pem = await readFile(cert);
  return { cert: pem, key: await readFile(key), der: new X509Certificate(pem).raw };
}

describe('tls-server-end-point', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postel-cb-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('hashes with the certificate signature hash, SHA-256 for SHA-1, none for Ed25519', async () => {
    const cases: [string, string[], string[], string | undefined][] = [
      ['rsa256', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], ['-sha256'], 'sha256'],
      ['rsa1', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], ['-sha1'], 'sha256'],
      ['ec384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], ['-sha384'], 'sha384'],
      ['pss512', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'], ['-sha512', '-sigopt', 'rsa_padding_mode:pss'], 'sha512'],
      ['ed25519', ['-algorithm', 'ED25519'], [], undefined],
    ];
    for (const [name, keyArgs, digestArgs, hash] of cases) {
      const { der } = await certificate(name, keyArgs, digestArgs);
      const expected = hash === undefined ? undefined : createHash(hash).update(der).digest();
      assert.deepEqual(tlsServerEndPoint(der), expected, name);
    }
    assert.equal(tlsServerEndPoint(Buffer.from([0x30, 0x03, 0x02, 0x01])), undefined, 'truncated');
    assert.equal(tlsServerEndPoint(Buffer.alloc(0)), undefined);
  });

  test('over a real TLS 1.3 connection both ends agree, and SCRAM-SHA-256-PLUS binds to it', async () => {
    const { cert, key } = await certificate('server', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['-sha256']);
    const server = createServer({ cert, key, minVersion: 'TLSv1.3' });
    const accepted = once(server, 'secureConnection') as Promise<[TLSSocket]>;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    const client = connect({ host: '127.0.0.1', port: address.port, rejectUnauthorized: false });
    await once(client, 'secureConnect');
    const [serverSocket] = await accepted;
    try {
      const tls = saslTlsContext(serverSocket);
      const clientExporter = client.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
      assert.deepEqual(tls.exporter?.(), clientExporter);
      const clientEndPoint = createHash('sha256').update(client.getPeerCertificate().raw).digest();
      assert.deepEqual(tls.serverEndPoint, clientEndPoint);

      // The client's side of SCRAM, bound with what the client sees of the connection.
      const salt = Buffer.alloc(16, 9);
      const credentials = await MemoryCredentials.create({ user: { password: 'pencil', scram: { salt, iterations: 4096 } } });
      const mech = scramMechanism({ credentials, plus: true, secret: Buffer.alloc(32), iterations: 4096 });
      const ctx = { remoteAddress: '127.0.0.1', secure: true, tls };
      assert.equal(mech.available(ctx), true);
      for (const [type, data] of [['tls-exporter', clientExporter], ['tls-server-end-point', clientEndPoint]] as const) {
        const gs2 = `p=${type},,`;
        const bare = 'n=user,r=abcdef';
        const exchange = mech.start(ctx);
        const first = await exchange.step(Buffer.from(gs2 + bare));
        assert.ok(first.kind === 'challenge');
        const serverFirst = first.data.toString();
        const withoutProof = `c=${Buffer.concat([Buffer.from(gs2), data]).toString('base64')},${serverFirst.split(',')[0]}`;
        const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
        const clientKey = createHmac('sha256', salted).update('Client Key').digest();
        const signature = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(`${bare},${serverFirst},${withoutProof}`).digest();
        const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0))).toString('base64');
        assert.equal((await exchange.step(Buffer.from(`${withoutProof},p=${proof}`))).kind, 'success', type);
      }
    } finally {
      client.destroy();
      serverSocket.destroy();
      server.close();
    }
  });
});
