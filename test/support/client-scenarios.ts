import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeliveryError, fetchAccount, type AccountResult, type AccountSettings, type DestinationSpec, type FetchPolicy } from '../../src/client/index.js';
import type { Mailbox, MailServerFixture } from './client-mailservers.js';
import { startSmtpSink } from './client-smtp-sink.js';

/*
 * The fetch policies and destinations, as scenarios that run against any mail server
 * fixture (postel's and Dovecot's). Each scenario has its own mailbox, state directory and
 * destination, and checks what arrived byte by byte and what the server served.
 */

const DAY = 86_400_000;

/** Messages with the lines that trip up naive code: dots, From_ lines, 8-bit text. */
export function trickyMessage(n: number, extra = ''): string {
  return [
    `Return-Path: <sender${n}@example.org>`,
    `From: Sender ${n} <sender${n}@example.org>`,
    `Subject: message ${n}`,
    `Message-ID: <m${n}@example.org>`,
    '',
    `Body of message ${n}.`,
    '.',
    '..',
    '.leading dot',
    'From the start of a line',
    '>From already quoted',
    'caf\u00e9 \u00fcber na\u00efve',
    'x'.repeat(1500),
    extra,
    'end',
    '',
  ].join('\n');
}

export function describeFetchScenarios(label: string, start: () => Promise<MailServerFixture>, skip?: string): void {
  describe(`postel fetch against ${label}`, { skip }, () => {
    let fixture: MailServerFixture;
    let work: string;
    before(async () => {
      fixture = await start();
      work = await mkdtemp(join(tmpdir(), 'postel-fetch-scenarios-'));
    });
    after(async () => {
      await fixture?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    let counter = 0;
    const setup = async (): Promise<{ mailbox: Mailbox; dir: string }> => {
      const dir = join(work, `s${++counter}`);
      return { mailbox: await fixture.newMailbox(), dir };
    };
    const account = (mailbox: Mailbox, dir: string, policy: Partial<FetchPolicy> = {}, destination?: DestinationSpec): AccountSettings => ({
      name: `${mailbox.user}@${fixture.name}`,
      ...mailbox.connection,
      timeoutMs: 10_000,
      user: mailbox.user,
      auth: 'user',
      secret: async () => mailbox.password,
      policy: { keep: true, oversize: 'skip', fetchAll: false, ...policy },
      destination: destination ?? { kind: 'maildir', path: join(dir, 'Maildir') },
    });
    const fetch = (settings: AccountSettings, dir: string, now?: Date): Promise<AccountResult> =>
      fetchAccount(settings, { stateDir: join(dir, 'state'), ...(now ? { now: () => now } : {}) });
    const ok = (result: AccountResult): AccountResult => {
      assert.equal(result.error, undefined, `fetch failed: ${result.error?.stack}`);
      return result;
    };

    test('keep: only new messages are downloaded (by UIDL), byte for byte', async () => {
      const { mailbox, dir } = await setup();
      await mailbox.deliver(trickyMessage(1));
      await mailbox.deliver(trickyMessage(2));
      const first = ok(await fetch(account(mailbox, dir), dir));
      assert.deepEqual([first.messages, first.delivered, first.deleted], [2, 2, 0]);
      await mailbox.deliver(trickyMessage(3));
      const second = ok(await fetch(account(mailbox, dir), dir));
      assert.deepEqual([second.messages, second.delivered, second.deleted], [3, 1, 0]);
      assert.deepEqual(await maildirContents(join(dir, 'Maildir')), [trickyMessage(1), trickyMessage(2), trickyMessage(3)].sort());
      assert.equal(await mailbox.count(), 3);
      assert.deepEqual(await mailbox.served(2), { retr: 3, top: 0 });
    });

    test('delete: messages are deleted once delivered, and only then', async () => {
      const { mailbox, dir } = await setup();
      await mailbox.deliver(trickyMessage(1));
      await mailbox.deliver(trickyMessage(2));
      const result = ok(await fetch(account(mailbox, dir, { keep: false }), dir));
      assert.deepEqual([result.delivered, result.deleted], [2, 2]);
      assert.equal(await mailbox.count(), 0);
      assert.equal((await maildirContents(join(dir, 'Maildir'))).length, 2);
      const again = ok(await fetch(account(mailbox, dir, { keep: false }), dir));
      assert.deepEqual([again.messages, again.delivered, again.deleted], [0, 0, 0]);
    });

    test('delete after N days: counted from when the UIDL was first seen', async () => {
      const { mailbox, dir } = await setup();
      const t0 = new Date('2030-01-10T12:00:00Z');
      const policy = { deleteAfterDays: 2 };
      await mailbox.deliver(trickyMessage(1));
      ok(await fetch(account(mailbox, dir, policy), dir, t0));
      await mailbox.deliver(trickyMessage(2));
      const day1 = ok(await fetch(account(mailbox, dir, policy), dir, new Date(t0.getTime() + DAY)));
      assert.deepEqual([day1.delivered, day1.deleted], [1, 0]);
      const day2 = ok(await fetch(account(mailbox, dir, policy), dir, new Date(t0.getTime() + 2 * DAY + 60_000)));
      assert.deepEqual([day2.delivered, day2.deleted], [0, 1], 'the first message is two days old');
      assert.equal(await mailbox.count(), 1);
      const day3 = ok(await fetch(account(mailbox, dir, policy), dir, new Date(t0.getTime() + 3 * DAY + 60_000)));
      assert.deepEqual([day3.delivered, day3.deleted], [0, 1]);
      assert.equal(await mailbox.count(), 0);
      assert.equal((await maildirContents(join(dir, 'Maildir'))).length, 2);
    });

    test('size limit, skip: large messages stay on the server and are not downloaded', async () => {
      const { mailbox, dir } = await setup();
      await mailbox.deliver(trickyMessage(1));
      await mailbox.deliver(trickyMessage(2, 'y'.repeat(20_000)));
      const policy = { keep: false, maxSize: 10_000 };
      const result = ok(await fetch(account(mailbox, dir, policy), dir));
      assert.deepEqual([result.delivered, result.skipped, result.deleted], [1, 1, 1]);
      const again = ok(await fetch(account(mailbox, dir, policy), dir));
      assert.deepEqual([again.delivered, again.skipped], [0, 1]);
      assert.equal(await mailbox.count(), 1);
      assert.deepEqual(await maildirContents(join(dir, 'Maildir')), [trickyMessage(1)]);
      assert.deepEqual(await mailbox.served(2), { retr: 1, top: 0 });
    });

    test('size limit, headers: the header is delivered (TOP n 0), the message stays', async () => {
      const { mailbox, dir } = await setup();
      const big = trickyMessage(1, 'z'.repeat(30_000));
      await mailbox.deliver(big);
      const policy = { keep: false, maxSize: 10_000, oversize: 'headers' as const };
      const result = ok(await fetch(account(mailbox, dir, policy), dir));
      assert.deepEqual([result.delivered, result.deleted], [1, 0]);
      const [stored] = await maildirContents(join(dir, 'Maildir'));
      const header = big.slice(0, big.indexOf('\n\n') + 2);
      assert.match(stored ?? '', /^X-Postel-Fetch-Truncated: \d+ octets over the size limit; the full message stays on the server\n/);
      assert.equal((stored ?? '').replace(/^X-Postel-Fetch-Truncated: [^\n]*\n/, ''), header);
      const again = ok(await fetch(account(mailbox, dir, policy), dir));
      assert.deepEqual([again.delivered, again.deleted], [0, 0], 'a header-only copy is never the reason to delete');
      assert.equal(await mailbox.count(), 1);
      assert.deepEqual(await mailbox.served(2), { retr: 0, top: 1 });
    });

    test('fetch-all: everything again, delivered before or not', async () => {
      const { mailbox, dir } = await setup();
      await mailbox.deliver(trickyMessage(1));
      await mailbox.deliver(trickyMessage(2));
      ok(await fetch(account(mailbox, dir), dir));
      const all = ok(await fetch(account(mailbox, dir, { fetchAll: true }), dir));
      assert.equal(all.delivered, 2);
      assert.equal((await maildirContents(join(dir, 'Maildir'))).length, 4);
    });

    test('mbox destination: mboxrd, From_ lines quoted, envelope sender from Return-Path', async () => {
      const { mailbox, dir } = await setup();
      await mailbox.deliver(trickyMessage(1));
      await mailbox.deliver('Subject: no return path\n\n>>From deep\nFrom x\nlast line without newline');
      const mbox = join(dir, 'inbox.mbox');
      ok(await fetch(account(mailbox, dir, {}, { kind: 'mbox', path: mbox }), dir));
      const text = await readFile(mbox, 'utf8');
      const expected = [
        { sender: 'sender1@example.org', body: trickyMessage(1) },
        { sender: 'MAILER-DAEMON', body: 'Subject: no return path\n\n>>From deep\nFrom x\nlast line without newline\n' },
      ];
      const fromLine = /^From (\S+) (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;
      const parts = text.split(/^(?=From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$)/m);
      assert.equal(parts.length, 2, text);
      parts.forEach((part, i) => {
        const newline = part.indexOf('\n');
        const m = fromLine.exec(part.slice(0, newline));
        assert.ok(m, part.slice(0, newline));
        assert.equal(m[1], expected[i]?.sender);
        const quoted = (expected[i]?.body ?? '').replace(/^(>*From )/gm, '>$1');
        assert.equal(part.slice(newline + 1), `${quoted}\n`);
      });
    });

    test('MDA destination: the message on stdin, the exit code decides', async () => {
      const { mailbox, dir } = await setup();
      await mailbox.deliver(trickyMessage(1));
      const out = join(dir, 'mda');
      await import('node:fs/promises').then((fs) => fs.mkdir(out, { recursive: true }));
      const failing = ok(await fetch(account(mailbox, dir, { keep: false }, { kind: 'mda', command: 'cat >/dev/null; echo "no space" >&2; exit 75' }), dir));
      assert.deepEqual([failing.delivered, failing.failed, failing.deleted], [0, 1, 0]);
      assert.equal(await mailbox.count(), 1, 'a failed delivery leaves the message on the server');
      const working = ok(await fetch(account(mailbox, dir, { keep: false }, { kind: 'mda', command: `cat > "${out}/$POSTEL_FETCH_UIDL"` }), dir));
      assert.deepEqual([working.delivered, working.failed, working.deleted], [1, 0, 1]);
      const files = await readdir(out);
      assert.equal(files.length, 1);
      assert.equal(await readFile(join(out, files[0] as string), 'utf8'), trickyMessage(1));
      assert.equal(await mailbox.count(), 0);
    });

    test('MDA destination: a permanent failure is reported as such', async () => {
      const { mailbox, dir } = await setup();
      await mailbox.deliver(trickyMessage(1));
      const events: Error[] = [];
      const result = await fetchAccount(account(mailbox, dir, {}, { kind: 'mda', command: 'exit 1' }), {
        stateDir: join(dir, 'state'),
        onEvent: (e) => {
          if (e.type === 'failed') events.push(e.error);
        },
      });
      assert.equal(result.failed, 1);
      assert.ok(events[0] instanceof DeliveryError);
      assert.equal((events[0] as DeliveryError).temporary, false);
      assert.match(events[0]?.message ?? '', /exited with 1/);
    });

    for (const protocol of ['lmtp', 'smtp'] as const) {
      test(`${protocol.toUpperCase()} forwarding: dot-stuffed on the way, byte for byte at the far end`, async () => {
        const { mailbox, dir } = await setup();
        const sink = await startSmtpSink({ protocol });
        try {
          await mailbox.deliver(trickyMessage(1));
          await mailbox.deliver(trickyMessage(2));
          const result = ok(await fetch(account(mailbox, dir, { keep: false }, { kind: protocol, host: '127.0.0.1', port: sink.port, recipient: 'local@example.net' }), dir));
          assert.deepEqual([result.delivered, result.deleted], [2, 2]);
          assert.equal(sink.transactions.length, 2);
          sink.transactions.forEach((t, i) => {
            assert.equal(t.mailFrom, `sender${i + 1}@example.org`);
            assert.deepEqual(t.rcptTo, ['local@example.net']);
            assert.equal(t.data.toString('utf8'), trickyMessage(i + 1).replace(/\n/g, '\r\n'));
          });
          assert.ok(sink.commands.some((c) => c.startsWith(protocol === 'lmtp' ? 'LHLO ' : 'EHLO ')));
        } finally {
          await sink.stop();
        }
      });
    }

    test('forwarding refused (550 on RCPT): not delivered, not deleted', async () => {
      const { mailbox, dir } = await setup();
      const sink = await startSmtpSink({ protocol: 'lmtp', refuse: { rcpt: '550 5.1.1 no such user' } });
      try {
        await mailbox.deliver(trickyMessage(1));
        const result = ok(await fetch(account(mailbox, dir, { keep: false }, { kind: 'lmtp', host: '127.0.0.1', port: sink.port, recipient: 'nobody@example.net' }), dir));
        assert.deepEqual([result.delivered, result.failed, result.deleted], [0, 1, 0]);
        assert.equal(await mailbox.count(), 1);
      } finally {
        await sink.stop();
      }
    });
  });
}

/** The contents of every message in a Maildir's new/ and cur/, sorted. */
export async function maildirContents(maildir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['new', 'cur']) {
    for (const name of await readdir(join(maildir, sub)).catch(() => [])) out.push(await readFile(join(maildir, sub, name), 'utf8'));
  }
  return out.sort();
}
