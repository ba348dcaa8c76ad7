import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addUser, describeRun, listAndUidl, loginTo } from './support/interop-cli.js';
import { runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { crlf, unstuff } from './support/wire-client.js';
import { exists, messageFiles } from './support/maildir-files.js';

describe('postel deliver and postel mailbox, checked over POP3 on a server process', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  let mailRoot: string;
  let seq = 0;
  const password = 'pw-deliver';
  /** Each test has its own maildrop; the users are added in one go (one scrypt each). */
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina'] as const;

  /** Writes `content` to a fresh file in the temp dir and returns its path. */
  async function messageFile(content: string | Buffer): Promise<string> {
    const path = join(env.dir, `message-${++seq}.eml`);
    await writeFile(path, content);
    return path;
  }

  before(async () => {
    env = await tempDataDir();
    mailRoot = join(env.dir, 'data', 'mail');
    await Promise.all(users.map((user) => addUser(env.config, user, password)));
    server = await startServerProcess(['--config', env.config]);
  });
  after(async () => {
    await server?.stop();
    await env?.cleanup();
  });

  it('deliver NAME FILE... stores every file, exit 0, and RETR returns each in wire form, byte for byte', async () => {
    const messages = [
      'Subject: lf\n\nplain LF body\nsecond line\n',
      'Subject: crlf\r\n\r\nCRLF body\r\n.starts with a dot\r\n.\r\n..two dots\r\n',
      'Subject: unterminated\n\nno final newline',
    ];
    const files = await Promise.all(messages.map((m) => messageFile(m)));
    const r = await runCli(['deliver', 'alice', ...files, '--config', env.config]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, files.map((f, i) => `postel: delivered ${f} to alice (${crlf(messages[i] as string).length} octets)\n`).join(''));

    const client = await loginTo(server.port, 'alice', password);
    assert.equal(await client.command('STAT'), `+OK 3 ${messages.reduce((n, m) => n + crlf(m).length, 0)}`);
    for (const [i, m] of messages.entries()) {
      const { status, body } = await client.multi(`RETR ${i + 1}`);
      assert.equal(status, `+OK ${crlf(m).length} octets`);
      assert.deepEqual(unstuff(body), crlf(m), `message ${i + 1}`);
    }
    assert.match(await client.command('QUIT'), /^\+OK/);
  });

  it('deliver NAME with no file reads the message from stdin, 8-bit bytes and all', async () => {
    const message = Buffer.concat([
      Buffer.from('Subject: from stdin\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a, 0x80, 0xff, 0x00, 0x0a]),
      Buffer.from('.leading dot\nlast\n'),
    ]);
    const r = await runCli(['deliver', 'bob', '--config', env.config], message);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stderr, `postel: delivered stdin to bob (${crlf(message).length} octets)\n`);
    const client = await loginTo(server.port, 'bob', password);
    const { status, body } = await client.multi('RETR 1');
    assert.equal(status, `+OK ${crlf(message).length} octets`);
    assert.deepEqual(unstuff(body), crlf(message));
    assert.equal(await client.command('RETR 2'), '-ERR No such message');
    client.close();
  });

  it('deliver to a valid but unknown user exits 67 (EX_NOUSER), an invalid name 65 (EX_DATAERR); nothing is written', async () => {
    const file = await messageFile('Subject: lost\n\nx\n');
    const r = await runCli(['deliver', 'nobody', file, '--config', env.config]);
    assert.equal(r.code, 67, describeRun(r));
    assert.match(r.stderr, /^postel: unknown user nobody \(users file \/.*\/users\)\n$/);
    assert.equal(await exists(join(mailRoot, 'nobody')), false);

    const invalid = await runCli(['deliver', '../alice', file, '--config', env.config]);
    assert.equal(invalid.code, 65, describeRun(invalid));
    assert.match(invalid.stderr, /^postel: invalid user name "\.\.\/alice": /);
  });

  it('a missing input file exits 66 (EX_NOINPUT), and the other files are still delivered', async () => {
    const first = 'Subject: before the gap\n\none\n';
    const last = 'Subject: after the gap\n\ntwo\n';
    const missing = join(env.dir, 'no-such-message.eml');
    const r = await runCli(['deliver', 'carol', await messageFile(first), missing, await messageFile(last), '--config', env.config]);
    assert.equal(r.code, 66, describeRun(r));
    assert.match(r.stderr, new RegExp(`^postel: could not read ${missing}: no such file$`, 'm'));
    assert.match(r.stderr, /^postel: 1 of 3 messages not delivered$/m);
    const client = await loginTo(server.port, 'carol', password);
    assert.equal(await client.command('STAT'), `+OK 2 ${crlf(first).length + crlf(last).length}`);
    assert.deepEqual(unstuff((await client.multi('RETR 1')).body), crlf(first));
    assert.deepEqual(unstuff((await client.multi('RETR 2')).body), crlf(last));
    client.close();
    assert.deepEqual(await readdir(join(mailRoot, 'carol', 'tmp')), []);
  });

  it('an empty message (0 octets) is refused with 65 (EX_DATAERR), from a file or stdin', async () => {
    const before = await readdir(join(mailRoot, 'carol', 'new')).catch(() => []);
    const fromFile = await runCli(['deliver', 'carol', await messageFile(''), '--config', env.config]);
    assert.equal(fromFile.code, 65, describeRun(fromFile));
    assert.match(fromFile.stderr, /is empty \(0 octets\); not delivered/);
    const fromStdin = await runCli(['deliver', 'carol', '--config', env.config], Buffer.alloc(0));
    assert.equal(fromStdin.code, 65, describeRun(fromStdin));
    assert.deepEqual(await readdir(join(mailRoot, 'carol', 'new')).catch(() => []), before);
  });

  it('an unusable data directory is a temporary failure (75) that names the directory', async () => {
    const file = await messageFile('Subject: x\n\nx\n');
    const missing = join(env.dir, 'no-such-data');
    const r = await runCli(['deliver', 'carol', file, '--data', missing]);
    assert.equal(r.code, 75, describeRun(r));
    assert.equal(r.stderr, `postel: data directory ${missing} does not exist; check --data or data_dir (or run \`postel user add\` to create it)\n`);
    const notDir = await messageFile('not a directory');
    const f = await runCli(['deliver', 'carol', file, '--data', notDir]);
    assert.equal(f.code, 75, describeRun(f));
    assert.match(f.stderr, /is not a directory/);
  });

  it('a store that cannot be written (the maildrop path is a regular file) exits 75', async () => {
    const blocker = join(mailRoot, 'dave');
    await writeFile(blocker, '');
    try {
      const r = await runCli(['deliver', 'dave', '--config', env.config], 'Subject: x\n\ny\n');
      assert.equal(r.code, 75, describeRun(r));
      assert.match(r.stderr, /^postel: could not deliver stdin to dave: /m);
      assert.match(r.stderr, /^postel: 1 of 1 message not delivered$/m);
    } finally {
      await rm(blocker);
    }
  });

  it('mailbox list prints number, size, UIDL and the decoded subject; sizes and UIDLs equal POP3 LIST and UIDL', async () => {
    const subjects = [
      ['Subject: plain ascii', 'plain ascii'],
      [`Subject: =?UTF-8?B?${Buffer.from('élève à l’école').toString('base64')}?=`, 'élève à l’école'],
      ['Subject: =?ISO-8859-1?Q?caf=E9_cr=E8me?= and more', 'café crème and more'],
      ['Subject: a long\n  folded subject', 'a long folded subject'],
      ['X-No-Subject: here', ''],
    ] as const;
    const files = await Promise.all(subjects.map(([header], i) => messageFile(`From: a@example.org\n${header}\n\nbody ${'x'.repeat(i * 7)}\n`)));
    const delivered = await runCli(['deliver', 'erin', ...files, '--config', env.config]);
    assert.equal(delivered.code, 0, describeRun(delivered));

    const r = await runCli(['mailbox', 'list', 'erin', '--config', env.config]);
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(r.stdout.endsWith('\n'));
    const rows = r.stdout.slice(0, -1).split('\n').map((line) => {
      const m = /^ *(\d+) +(\d+) {2}(\S+) {2}(.*)$/.exec(line);
      assert.ok(m, `mailbox list line ${JSON.stringify(line)}`);
      return { n: Number(m[1]), size: Number(m[2]), uid: m[3] as string, subject: m[4] as string };
    });
    assert.deepEqual(
      rows.map((row) => row.subject),
      subjects.map(([, decoded]) => decoded),
    );
    assert.deepEqual(
      rows.map((row) => row.n),
      [1, 2, 3, 4, 5],
    );

    const client = await loginTo(server.port, 'erin', password);
    const { sizes, uids } = await listAndUidl(client);
    assert.deepEqual(
      rows.map((row) => row.size),
      sizes,
    );
    assert.deepEqual(
      rows.map((row) => row.uid),
      uids,
    );
    assert.match(await client.command('QUIT'), /^\+OK/);
  });

  it('mailbox list of an empty maildrop says so', async () => {
    const r = await runCli(['mailbox', 'list', 'gina', '--config', env.config]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'no messages\n');
  });

  it('mailbox purge is refused (exit 75, "in use") while a POP3 session holds the maildrop, and works after QUIT', async () => {
    const files = [await messageFile('Subject: keep 1\n\na\n'), await messageFile('Subject: keep 2\n\nb\n')];
    const delivered = await runCli(['deliver', 'frank', ...files, '--config', env.config]);
    assert.equal(delivered.code, 0, describeRun(delivered));
    const before = (await messageFiles(mailRoot, 'frank')).sort();
    assert.equal(before.length, 2);

    const client = await loginTo(server.port, 'frank', password);
    const refused = await runCli(['mailbox', 'purge', 'frank', '--config', env.config]);
    assert.equal(refused.code, 75, describeRun(refused));
    assert.match(refused.stderr, /^postel: the maildrop of frank is in use by a POP3 session/);
    assert.equal(refused.stdout, '');
    assert.deepEqual((await messageFiles(mailRoot, 'frank')).sort(), before);
    // The session was not disturbed, and its own lock was not taken from it.
    assert.match(await client.command('STAT'), /^\+OK 2 /);
    assert.equal(await client.command('DELE 1'), '+OK Message 1 deleted');
    assert.match(await client.command('RSET'), /^\+OK/);
    assert.match(await client.command('QUIT'), /^\+OK .*\(0 messages deleted\)/);

    const purged = await runCli(['mailbox', 'purge', 'frank', '--config', env.config]);
    assert.equal(purged.code, 0, describeRun(purged));
    assert.equal(purged.stdout, 'deleted 2 messages of frank\n');
    assert.deepEqual(await messageFiles(mailRoot, 'frank'), []);
    const after = await loginTo(server.port, 'frank', password);
    assert.equal(await after.command('STAT'), '+OK 0 0');
    after.close();
  });

  it('mailbox list and purge of an unknown user exit 67 and create no maildrop', async () => {
    for (const command of ['list', 'purge']) {
      const r = await runCli(['mailbox', command, 'nobody', '--config', env.config]);
      assert.equal(r.code, 67, describeRun(r));
      assert.match(r.stderr, /^postel: unknown user nobody/);
    }
    assert.equal(await exists(join(mailRoot, 'nobody')), false);
  });

  it("a removed user's maildrop stays on disk and can still be listed and purged", async () => {
    const delivered = await runCli(['deliver', 'gina', '--config', env.config], 'Subject: left behind\n\nz\n');
    assert.equal(delivered.code, 0, describeRun(delivered));
    const del = await runCli(['user', 'del', 'gina', '--config', env.config]);
    assert.equal(del.code, 0, describeRun(del));
    const list = await runCli(['mailbox', 'list', 'gina', '--config', env.config]);
    assert.equal(list.code, 0, describeRun(list));
    assert.match(list.stdout, /^ +1 +\d+ {2}\S+ {2}left behind\n$/);
    const purge = await runCli(['mailbox', 'purge', 'gina', '--config', env.config]);
    assert.equal(purge.code, 0, describeRun(purge));
    assert.equal(purge.stdout, 'deleted 1 message of gina\n');
  });
});
