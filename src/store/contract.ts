import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { wireSize } from '../message/wire-size.js';
import { MaildropLockedError, MessageGoneError, QuotaExceededError, StoreError } from './errors.js';
import type { MailStore, Maildrop, MaildropView, WireOptions } from './types.js';

/**
 * Behaviour every MailStore must show, whatever keeps the bytes. Run it from a test file:
 *   mailStoreContract('MaildirStore', async () => ({ store, cleanup }));
 * `setup` is called before each case and must return an empty store.
 */
export function mailStoreContract(
  name: string,
  setup: () => Promise<{ store: MailStore; cleanup: () => Promise<void> }>,
): void {
  describe(`MailStore contract: ${name}`, () => {
    let store: MailStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await setup());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('lists delivered messages oldest first with their wire sizes and contents', async () => {
      const samples: { label: string; content: Buffer; asStream?: Buffer[] }[] = [
        { label: 'LF only', content: bytes('From: a@example.org\nSubject: lf\n\nbody\n') },
        { label: 'CRLF', content: bytes('From: a@example.org\r\nSubject: crlf\r\n\r\nbody\r\n') },
        { label: 'mixed', content: bytes('Subject: mixed\r\n\nline one\nline two\r\n') },
        { label: 'unterminated', content: bytes('Subject: open end\n\nno newline at the end') },
        { label: 'empty', content: Buffer.alloc(0) },
        { label: 'dot lines', content: bytes('Subject: dots\r\n\r\n.\r\n..\n.leading dot\r\n.\n') },
        { label: 'bare CR', content: bytes('Subject: cr\n\na\rb\r\rc\n') },
        { label: 'ends with CR', content: bytes('Subject: cr end\r\n\r\nx\r') },
        { label: 'binary octets', content: Buffer.from([0x53, 0x3a, 0x20, 0xff, 0x00, 0x80, 0x0a, 0x0a, 0xc3, 0xa9, 0x0d, 0x0a]) },
      ];
      const split = bytes('Subject: split\r\n\r\nab\r\ncd\r\n');
      samples.push({
        label: 'CRLF split across stream chunks',
        content: split,
        asStream: [split.subarray(0, 15), split.subarray(15, 16), split.subarray(16, 21), split.subarray(21)],
      });
      const big = largeMessage(300_000);
      samples.push({ label: 'large streamed', content: big, asStream: chunked(big, 4093) });

      for (const s of samples) {
        const input = s.asStream === undefined ? s.content : Readable.from(s.asStream);
        const result = await store.deliver('alice', input);
        assert.equal(result.size, wireSize(s.content), `delivery size of ${s.label}`);
        assert.ok(result.id.length > 0);
      }
      const drop = await store.openMaildrop('alice');
      try {
        assert.equal(drop.user, 'alice');
        assert.equal(drop.messages.length, samples.length);
        for (const [i, s] of samples.entries()) {
          assert.equal(drop.messages[i]?.size, wireSize(s.content), `listed size of ${s.label}`);
          const stored = await readMessage(drop, i);
          assert.ok(toWire(stored).equals(toWire(s.content)), `content of ${s.label}`);
          assert.equal(toWire(stored).length, drop.messages[i]?.size, `size agrees with content of ${s.label}`);
        }
      } finally {
        await drop.release();
      }
    });

    it('accepts a stream of strings', async () => {
      await store.deliver('alice', Readable.from(['Subject: text\n', '\nh\u00e9llo\n']));
      const drop = await store.openMaildrop('alice');
      try {
        assert.deepEqual(await readAll(drop), [toWire(Buffer.from('Subject: text\n\nh\u00e9llo\n', 'utf8'))]);
      } finally {
        await drop.release();
      }
    });

    it('starts with an empty maildrop', async () => {
      const drop = await store.openMaildrop('nobody-yet');
      assert.deepEqual(drop.messages, []);
      assert.equal(drop.lastLoginAt, null);
      await drop.release();
    });

    it('gives well-formed unique UIDLs that stay stable across sessions', async () => {
      for (let i = 0; i < 5; i++) await store.deliver('alice', message(i));
      const first = await store.openMaildrop('alice');
      const uids = first.messages.map((m) => m.uid);
      await first.release();
      for (const uid of uids) assert.match(uid, /^[\x21-\x7e]{1,70}$/);
      assert.equal(new Set(uids).size, uids.length);

      const second = await store.openMaildrop('alice');
      assert.deepEqual(second.messages.map((m) => m.uid), uids);
      await second.release();
    });

    it('keeps UIDLs after other messages are deleted and never reuses one', async () => {
      for (let i = 0; i < 4; i++) await store.deliver('alice', message(i));
      let drop = await store.openMaildrop('alice');
      const uids = drop.messages.map((m) => m.uid);
      await drop.commit({ deleted: new Set([1]), retrieved: new Set() });

      drop = await store.openMaildrop('alice');
      assert.deepEqual(drop.messages.map((m) => m.uid), [uids[0], uids[2], uids[3]]);
      assert.deepEqual(await readAll(drop), [message(0), message(2), message(3)].map(toWire));
      // Delete the newest: its UIDL must not come back for the next delivery.
      await drop.commit({ deleted: new Set([2]), retrieved: new Set() });

      await store.deliver('alice', message(4));
      drop = await store.openMaildrop('alice');
      try {
        const now = drop.messages.map((m) => m.uid);
        assert.deepEqual(now.slice(0, 2), [uids[0], uids[2]]);
        assert.equal(now.length, 3);
        assert.ok(!uids.includes(now[2] as string), 'UIDL of a deleted message was reused');
        assert.deepEqual(await readAll(drop), [message(0), message(2), message(4)].map(toWire));
      } finally {
        await drop.release();
      }
    });

    it('commit deletes exactly the messages marked deleted', async () => {
      for (let i = 0; i < 6; i++) await store.deliver('alice', message(i));
      let drop = await store.openMaildrop('alice');
      const uids = drop.messages.map((m) => m.uid);
      await drop.commit({ deleted: new Set([0, 3, 5]), retrieved: new Set([1, 3]) });
      drop = await store.openMaildrop('alice');
      try {
        assert.deepEqual(drop.messages.map((m) => m.uid), [uids[1], uids[2], uids[4]]);
        assert.deepEqual(await readAll(drop), [message(1), message(2), message(4)].map(toWire));
      } finally {
        await drop.release();
      }
    });

    it('release changes nothing', async () => {
      for (let i = 0; i < 3; i++) await store.deliver('alice', message(i));
      let drop = await store.openMaildrop('alice');
      const before = drop.messages;
      await drop.release();
      drop = await store.openMaildrop('alice');
      assert.deepEqual(drop.messages, before);
      assert.deepEqual(await readAll(drop), [0, 1, 2].map((i) => toWire(message(i))));
      await drop.commit({ deleted: new Set(), retrieved: new Set() });
      drop = await store.openMaildrop('alice');
      assert.deepEqual(drop.messages, before);
      await drop.release();
    });

    it('refuses a second session while the maildrop is open', async () => {
      await store.deliver('alice', message(0));
      const drop = await store.openMaildrop('alice');
      await assert.rejects(store.openMaildrop('alice'), MaildropLockedError);
      // Other users are not affected.
      const other = await store.openMaildrop('bob');
      await other.release();
      await drop.release();

      const again = await store.openMaildrop('alice');
      await assert.rejects(store.openMaildrop('alice'), MaildropLockedError);
      await again.commit({ deleted: new Set(), retrieved: new Set([0]) });
      const third = await store.openMaildrop('alice');
      assert.equal(third.messages.length, 1);
      await third.release();
    });

    it('keeps mail delivered during a session out of its snapshot', async () => {
      await store.deliver('alice', message(0));
      let drop = await store.openMaildrop('alice');
      await store.deliver('alice', message(1));
      assert.equal(drop.messages.length, 1);
      await drop.commit({ deleted: new Set([0]), retrieved: new Set([0]) });
      drop = await store.openMaildrop('alice');
      try {
        assert.deepEqual(await readAll(drop), [toWire(message(1))]);
      } finally {
        await drop.release();
      }
    });

    it('expires retrieved messages once old enough and never unretrieved ones', async () => {
      const day = 86_400_000;
      const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
      const at = (days: number): Date => new Date(t0.getTime() + days * day);
      await store.deliver('alice', message(0));
      await store.deliver('alice', message(1));
      let drop = await store.openMaildrop('alice', { now: t0 });
      await drop.commit({ deleted: new Set(), retrieved: new Set([0]) });

      drop = await store.openMaildrop('alice', { now: at(400) });
      assert.equal(drop.messages.length, 2, 'without EXPIRE nothing is removed');
      await drop.release();
      drop = await store.openMaildrop('alice', { now: at(2), expireDays: 3 });
      assert.equal(drop.messages.length, 2, 'not old enough yet');
      await drop.release();
      drop = await store.openMaildrop('alice', { now: at(3), expireDays: 3 });
      assert.deepEqual(await readAll(drop), [toWire(message(1))]);
      await drop.release();
      drop = await store.openMaildrop('alice', { now: at(400), expireDays: 0 });
      assert.deepEqual(await readAll(drop), [toWire(message(1))], 'unretrieved mail never expires');
      // Retrieve it now; with EXPIRE 0 it goes at the next login.
      await drop.commit({ deleted: new Set(), retrieved: new Set([0]) });
      drop = await store.openMaildrop('alice', { now: at(400), expireDays: 0 });
      assert.equal(drop.messages.length, 0);
      await drop.release();
    });

    it('remembers the last login', async () => {
      let drop = await store.openMaildrop('alice');
      assert.equal(drop.lastLoginAt, null);
      const first = new Date('2024-05-01T10:00:00.123Z');
      await drop.recordLogin(first);
      assert.equal(drop.lastLoginAt, null, 'the session keeps the value read at open');
      await drop.release();

      drop = await store.openMaildrop('alice');
      assert.equal(drop.lastLoginAt?.getTime(), first.getTime());
      const second = new Date('2024-05-02T11:00:00.456Z');
      await drop.recordLogin(second, { durable: false });
      await drop.commit({ deleted: new Set(), retrieved: new Set() });

      drop = await store.openMaildrop('alice');
      assert.equal(drop.lastLoginAt?.getTime(), second.getTime());
      assert.equal((await store.lastLogin('alice'))?.getTime(), second.getTime(), 'read without the lock, while a session holds it');
      await drop.release();
      assert.equal((await store.lastLogin('alice'))?.getTime(), second.getTime());
      assert.equal(await store.lastLogin('nobody-here'), null);
    });

    it('stores concurrent deliveries with distinct UIDLs', async () => {
      const count = 50;
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) => store.deliver('alice', i % 2 === 0 ? message(i) : Readable.from([message(i)]))),
      );
      assert.equal(new Set(results.map((r) => r.id)).size, count);
      const drop = await store.openMaildrop('alice');
      try {
        assert.equal(drop.messages.length, count);
        assert.equal(new Set(drop.messages.map((m) => m.uid)).size, count);
        const contents = (await readAll(drop)).map((b) => b.toString('latin1')).sort();
        const expected = Array.from({ length: count }, (_, i) => toWire(message(i)).toString('latin1')).sort();
        assert.deepEqual(contents, expected);
      } finally {
        await drop.release();
      }
    });

    it('rejects a delivery whose input fails midway and keeps nothing of it', async () => {
      await store.deliver('alice', message(0));
      const input = new Readable({ read() {} });
      input.push(bytes('Subject: doomed\r\n\r\n'));
      input.push(Buffer.alloc(100_000, 0x61));
      setImmediate(() => input.destroy(new Error('connection lost')));
      await assert.rejects(store.deliver('alice', input), StoreError);
      const drop = await store.openMaildrop('alice');
      try {
        assert.deepEqual(await readAll(drop), [toWire(message(0))]);
      } finally {
        await drop.release();
      }
    });

    it('counts stored octets in usage, trace fields included, and frees them on deletion', async () => {
      assert.equal(await store.usage('alice'), 0);
      const first = bytes('Subject: one\n\n12345\n');
      const second = bytes('Subject: two\n\nabc\n');
      const trace = 'Return-Path: <a@example.org>\nDelivered-To: alice@example.org\n';
      await store.deliver('alice', first);
      assert.equal(await store.usage('alice'), first.length);
      const result = await store.deliver('alice', Readable.from([second]), { trace });
      assert.equal(result.size, wireSize(Buffer.concat([bytes(trace), second])));
      assert.equal(await store.usage('alice'), first.length + trace.length + second.length);
      assert.equal(await store.usage('bob'), 0, 'other maildrops are separate');
      const drop = await store.openMaildrop('alice');
      assert.deepEqual(toWire(await readMessage(drop, 1)), toWire(Buffer.concat([bytes(trace), second])), 'trace fields come first');
      await drop.commit({ deleted: new Set([0]), retrieved: new Set([1]) });
      assert.equal(await store.usage('alice'), trace.length + second.length);
    });

    it('RFC 6856: gives a message with raw UTF-8 in its header an ASCII size, and sends exactly that many octets in the ASCII form, RETR and TOP', async () => {
      const trace = 'Return-Path: <a@example.org>\nDelivered-To: alice@example.org\n';
      const utf8 = Buffer.from('Subject: caf\u00e9\nFrom: Jos\u00e9 <j@example.org>\n\nbody stays \u00e9\n.dot line\n', 'utf8');
      const samples: { label: string; content: Buffer; trace?: string; downgraded: boolean }[] = [
        { label: 'ASCII', content: bytes('Subject: plain\n\nbody\n'), trace, downgraded: false },
        { label: 'UTF-8 header with trace fields', content: utf8, trace, downgraded: true },
        { label: 'UTF-8 header, no trace', content: utf8, downgraded: true },
        { label: 'not UTF-8 (notice)', content: Buffer.from('Subject: caf\xe9\n\nbody\n', 'latin1'), downgraded: true },
        { label: 'UTF-8 header, large body', content: Buffer.concat([Buffer.from('Subject: gro\u00df\n', 'utf8'), largeMessage(400_000)]), trace, downgraded: true },
        { label: 'header past 64 KiB (notice)', content: Buffer.from(`Subject: \u00e9${'x'.repeat(70_000)}\n\nbody\n`, 'utf8'), downgraded: true },
      ];
      for (const m of samples) await store.deliver('alice', Readable.from(chunked(m.content, 50_000)), m.trace === undefined ? {} : { trace: m.trace });
      const drop = await store.openMaildrop('alice');
      try {
        for (const [i, m] of samples.entries()) {
          const info = drop.messages[i];
          const stored = toWire(Buffer.concat([bytes(m.trace ?? ''), m.content]));
          assert.equal(info?.size, stored.length, `size of ${m.label}`);
          const ascii = await readWire(drop, i, { ascii: true });
          if (!m.downgraded) {
            assert.equal(info?.asciiSize, undefined, `${m.label} is sent as stored`);
            assert.ok(ascii.equals(stored), `${m.label} as stored`);
            continue;
          }
          assert.equal(info?.asciiSize, ascii.length, `ASCII size of ${m.label} is what the ASCII form sends`);
          const header = ascii.subarray(0, ascii.indexOf('\r\n\r\n'));
          assert.ok(header.every((c) => c < 0x80), `the header of ${m.label} is ASCII`);
          if (m.trace !== undefined) assert.ok(ascii.toString('latin1').startsWith('Return-Path: <a@example.org>\r\nDelivered-To: alice@example.org\r\n'), `trace fields first in ${m.label}`);
          // TOP of the ASCII form is the start of the ASCII form.
          const top = await readWire(drop, i, { ascii: true, bodyLines: 0 });
          assert.ok(ascii.subarray(0, top.length).equals(top), `TOP of ${m.label} is the start of its ASCII form`);
          assert.ok((await readWire(drop, i, {})).equals(stored), `${m.label} as stored for a UTF8 client`);
        }
      } finally {
        await drop.release();
      }
    });

    it('refuses a delivery that would pass the quota limit and stores nothing of it', async () => {
      const m = bytes('Subject: q\n\n0123456789\n');
      await store.deliver('alice', m, { quotaLimit: m.length * 2 });
      await store.deliver('alice', m, { quotaLimit: m.length * 2 });
      await assert.rejects(store.deliver('alice', Readable.from([m]), { quotaLimit: m.length * 2 }), QuotaExceededError);
      assert.equal(await store.usage('alice'), m.length * 2);
      const drop = await store.openMaildrop('alice');
      assert.equal(drop.messages.length, 2);
      await drop.release();
      await store.deliver('alice', m, { quotaLimit: m.length * 3 });
    });

    it('stores one body for many copies and gives each copy its own trace fields', async () => {
      const body = largeMessage(600_000);
      const users = ['u1', 'u2', 'u3'];
      for (const u of users) await store.deliver(u, Readable.from(chunked(body, 65_536)), { trace: `Delivered-To: ${u}@example.org\r\n` });
      for (const u of users) {
        const drop = await store.openMaildrop(u);
        try {
          const stored = await readMessage(drop, 0);
          assert.ok(toWire(stored).equals(toWire(Buffer.concat([bytes(`Delivered-To: ${u}@example.org\r\n`), body]))), `copy of ${u}`);
        } finally {
          await drop.release();
        }
      }
    });

    it('gives a view of the maildrop while a session holds the lock, mail delivered meanwhile included', async () => {
      await store.deliver('alice', message(1));
      await store.deliver('alice', message(2));
      const drop = await store.openMaildrop('alice');
      let third: string;
      try {
        await store.deliver('alice', message(3));
        const view = await store.view('alice');
        assert.equal(view.user, 'alice');
        assert.deepEqual(view.messages.slice(0, 2).map((m) => m.id), drop.messages.map((m) => m.uid));
        assert.deepEqual(view.messages.map((m) => m.size), [1, 2, 3].map((n) => wireSize(message(n))));
        assert.deepEqual(view.messages.map((m) => m.seen), [false, false, false]);
        third = (view.messages[2] as { id: string }).id;
        assert.match(third, /^[\x21-\x7e]{1,70}$/);
        assert.ok(!drop.messages.some((m) => m.uid === third), 'a message the session does not have is not named like one it has');
        for (const n of [1, 2, 3]) assert.ok(toWire(await readView(view, n - 1)).equals(message(n)), `content of message ${n}`);
        assert.equal(view.indexOf(third), 2);
        assert.equal(view.indexOf('no-such-id'), -1);
        // The session is untouched: it still holds the lock and reads its own snapshot.
        await assert.rejects(store.openMaildrop('alice'), MaildropLockedError);
        assert.ok(toWire(await readMessage(drop, 0)).equals(message(1)));
        await drop.commit({ deleted: new Set(), retrieved: new Set([0]) });
      } catch (err) {
        await drop.release();
        throw err;
      }
      const after = await store.view('alice');
      assert.equal(after.messages.length, 3);
      assert.deepEqual(after.messages.map((m) => m.seen), [true, false, false]);
      // The name the view gave before the message had its UIDL keeps finding it.
      assert.equal(after.indexOf(third), 2);
      const next = await store.openMaildrop('alice');
      try {
        assert.deepEqual(next.messages.map((m) => m.uid), after.messages.map((m) => m.id));
      } finally {
        await next.release();
      }
    });

    it('takes views without ever making a login fail or wait for long', async () => {
      for (let round = 0; round < 20; round++) {
        // New mail each round: a view that finds unnumbered mail is the one that could get in the way.
        await store.deliver('alice', message(round));
        const [view, drop] = await Promise.all([store.view('alice'), store.openMaildrop('alice', { lastLogin: false })]);
        try {
          assert.equal(drop.messages.length, round + 1, `round ${round}`);
          assert.equal(view.messages.length, round + 1, `round ${round}`);
        } finally {
          await drop.release();
        }
        // And the view left nothing locked behind.
        await (await store.openMaildrop('alice', { lastLogin: false })).release();
      }
      assert.deepEqual((await store.view('nobody')).messages, []);
    });

    it('answers MessageGoneError for a message deleted under a view, and reads the rest', async () => {
      await store.deliver('alice', message(1));
      await store.deliver('alice', message(2));
      const view = await store.view('alice');
      const drop = await store.openMaildrop('alice');
      await drop.commit({ deleted: new Set([0]), retrieved: new Set() });
      await assert.rejects(view.openMessage(0), MessageGoneError);
      assert.ok(toWire(await readView(view, 1)).equals(message(2)));
      const now = await store.view('alice');
      assert.deepEqual(now.messages.map((m) => m.id), [view.messages[1]?.id]);
      assert.equal(now.indexOf((view.messages[0] as { id: string }).id), -1);
    });

    it('rejects bad message numbers and use after the session ends', async () => {
      await store.deliver('alice', message(0));
      const drop = await store.openMaildrop('alice');
      await assert.rejects(drop.openMessage(1), RangeError);
      await assert.rejects(drop.openMessage(-1), RangeError);
      await drop.release();
      await drop.release();
      await assert.rejects(drop.openMessage(0));
      await assert.rejects(drop.commit({ deleted: new Set([0]), retrieved: new Set() }));
      await assert.rejects(drop.recordLogin(new Date()));

      const next = await store.openMaildrop('alice');
      assert.equal(next.messages.length, 1);
      await next.commit({ deleted: new Set(), retrieved: new Set() });
      await assert.rejects(next.openMessage(0));
      await next.release();
      await (await store.openMaildrop('alice')).release();
    });
  });
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function message(n: number): Buffer {
  return bytes(`Message-ID: <${n}@contract.test>\r\nSubject: number ${n}\r\n\r\nThis is message ${n}.\r\n`);
}

