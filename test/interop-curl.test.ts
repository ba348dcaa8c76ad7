import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bodyLines, listAndUidl, loginTo, serveSeeded } from './support/interop-cli.js';
import { headerOf, seedMessages } from './support/interop-messages.js';
import { hasProgram, run, type ServerProcess } from './support/server-process.js';
import { crlf } from './support/wire-client.js';

/*
 * curl, a POP3 client no one here wrote, against a real `postel serve` whose users were
 * added with `postel user add` and whose mail came through `postel deliver`.
 *
 * What curl 7.88 prints for a multi-line response: the body with the terminating ".\r\n"
 * removed and the RFC 1939 dot-stuffing undone (lib/pop3.c, Curl_pop3_write, removes the
 * extra '.' of every line that starts with one; checked by hand against postel, where the
 * wire carries "..one dot" and curl prints ".one dot"). Line ends are passed through as
 * CRLF. So a retrieved message must equal the stored message's CRLF form exactly.
 *
 * Commands that answer with one line (DELE) need -I (CURLOPT_NOBODY): with -X alone curl
 * waits for a multi-line body that never comes.
 */

const curlMissing = !(await hasProgram('curl'));
const SKIP = 'curl not installed: cannot check interoperability with it';

describe('curl as a POP3 client of a postel server process', () => {
  let seeded: Awaited<ReturnType<typeof serveSeeded>> | undefined;
  let server: ServerProcess;
  const messages = seedMessages();
  const wire = messages.map((m) => crlf(m.bytes));
  const url = (user: string, password: string, path = ''): string => `pop3://${user}:${password}@127.0.0.1:${server.port}/${path}`;
  const curl = (args: readonly string[]): ReturnType<typeof run> => run('curl', ['-s', '--max-time', '60', ...args]);

  before(async () => {
    if (curlMissing) return;
    seeded = await serveSeeded(messages);
    server = seeded.server;
  });
  after(async () => {
    await seeded?.cleanup();
  });

  it('RETR (pop3://u:p@host/N) gives every message byte for byte in CRLF form, dot-stuffing undone', async (t) => {
    if (curlMissing) return t.skip(SKIP);
    for (const [i, m] of messages.entries()) {
      const r = await curl([url('alice', 'alice-pw', String(i + 1))]);
      assert.equal(r.code, 0, `${m.name}: curl exit ${r.code} ${r.stderr}`);
      assert.equal(r.stdout.length, wire[i]?.length, `${m.name}: length`);
      assert.ok(r.stdout.equals(wire[i] as Buffer), `${m.name}: bytes differ`);
    }
  });

  it('LIST (pop3://u:p@host/) prints "N SIZE" lines whose sizes are those of the CRLF forms', async (t) => {
    if (curlMissing) return t.skip(SKIP);
    const r = await curl([url('alice', 'alice-pw')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString('latin1'), wire.map((w, i) => `${i + 1} ${w.length}\r\n`).join(''));
  });

  it('-X UIDL prints "N UID" lines equal to what the server says on the wire', async (t) => {
    if (curlMissing) return t.skip(SKIP);
    const r = await curl(['-X', 'UIDL', url('alice', 'alice-pw')]);
    assert.equal(r.code, 0, r.stderr);
    const client = await loginTo(server.port, 'alice', 'alice-pw');
    const { uids } = await listAndUidl(client);
    client.close();
    assert.equal(uids.length, messages.length);
    assert.equal(new Set(uids).size, messages.length);
    assert.deepEqual(
      bodyLines(r.stdout),
      uids.map((uid, i) => `${i + 1} ${uid}`),
    );
  });

  it("-X 'TOP 1 0' prints the header block and the blank line", async (t) => {
    if (curlMissing) return t.skip(SKIP);
    const r = await curl(['-X', 'TOP 1 0', url('alice', 'alice-pw')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString('latin1'), 'From: a@example.org\r\nTo: alice@example.org\r\nSubject: lf\r\n\r\n');
    assert.ok(r.stdout.equals(headerOf(wire[0] as Buffer)));
  });

  it("-I -X 'DELE 1' deletes the message: the next session no longer has it", async (t) => {
    if (curlMissing) return t.skip(SKIP);
    const dele = await curl(['-I', '-X', 'DELE 1', url('bob', 'bob-pw')]);
    assert.equal(dele.code, 0, dele.stderr);
    const list = await curl([url('bob', 'bob-pw')]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.toString('latin1'), `1 ${wire[1]?.length}\r\n2 ${wire[2]?.length}\r\n`);
    const first = await curl([url('bob', 'bob-pw', '1')]);
    assert.ok(first.stdout.equals(wire[1] as Buffer), 'message 2 is now number 1');
  });

  it('a wrong password makes curl fail with exit 67 (CURLE_LOGIN_DENIED)', async (t) => {
    if (curlMissing) return t.skip(SKIP);
    const r = await curl([url('alice', 'not-the-password', '1')]);
    assert.equal(r.code, 67, r.stderr);
    assert.equal(r.stdout.length, 0);
  });
});
