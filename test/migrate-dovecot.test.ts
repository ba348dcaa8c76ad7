import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dovecotUnavailable, startDovecot, type Dovecot } from './support/dovecot.js';
import { bodyLines, describeRun, listAndUidl } from './support/interop-cli.js';
import { hasProgram, run, runCli, startServerProcess, type ServerProcess } from './support/server-process.js';
import { WireClient } from './support/wire-client.js';

/*
 * Moving a site from Dovecot to postel and back with clients that leave mail on the server:
 * no message may be downloaded twice. A real Dovecot delivers (its LDA) and serves a
 * Maildir; then postel serves the same Maildir; then, after `postel export dovecot-uidlist`,
 * Dovecot again. At every step each message must have the same UIDL, the same bytes and a
 * LIST size equal to what RETR sends, and postel fetch, fetchmail and mpop (each keeping its
 * own list of UIDLs seen) must fetch nothing they fetched before.
 */

const reason = await dovecotUnavailable();
const USERS = { alice: 'alice-pw', bob: 'bob-pw' } as const;

interface Seen {
  readonly uids: string[];
  readonly sizes: number[];
  /** RETR of each message: the body between the status line and ".", as sent (dot-stuffed). */
  readonly retr: Buffer[];
}

async function look(port: number, user: keyof typeof USERS): Promise<Seen> {
  const client = await WireClient.connect(port);
  try {
    assert.match(await client.line(), /^\+OK/);
    assert.match(await client.command(`USER ${user}`), /^\+OK/);
    assert.match(await client.command(`PASS ${USERS[user]}`), /^\+OK/);
    const { uids, sizes } = await listAndUidl(client);
    const retr: Buffer[] = [];
    for (let i = 1; i <= uids.length; i++) {
      const r = await client.multi(`RETR ${i}`);
      assert.match(r.status, /^\+OK/);
      retr.push(r.body);
    }
    await client.command('QUIT');
    return { uids, sizes, retr };
  } finally {
    client.close();
  }
}

/** The octets of the message in a RETR body: dot-stuffing undone, the terminating CRLF included. */
function messageOctets(body: Buffer): number {
  return bodyLines(body).reduce((n, line) => n + Buffer.byteLength(line.startsWith('.') ? line.slice(1) : line, 'latin1') + 2, 0);
}