function largeMessage(size: number): Buffer {
  const lines: string[] = ['Subject: large', ''];
  let total = 0;
  for (let i = 0; total < size; i++) {
    // Alternate line ends so CRLF pairs land on chunk boundaries somewhere.
    const line = `${i % 7 === 0 ? '.' : ''}line ${i} ${'x'.repeat(i % 90)}${i % 3 === 0 ? '\n' : '\r\n'}`;
    lines.push(line);
    total += line.length;
  }
  return bytes(lines.slice(0, 2).join('\r\n') + '\r\n' + lines.slice(2).join(''));
}

function chunked(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

/** The wire form before dot-stuffing: bare LF becomes CRLF, a last line gets its CRLF. */
function toWire(buf: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i] as number;
    if (c === 0x0a && (i === 0 || buf[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(c);
  }
  if (buf.length > 0 && buf[buf.length - 1] !== 0x0a) out.push(0x0d, 0x0a);
  return Buffer.from(out);
}

async function readMessage(drop: Maildrop, index: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await drop.openMessage(index)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function readView(view: MaildropView, index: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await view.openMessage(index)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** What openWire sends for a message: the body of a RETR or TOP response as it goes out. */
export async function framedBytes(drop: Maildrop, index: number, options: WireOptions = {}): Promise<Buffer> {
  const wire = await drop.openWire(index, options);
  const parts: Buffer[] = [];
  try {
    for await (const chunk of wire.chunks) {
      parts.push(Buffer.from(chunk.bytes));
      chunk.release?.();
    }
  } finally {
    wire.close();
  }
  return Buffer.concat(parts);
}

/** What openWire sends, dot-stuffing and the terminating line undone: the octets LIST counts. */
async function readWire(drop: Maildrop, index: number, options: WireOptions): Promise<Buffer> {
  const text = (await framedBytes(drop, index, options)).toString('latin1');
  assert.ok(text.endsWith('.\r\n'), 'a multi-line response ends with its terminating line');
  return Buffer.from(text.slice(0, -3).replace(/(^|\r\n)\./g, '$1'), 'latin1');
}

async function readAll(drop: Maildrop): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < drop.messages.length; i++) out.push(toWire(await readMessage(drop, i)));
  return out;
}
