import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { crlf, unstuff } from './support/wire-client.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';
import { waitFor } from './support/wait-for.js';

const messages = [
  'Subject: first\n\nplain LF body\n',
  'Subject: second\r\n\r\nCRLF body\r\n.starts with a dot\r\n.\r\n..two dots\r\n',
  'Subject: third\n\nno final newline',
  'Subject: fourth\n\nline 1\nline 2\nline 3\n',
];

describe('POP3 TRANSACTION and UPDATE states over a real socket', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startPop3TestServer();
    for (const m of messages) await t.deliver('alice', m);
  });
  afterEach(() => t.stop());

  it('STAT and LIST give the octets that RETR sends', async () => {
    const c = await t.login('alice', 'secret');
    const expected = messages.map((m) => crlf(m).length);
    assert.equal(await c.command('STAT'), `+OK 4 ${expected.reduce((a, b) => a + b)}`);
    const { status, body } = await c.multi('LIST');
    assert.match(status, /^\+OK 4 messages/);
    assert.equal(body.toString(), expected.map((s, i) => `${i + 1} ${s}\r\n`).join(''));
    for (let i = 0; i < messages.length; i++) {
      assert.equal(await c.command(`LIST ${i + 1}`), `+OK ${i + 1} ${expected[i]}`);
      const retr = await c.multi(`RETR ${i + 1}`);
      assert.equal(retr.status, `+OK ${expected[i]} octets`);
      const unstuffed = unstuff(retr.body);
      assert.equal(unstuffed.length, expected[i]);
      assert.deepEqual(unstuffed, crlf(messages[i] as string));
    }
    await c.command('QUIT');
  });

  it('RETR dot-stuffs lines that start with a dot, byte for byte', async () => {
    const c = await t.login('alice', 'secret');
    const { body } = await c.multi('RETR 2');
    assert.equal(body.toString(), 'Subject: second\r\n\r\nCRLF body\r\n..starts with a dot\r\n..\r\n...two dots\r\n');
    c.close();
  });

  it('RETR terminates an unterminated last line before the final dot', async () => {
    const c = await t.login('alice', 'secret');
    const { body } = await c.multi('RETR 3');
    assert.equal(body.toString(), 'Subject: third\r\n\r\nno final newline\r\n');
    c.close();
  });

  it('TOP n 0 gives the header and the blank line; TOP n 2 two body lines', async () => {
    const c = await t.login('alice', 'secret');
    assert.equal((await c.multi('TOP 4 0')).body.toString(), 'Subject: fourth\r\n\r\n');
    assert.equal((await c.multi('TOP 4 2')).body.toString(), 'Subject: fourth\r\n\r\nline 1\r\nline 2\r\n');
    assert.equal((await c.multi('TOP 4 99')).body.toString(), 'Subject: fourth\r\n\r\nline 1\r\nline 2\r\nline 3\r\n');
    assert.match(await c.command('TOP 4'), /^-ERR/);
    assert.match(await c.command('TOP 4 -1'), /^-ERR/);
    c.close();
  });

  it('UIDL lists unique ids of 1-70 printable characters, and UIDL n answers one line', async () => {
    const c = await t.login('alice', 'secret');
    const { body } = await c.multi('UIDL');
    const lines = body.toString().split('\r\n').filter(Boolean);
    assert.equal(lines.length, 4);
    const uids = lines.map((l, i) => {
      const [n, uid] = l.split(' ');
      assert.equal(n, String(i + 1));
      assert.match(uid ?? '', /^[\x21-\x7e]{1,70}$/);
      return uid;
    });
    assert.equal(new Set(uids).size, 4);
    assert.equal(await c.command('UIDL 2'), `+OK 2 ${uids[1]}`);
    c.close();
  });

  it('DELE only marks: deleted messages are refused, hidden from LIST and STAT, and RSET brings them back', async () => {
    const c = await t.login('alice', 'secret');
    const sizes = messages.map((m) => crlf(m).length);
    assert.equal(await c.command('DELE 2'), '+OK Message 2 deleted');
    assert.match(await c.command('DELE 2'), /^-ERR .*already deleted/);
    for (const cmd of ['RETR 2', 'TOP 2 0', 'LIST 2', 'UIDL 2']) assert.match(await c.command(cmd), /^-ERR .*already deleted/, cmd);
    assert.equal(await c.command('STAT'), `+OK 3 ${sizes[0]! + sizes[2]! + sizes[3]!}`);
    const list = await c.multi('LIST');
    assert.equal(list.body.toString(), `1 ${sizes[0]}\r\n3 ${sizes[2]}\r\n4 ${sizes[3]}\r\n`);
    assert.match(await c.command('RSET'), /^\+OK/);
    assert.equal(await c.command('STAT'), `+OK 4 ${sizes.reduce((a, b) => a + b)}`);
    c.close();
  });

  it('LIST and UIDL of the whole maildrop are the same bytes again and again, around a DELE and RSET', async () => {
    // The whole listing is framed once per message list and reused; with a message marked
    // deleted it is built line by line. Both must be what RFC 1939 says, byte for byte.
    const c = await t.login('alice', 'secret');
    const sizes = messages.map((m) => crlf(m).length);
    const fullList = sizes.map((s, i) => `${i + 1} ${s}\r\n`).join('');
    const first = await c.multi('LIST');
    assert.equal(first.status, `+OK 4 messages (${sizes.reduce((a, b) => a + b)} octets)`);
    assert.equal(first.body.toString(), fullList);
    const uidl = (await c.multi('UIDL')).body.toString();
    assert.match(uidl, /^1 \S+\r\n2 \S+\r\n3 \S+\r\n4 \S+\r\n$/);
    assert.equal((await c.multi('LIST')).body.toString(), fullList);
    await c.command('DELE 3');
    assert.equal((await c.multi('LIST')).body.toString(), `1 ${sizes[0]}\r\n2 ${sizes[1]}\r\n4 ${sizes[3]}\r\n`);
    assert.equal((await c.multi('UIDL')).body.toString(), uidl.split('\r\n').filter((l) => !l.startsWith('3 ')).join('\r\n'));
    await c.command('RSET');
    assert.equal((await c.multi('LIST')).body.toString(), fullList);
    assert.equal((await c.multi('UIDL')).body.toString(), uidl);
    await c.command('QUIT');
    // A later session, after a delivery: the new message is listed.
    await t.deliver('alice', 'Subject: fifth\n\nfive\n');
    const next = await t.login('alice', 'secret');
    assert.equal((await next.multi('LIST')).body.toString(), `${fullList}5 ${crlf('Subject: fifth\n\nfive\n').length}\r\n`);
    assert.match((await next.multi('UIDL')).body.toString(), new RegExp(`^${uidl.replace(/\r\n/g, '\\r\\n')}5 \\S+\\r\\n$`));
    await next.command('QUIT');
  });

  it('QUIT commits deletions; message numbers then close up', async () => {
    let c = await t.login('alice', 'secret');
    const uids = (await c.multi('UIDL')).body.toString();
    await c.command('DELE 1');
    await c.command('DELE 3');
    assert.match(await c.command('QUIT'), /^\+OK .*2 messages deleted/);
    c = await t.login('alice', 'secret');
    const after = (await c.multi('UIDL')).body.toString().split('\r\n').filter(Boolean);
    const before = uids.split('\r\n').filter(Boolean).map((l) => l.split(' ')[1]);
    assert.deepEqual(after, [`1 ${before[1]}`, `2 ${before[3]}`]);
    await c.command('QUIT');
  });

  it('a dropped connection deletes nothing and releases the lock', async () => {
    const c = await t.login('alice', 'secret');
    await c.command('DELE 1');
    await c.command('DELE 2');
    c.close();
    await waitFor(() => t.logs.some((l) => l.event === 'session_end' && l.reason === 'disconnect'), 'session_end after the disconnect');
    const again = await t.login('alice', 'secret');
    assert.match(await again.command('STAT'), /^\+OK 4 /);
    again.close();
  });

  it('numbers messages oldest first, and mail arriving during a session waits for the next', async () => {
    const c = await t.login('alice', 'secret');
    await t.deliver('alice', 'Subject: late\n\nlate\n');
    assert.match(await c.command('STAT'), /^\+OK 4 /);
    assert.match(await c.command('RETR 5'), /^-ERR No such message/);
    assert.match((await c.multi('TOP 1 0')).body.toString(), /Subject: first/);
    await c.command('QUIT');
    const next = await t.login('alice', 'secret');
    assert.match(await next.command('STAT'), /^\+OK 5 /);
    assert.match((await next.multi('TOP 5 0')).body.toString(), /Subject: late/);
    next.close();
  });

  it('UIDLs stay the same across sessions and after other messages are deleted', async () => {
    let c = await t.login('alice', 'secret');
    const first = (await c.multi('UIDL')).body.toString().split('\r\n').filter(Boolean).map((l) => l.split(' ')[1]);
    await c.command('DELE 1');
    await c.command('QUIT');
    await t.deliver('alice', 'Subject: new\n\nx\n');
    c = await t.login('alice', 'secret');
    const second = (await c.multi('UIDL')).body.toString().split('\r\n').filter(Boolean).map((l) => l.split(' ')[1]);
    assert.deepEqual(second.slice(0, 3), first.slice(1));
    assert.ok(!first.includes(second[3]), 'a new message must not reuse a UIDL');
    c.close();
  });

  it('refuses bad message numbers', async () => {
    const c = await t.login('alice', 'secret');
    assert.match(await c.command('RETR 0'), /^-ERR Invalid message number/);
    assert.match(await c.command('RETR x'), /^-ERR Invalid message number/);
    assert.match(await c.command('RETR 99'), /^-ERR No such message/);
    assert.match(await c.command('RETR'), /^-ERR /);
    assert.match(await c.command('DELE 1 2'), /^-ERR Too many arguments/);
    assert.match(await c.command('STAT 1'), /^-ERR Too many arguments/);
    assert.equal(await c.command('NOOP'), '+OK');
    c.close();
  });

  it('CAPA works in TRANSACTION too', async () => {
    const c = await t.login('alice', 'secret');
    const { status, body } = await c.multi('CAPA');
    assert.match(status, /^\+OK/);
    assert.match(body.toString(), /\r\nUIDL\r\n/);
    c.close();
  });

  it('answers pipelined commands in order, from one write', async () => {
    const c = await t.connect();
    await c.line();
    c.send('USER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nUIDL 1\r\nDELE 1\r\nRETR 1\r\nNOOP\r\nRSET\r\nTOP 1 0\r\nQUIT\r\n');
    assert.match(await c.line(), /^\+OK/);
    assert.match(await c.line(), /^\+OK alice's maildrop/);
    assert.match(await c.line(), /^\+OK 4 /);
    assert.match(await c.line(), /^\+OK 1 \d+$/);
    assert.match(await c.line(), /^\+OK 1 \S+$/);
    assert.equal(await c.line(), '+OK Message 1 deleted');
    assert.match(await c.line(), /^-ERR .*already deleted/);
    assert.equal(await c.line(), '+OK');
    assert.match(await c.line(), /^\+OK maildrop has 4/);
    assert.match(await c.line(), /^\+OK/);
    assert.equal((await c.body()).toString(), 'Subject: first\r\n\r\n');
    assert.match(await c.line(), /^\+OK .*0 messages deleted/);
    assert.equal(await c.rest(), '');
  });

  it('retrieved messages move to cur/ with the S flag at QUIT', async () => {
    const { readdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const c = await t.login('alice', 'secret');
    await c.multi('RETR 1');
    await c.command('QUIT');
    const cur = await readdir(join(t.dataDir, 'mail', 'alice', 'cur'));
    assert.equal(cur.length, 1);
    assert.match(cur[0] ?? '', /:2,S$/);
  });
});