describe('switching between Dovecot and postel on one Maildir keeps every UIDL', { skip: reason }, () => {
  let base: string;
  let mailRoot: string;
  let config: string;
  let dovecot: Dovecot | undefined;
  let postel: ServerProcess | undefined;
  let fromDovecot: Record<string, Seen>;
  let fromPostel: Record<string, Seen>;
  let fetchToml: string;
  let fetchmailRc: string;
  const mpopArgs = (port: number): string[] => [
    '--host=127.0.0.1', `--port=${port}`, '--tls=off', '--auth=user', '--user=alice', '--passwordeval=echo alice-pw',
    '--keep=on', '--only-new=on', `--uidls-file=${join(base, 'mpop-uidls')}`, `--delivery=mbox,${join(base, 'mpop.mbox')}`, '--quiet',
  ];
  const writeFetchmailRc = async (port: number): Promise<void> => {
    // The poll name stays "localhost" whatever the port: fetchmail keys what it has seen by it.
    await writeFile(fetchmailRc, `poll localhost via 127.0.0.1 protocol pop3 port ${port} timeout 20\n  user "alice" password "alice-pw" is "alice" here\n  keep sslproto \"\"\n  mda "/bin/sh -c 'cat >> ${join(base, 'fetchmail.out')}'"\n`);
    await chmod(fetchmailRc, 0o600);
  };
  const fetchmail = (): ReturnType<typeof run> => run('env', [`HOME=${base}`, `FETCHMAILHOME=${base}`, 'fetchmail', '-f', fetchmailRc, '--nodetach', '--nosyslog', '-N']);
  const writeFetchToml = (port: number): Promise<void> =>
    // The same account name before and after: postel fetch keys its state by it.
    writeFile(fetchToml, `state_dir = "fetch-state"\n[[account]]\nname = "home"\nhost = "127.0.0.1"\nport = ${port}\ntls = "none"\nuser = "alice"\npassword = "alice-pw"\ndeliver = "maildir:fetched"\nkeep = true\n`);
  const postelFetch = (): ReturnType<typeof runCli> => runCli(['fetch', '--config', fetchToml]);

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'postel-migrate-'));
    // Dovecot's mail processes (its mail user) must reach the Maildirs below.
    await chmod(base, 0o755);
    mailRoot = join(base, 'mail');
    config = join(base, 'postel.toml');
    fetchToml = join(base, 'fetch.toml');
    fetchmailRc = join(base, 'fetchmailrc');
    await writeFile(config, `data_dir = ${JSON.stringify(base)}\n[auth]\nfailure_response_ms = 0\nmax_user_delay = 0\n`);
    for (const [user, password] of Object.entries(USERS)) {
      const r = await runCli(['user', 'add', user, '--password-stdin', '--config', config], `${password}\n`);
      assert.equal(r.code, 0, describeRun(r));
    }
    // bob's mail came to Dovecot from another server earlier: Dovecot's migration saved the
    // old UIDLs in P fields (one of them empty, meaning "the base name").
    await mkdir(join(mailRoot, 'bob', 'cur'), { recursive: true });
    const bobNames = ['1100000001.M1P1.old', '1100000002.M1P1.old', '1100000003.M1P1.old'];
    for (const [i, name] of bobNames.entries()) await writeFile(join(mailRoot, 'bob', 'cur', `${name}:2,S`), `Subject: old ${i}\n\nfrom the old server\n`);
    await writeFile(join(mailRoot, 'bob', 'dovecot-uidlist'), `3 V1100000000 N10 G0123456789abcdef0123456789abcdef\n1 PUID7-1000000000 :${bobNames[0]}\n2 P :${bobNames[1]}\n5 :${bobNames[2]}\n`);
  });
  after(async () => {
    await postel?.stop();
    await dovecot?.stop();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  });

  it('Dovecot: delivers with its LDA and shows UIDLs; postel fetch, fetchmail and mpop leave a copy and remember them', async () => {
    dovecot = await startDovecot({ users: USERS, mailRoot });
    await run('chown', ['-R', 'vmail:vmail', join(mailRoot, 'bob')]);
    await dovecot.deliverLda('alice', 'Subject: one\nFrom: a@example.org\n\nfirst\n');
    await dovecot.deliverLda('alice', 'Subject: dots\n\n.leading dot\n..two\n.\nend\n');
    await dovecot.deliverLda('alice', 'Subject: open end\n\nthe last line has no line end');
    await dovecot.deliverLda('alice', Buffer.from('Subject: crlf\r\n\r\nstored\r\nwith CRLF\r\n'));
    // And one dropped into new/ by another program (no S= or W= in its name).
    await dovecot.deliver('alice', 'Subject: dropped\n\nby hand\n');

    fromDovecot = { alice: await look(dovecot.pop3Port, 'alice'), bob: await look(dovecot.pop3Port, 'bob') };
    assert.equal(fromDovecot['alice']?.uids.length, 5);
    assert.match(fromDovecot['alice']?.uids[0] ?? '', /^[0-9a-f]{16}$/, 'pop3_uidl_format %08Xu%08Xv');
    assert.deepEqual(fromDovecot['bob']?.uids, ['UID7-1000000000', '1100000002.M1P1.old', `00000005${(1100000000).toString(16)}`], "P fields, the empty P, Dovecot's format");

    await writeFetchToml(dovecot.pop3Port);
    const fetched = await postelFetch();
    assert.equal(fetched.code, 0, describeRun(fetched));
    assert.match(fetched.stdout, /^home\s+5\s+0\s+0\s+0\s+ok$/m, fetched.stdout);
    if (await hasProgram('fetchmail')) {
      await writeFetchmailRc(dovecot.pop3Port);
      const r = await fetchmail();
      assert.equal(r.code, 0, `fetchmail: ${r.stderr}`);
      assert.equal((await readFile(join(base, 'fetchmail.out'), 'latin1')).match(/^Subject: /gm)?.length, 5);
    }
    if (await hasProgram('mpop')) {
      const r = await run('mpop', mpopArgs(dovecot.pop3Port));
      assert.equal(r.code, 0, `mpop: ${r.stderr}`);
      assert.equal((await readFile(join(base, 'mpop.mbox'), 'latin1')).match(/^Subject: /gm)?.length, 5);
    }
    await dovecot.stop();
    dovecot = undefined;
  });

  it('postel on the same Maildir: the same UIDL and bytes per message, LIST equal to RETR, nothing fetched again', async () => {
    assert.ok(fromDovecot, 'needs the Dovecot step');
    postel = await startServerProcess(['--config', config]);
    fromPostel = { alice: await look(postel.port, 'alice'), bob: await look(postel.port, 'bob') };
    for (const user of ['alice', 'bob']) {
      const d = fromDovecot[user] as Seen;
      const p = fromPostel[user] as Seen;
      assert.deepEqual(p.uids, d.uids, `${user}: UIDLs`);
      assert.deepEqual(p.retr.map((b) => b.toString('latin1')), d.retr.map((b) => b.toString('latin1')), `${user}: RETR bytes`);
      assert.deepEqual(p.sizes, p.retr.map(messageOctets), `${user}: LIST sizes are the octets RETR sends`);
    }
    // Dovecot counts the open-ended message 2 octets short (its W= and LIST); postel counts
    // the CRLF that both servers send.
    const open = fromDovecot['alice']?.uids.findIndex((_u, i) => (fromDovecot['alice']?.retr[i] as Buffer).includes('no line end')) as number;
    assert.equal(fromPostel['alice']?.sizes[open], (fromDovecot['alice']?.sizes[open] as number) + 2);

    await writeFetchToml(postel.port);
    const again = await postelFetch();
    assert.equal(again.code, 0, describeRun(again));
    assert.match(again.stdout, /^home\s+0\s+0\s+0\s+0\s+ok$/m, again.stdout);
    if (await hasProgram('fetchmail')) {
      await writeFetchmailRc(postel.port);
      const r = await fetchmail();
      assert.equal(r.code, 1, `fetchmail exits 1 when there was no new mail: ${r.stderr}`);
      assert.equal((await readFile(join(base, 'fetchmail.out'), 'latin1')).match(/^Subject: /gm)?.length, 5);
    }
    if (await hasProgram('mpop')) {
      const r = await run('mpop', mpopArgs(postel.port));
      assert.equal(r.code, 0, `mpop: ${r.stderr}`);
      assert.equal((await readFile(join(base, 'mpop.mbox'), 'latin1')).match(/^Subject: /gm)?.length, 5);
    }
    // New mail on postel is new to every client, once.
    const delivered = await runCli(['deliver', 'alice', '--config', config], 'Subject: on postel\n\nnew here\n');
    assert.equal(delivered.code, 0, describeRun(delivered));
    const fresh = await postelFetch();
    assert.match(fresh.stdout, /^home\s+1\s+0\s+0\s+0\s+ok$/m, fresh.stdout);
    fromPostel['alice'] = await look(postel.port, 'alice');
    await postel.stop();
    postel = undefined;
  });

  it('back to Dovecot after `postel export dovecot-uidlist --all`: Dovecot shows the same UIDLs', async () => {
    assert.ok(fromPostel, 'needs the postel step');
    const exported = await runCli(['export', 'dovecot-uidlist', '--all', '--config', config]);
    assert.equal(exported.code, 0, describeRun(exported));
    assert.match(exported.stdout, /^alice: 6 messages -> .*dovecot-uidlist$/m);
    assert.match(exported.stdout, /^bob: 3 messages -> /m);
    // In production both servers run as the mail user; here postel ran as root.
    await run('chown', ['-R', 'vmail:vmail', mailRoot]);
    dovecot = await startDovecot({ users: USERS, mailRoot });
    for (const user of ['alice', 'bob'] as const) {
      const back = await look(dovecot.pop3Port, user);
      assert.deepEqual(back.uids, fromPostel[user]?.uids, `${user}: UIDLs after moving back`);
      assert.deepEqual(back.retr.map((b) => b.toString('latin1')), fromPostel[user]?.retr.map((b) => b.toString('latin1')), `${user}: RETR bytes`);
    }
    await writeFetchToml(dovecot.pop3Port);
    const again = await postelFetch();
    assert.match(again.stdout, /^home\s+0\s+0\s+0\s+0\s+ok$/m, again.stdout);
    if (await hasProgram('mpop')) {
      const r = await run('mpop', mpopArgs(dovecot.pop3Port));
      assert.equal(r.code, 0, `mpop: ${r.stderr}`);
      assert.equal((await readFile(join(base, 'mpop.mbox'), 'latin1')).match(/^Subject: /gm)?.length, 6, 'only the message delivered on postel is new to mpop');
    }
  });
});
