import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasProgram, run, runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { crlf } from './support/wire-client.js';
import { waitFor } from './support/wait-for.js';

/**
 * TLS with clients nobody here wrote: openssl s_client, curl, Python's poplib and fetchmail,
 * against a real `postel serve` whose trusted networks are empty, so that loopback counts as
 * the open Internet and only TLS allows a login.
 */
describe('TLS interoperability (openssl, curl, poplib, fetchmail)', () => {
  let dir: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  let certFile: string;
  const message = 'Subject: over TLS\nFrom: a@example.org\n\nline one\n.dot line\nlast\n';

  before(async () => {
    dir = await tempDataDir('[auth]\ntrusted_networks = []\n');
    assert.equal((await runCli(['user', 'add', 'alice', '--password-stdin', '--config', dir.config], 'tls-pw\n')).code, 0);
    await writeFile(join(dir.dir, 'm.eml'), message);
    assert.equal((await runCli(['deliver', 'alice', join(dir.dir, 'm.eml'), '--config', dir.config])).code, 0);
    server = await startServerProcess(['--config', dir.config]);
    certFile = join(dir.dir, 'data', 'tls', 'self-signed-cert.pem');
  });
  after(async () => {
    await server?.stop();
    await dir?.cleanup();
  });

  it('openssl s_client -starttls pop3 logs in and reads STAT', async (t) => {
    if (!(await hasProgram('openssl'))) return t.skip('openssl not installed');
    const r = await run('openssl', ['s_client', '-starttls', 'pop3', '-connect', `127.0.0.1:${server.port}`, '-CAfile', certFile, '-verify_return_error', '-quiet', '-crlf'], 'USER alice\nPASS tls-pw\nSTAT\nQUIT\n');
    const out = r.stdout.toString();
    assert.match(out, /\+OK alice's maildrop has 1 message /, out + r.stderr);
    assert.match(out, new RegExp(`\\+OK 1 ${crlf(message).length}`));
  });

  it('openssl s_client to the implicit-TLS port', async (t) => {
    if (!(await hasProgram('openssl'))) return t.skip('openssl not installed');
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.tlsPort}`, '-CAfile', certFile, '-verify_return_error', '-quiet', '-crlf'], 'USER alice\nPASS tls-pw\nRETR 1\nQUIT\n');
    const out = r.stdout.toString('latin1');
    assert.ok(out.includes(`+OK ${crlf(message).length} octets\r\n${crlf(message).toString('latin1').replace('\r\n.dot', '\r\n..dot')}.\r\n`), out);
  });

  it('curl pop3s:// on the TLS port and pop3:// --ssl-reqd (STLS) fetch the same bytes', async (t) => {
    if (!(await hasProgram('curl'))) return t.skip('curl not installed');
    const implicit = await run('curl', ['-sS', '--cacert', certFile, `pop3s://alice:tls-pw@localhost:${server.tlsPort}/1`]);
    assert.equal(implicit.code, 0, implicit.stderr);
    assert.deepEqual(implicit.stdout, crlf(message));
    const stls = await run('curl', ['-sS', '--ssl-reqd', '--cacert', certFile, `pop3://alice:tls-pw@localhost:${server.port}/1`]);
    assert.equal(stls.code, 0, stls.stderr);
    assert.deepEqual(stls.stdout, crlf(message));
  });

  it('curl without TLS is refused: plaintext login is disallowed on a non-secure connection', async (t) => {
    if (!(await hasProgram('curl'))) return t.skip('curl not installed');
    const r = await run('curl', ['-sS', `pop3://alice:tls-pw@127.0.0.1:${server.port}/1`]);
    assert.equal(r.code, 67, `curl exit ${r.code}: ${r.stderr}`);
    const lines = server.stdout();
    assert.ok(!lines.includes('"event":"login","user":"alice","mechanism":"USER","tls":null'), 'no plaintext login may succeed');
  });

  it('Python poplib: stls() and POP3_SSL both verify the certificate and log in', async (t) => {
    if (!(await hasProgram('python3'))) return t.skip('python3 not installed');
    const script = `
import json, poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
out = {}
p = poplib.POP3('127.0.0.1', int(sys.argv[2]))
out['caps_before'] = sorted(p.capa().keys())
p.stls(ctx)
out['caps_after'] = sorted(p.capa().keys())
p.user('alice'); p.pass_('tls-pw')
out['stat'] = list(p.stat())
p.quit()
s = poplib.POP3_SSL('localhost', int(sys.argv[3]), context=ctx)
s.user('alice'); s.pass_('tls-pw')
resp, lines, octets = s.retr(1)
out['retr'] = [l.decode('latin1') for l in lines]
out['octets'] = octets
s.quit()
print(json.dumps(out))
`;
    const r = await run('python3', ['-c', script, certFile, String(server.port), String(server.tlsPort)]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.toString()) as { caps_before: string[]; caps_after: string[]; stat: number[]; retr: string[] };
    assert.ok(out.caps_before.includes('STLS') && !out.caps_before.includes('USER'));
    assert.ok(!out.caps_after.includes('STLS') && out.caps_after.includes('USER'));
    assert.deepEqual(out.stat, [1, crlf(message).length]);
    assert.equal(out.retr.map((l) => `${l}\r\n`).join(''), crlf(message).toString('latin1'));
  });

  it('SIGHUP reloads the certificate for new connections; an open session goes on', async (t) => {
    if (!(await hasProgram('openssl'))) return t.skip('openssl not installed');
    const { WireClient } = await import('./support/wire-client.js');
    const { selfSignedCertificate } = await import('../src/tls/self-signed.js');
    const oldPem = await readFile(certFile, 'utf8');
    const open = await WireClient.connectTls(server.tlsPort as number, { ca: oldPem });
    await open.line();
    await open.command('USER alice');
    assert.match(await open.command('PASS tls-pw'), /^\+OK/);
    const fresh = selfSignedCertificate();
    await writeFile(join(dir.dir, 'data', 'tls', 'self-signed-key.pem'), fresh.key);
    await writeFile(certFile, fresh.cert);
    server.child.kill('SIGHUP');
    await waitFor(() => server.stdout().includes('"event":"tls_reloaded"'), 'the tls_reloaded log line');
    assert.match(await open.command('STAT'), /^\+OK 1 /);
    const next = await WireClient.connectTls(server.tlsPort as number, { ca: fresh.cert });
    assert.match(await next.line(), /^\+OK/);
    next.close();
    await open.command('QUIT');
    // Later tests trust whatever is in certFile, which now holds the new certificate.
  });

  for (const mode of ['ssl', 'stls'] as const) {
    it(`fetchmail (${mode === 'ssl' ? 'implicit TLS' : 'STLS'}) keeps the message and delivers it intact`, async (t) => {
      if (!(await hasProgram('fetchmail'))) return t.skip('fetchmail not installed');
      const home = join(dir.dir, `fm-${mode}`);
      await run('mkdir', ['-p', home]);
      const out = join(home, 'out.eml');
      const rc = join(home, 'fetchmailrc');
      const port = mode === 'ssl' ? server.tlsPort : server.port;
      await writeFile(
        rc,
        `poll localhost protocol pop3 port ${port} timeout 20\n  user "alice" password "tls-pw" is "alice" here\n  ${mode === 'ssl' ? 'ssl' : 'sslproto "tls1.2+"'} sslcertck sslcertfile "${certFile}"\n  keep fetchall\n  mda "/bin/sh -c 'cat > ${out}'"\n`,
      );
      await chmod(rc, 0o600);
      const r = await run('env', [`HOME=${home}`, `FETCHMAILHOME=${home}`, 'fetchmail', '-f', rc, '--nodetach', '--nosyslog', '-N']);
      assert.ok(r.code === 0, `fetchmail exit ${r.code}: ${r.stderr}`);
      const got = await readFile(out, 'latin1');
      assert.ok(got.includes('line one\n.dot line\nlast\n') || got.includes('line one\r\n.dot line\r\nlast\r\n'), got);
      assert.match(server.stdout(), /"mechanism":"USER","tls":"TLSv1\.[23]"/);
    });
  }
});
