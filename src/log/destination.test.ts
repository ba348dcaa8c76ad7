import assert from 'node:assert/strict';
import fs, { closeSync, openSync, readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { LogDestination, prettyLine } from './destination.js';

const flushed = (d: LogDestination): Promise<void> => new Promise((r) => d.flush(() => r()));

describe('LogDestination', () => {
  it('writes JSON lines in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postel-log-'));
    const fd = openSync(join(dir, 'log'), 'w');
    const destination = new LogDestination({ fd });
    const logger = pino({ base: null }, destination);
    for (let i = 0; i < 100; i++) logger.info({ i }, 'line');
    await flushed(destination);
    closeSync(fd);
    const lines = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number });
    assert.deepEqual(lines.map((l) => l.i), Array.from({ length: 100 }, (_, i) => i));
    await rm(dir, { recursive: true });
  });

  it('sends the lines of one turn of the event loop in one write, and a later turn\'s in another', async () => {
    const fd = openSync('/dev/null', 'w');
    const original = fs.write;
    let writes = 0;
    // Counting the destination's writes: it imports node:fs's write, which this swaps.
    fs.write = ((...args: Parameters<typeof original>) => {
      writes++;
      return (original as (...a: unknown[]) => void)(...args);
    }) as typeof original;
    syncBuiltinESMExports();
    try {
      const destination = new LogDestination({ fd });
      for (let i = 0; i < 50; i++) destination.write(`{"i":${i}}\n`);
      await flushed(destination);
      assert.equal(writes, 1);
      await new Promise((r) => setImmediate(r));
      destination.write('{"i":50}\n');
      await flushed(destination);
      assert.equal(writes, 2);
    } finally {
      fs.write = original;
      syncBuiltinESMExports();
      closeSync(fd);
    }
  });

  it('on a full disk (/dev/full) drops lines, says so once, and never throws or blocks', async () => {
    const fd = openSync('/dev/full', 'w');
    const notices: string[] = [];
    const destination = new LogDestination({ fd, notice: (l) => notices.push(l) });
    const logger = pino({}, destination);
    for (let i = 0; i < 50; i++) {
      logger.error({ i }, 'will not fit');
      await new Promise((r) => setImmediate(r));
    }
    await flushed(destination);
    closeSync(fd);
    assert.equal(notices.length, 1);
    assert.match(notices[0] as string, /log output failing \(ENOSPC\)/);
    assert.equal(destination.droppedLines, 50);
  });

  it('bounds what it queues', () => {
    const fd = openSync('/dev/null', 'w');
    const destination = new LogDestination({ fd, maxQueuedBytes: 100 });
    let accepted = 0;
    for (let i = 0; i < 10; i++) if (destination.write(`${'x'.repeat(40)}\n`)) accepted++;
    // The first write goes out at once; two more fit the queue while it is in flight.
    assert.ok(accepted <= 3, String(accepted));
    assert.ok(destination.droppedLines >= 7);
    closeSync(fd);
  });

  it('prints a line for a person on a terminal', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5), service: 'postel', msg: 'taking over stale lock', lock: '/data/mail/a b/postel.lock', ageMs: 5 });
    assert.equal(prettyLine(`${line}\n`), '03:04:05 WARN  taking over stale lock  lock="/data/mail/a b/postel.lock" ageMs=5\n');
  });
});
