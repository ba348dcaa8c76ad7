import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crlf, unstuff } from './support/wire-client.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

const SECRET = 'root:$6$secret-hash:19000:0:99999:7:::\n';
const REAL = 'Subject: real\n\nthe only message\n';

describe('Maildir entries that are not regular files', () => {
  let t: TestServer;
  let outside: string;
  before(async () => {
    t = await startPop3TestServer({ users: { eve: 'secret', mallory: 'secret' } });
    outside = await mkdtemp(join(tmpdir(), 'postel-secret-'));
    await writeFile(join(outside, 'shadow'), SECRET);
    await t.deliver('eve', REAL);
    const maildrop = join(t.dataDir, 'mail', 'eve');
    // What `ln -s /etc/shadow DATA/mail/eve/new/123.x` does, in new/ and (flagged) in cur/.
    await symlink(join(outside, 'shadow'), join(maildrop, 'new', '123.x'));
    await symlink(join(outside, 'shadow'), join(maildrop, 'cur', '124.x:2,S'));
    execFileSync('mkfifo', [join(maildrop, 'new', '125.fifo')]);
  });
  after(async () => {
    await t.stop();
    await rm(outside, { recursive: true, force: true });
  });

  it('are not messages: a symlink to a secret is never sent, a FIFO never hangs the login, each is logged once', async () => {
    for (let login = 0; login < 2; login++) {
      const c = await t.login('eve', 'secret');
      assert.equal(await c.command('STAT'), `+OK 1 ${crlf(REAL).length}`);
      const retr = await c.multi('RETR 1');
      assert.deepEqual(unstuff(retr.body), crlf(REAL));
      assert.equal(await c.command('RETR 2'), '-ERR No such message');
      await c.command('QUIT');
    }
    const warnings = t.logs.filter((l) => l.msg === 'skipping maildir entry that is not a regular file (symlink, directory, FIFO or device)');
    assert.deepEqual(warnings.map((l) => String(l.path).split('/').slice(-2).join('/')).sort(), ['cur/124.x:2,S', 'new/123.x', 'new/125.fifo']);
    assert.ok(!t.rawLogs.join('').includes('secret-hash'));
  });

  it('a message file replaced by a symlink after the login is refused, not followed', async () => {
    await t.deliver('mallory', REAL);
    const c = await t.login('mallory', 'secret');
    assert.equal(await c.command('STAT'), `+OK 1 ${crlf(REAL).length}`);
    const dir = join(t.dataDir, 'mail', 'mallory', 'new');
    const [name] = await readdir(dir);
    assert.ok(name !== undefined);
    await symlink(join(outside, 'shadow'), join(dir, 'swap'));
    await rename(join(dir, 'swap'), join(dir, name));
    const reply = await c.command('RETR 1');
    assert.match(reply, /^-ERR \[SYS\/TEMP\]/);
    assert.ok(!reply.includes('root:'));
    await c.command('QUIT');
  });
});
