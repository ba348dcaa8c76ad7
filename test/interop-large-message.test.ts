import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addUser, deliverFiles, rssOf } from './support/interop-cli.js';
import { StreamingMultiLineReader } from './support/interop-stream.js';
import { startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { WireClient } from './support/wire-client.js';

const MESSAGE_OCTETS = 50 * 1024 * 1024;
/** A server that held the message in memory would grow by more than the message's 50 MB. */
const MAX_RSS_GROWTH = 30 * 1024 * 1024;
/** The slow reader takes this much, then stops reading for PAUSE_MS. */
const READ_BURST = 64 * 1024;
const PAUSE_MS = 5;
const SAMPLE_EVERY_MS = 50;
/** Upper bound on the whole transfer, so a stuck server fails the test instead of hanging it. */
const TRANSFER_DEADLINE_MS = 120_000;

interface Generated {
  /** sha256 of the message in wire form (CRLF line ends), unstuffed. */
  readonly sha256: string;
  readonly wireOctets: number;
  /** Lines that start with '.', each of which goes out stuffed. */
  readonly dotLines: number;
}

/**
 * Writes a message of about `octets` with LF line ends, 76-character lines of which every
 * seventh starts with '.', and hashes its wire form as it goes: neither is held whole.
 */
async function writeBigMessage(path: string, octets: number): Promise<Generated> {
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';
  let written = 0;
  let wireOctets = 0;
  let dotLines = 0;
  let n = 0;
  let first = true;
  while (written < octets) {
    const lines: string[] = first ? ['Subject: fifty megabytes', 'Content-Type: text/plain', ''] : [];
    first = false;
    for (let k = 0; k < 10_000 && written < octets; k++, n++) {
      const dot = n % 7 === 0;
      const line = `${dot ? '.' : ''}${String(n).padStart(8, '0')} ${alphabet.slice(n % 17)}${alphabet}`.slice(0, 76);
      if (dot) dotLines++;
      lines.push(line);
      written += line.length + 1;
    }
    const stored = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
    const wire = Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
    hash.update(wire);
    wireOctets += wire.length;
    if (!out.write(stored)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return { sha256: hash.digest('hex'), wireOctets, dotLines };
}

describe('a 50 MB message, read slowly', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess | undefined;
  let generated: Generated;

  before(async () => {
    env = await tempDataDir();
    const file = join(env.dir, 'big.eml');
    [generated] = await Promise.all([writeBigMessage(file, MESSAGE_OCTETS), addUser(env.config, 'alice', 'big-pw')]);
    await deliverFiles(env.config, 'alice', [file]);
    server = await startServerProcess(['--config', env.config]);
  });
  after(async () => {
    await server?.stop();
    await env?.cleanup();
  });

  it('RETR streams it: the server RSS grows by less than 30 MB, and the unstuffed bytes equal the wire form', async (t) => {
    assert.ok(server);
    const pid = server.pid;
    const conn = await WireClient.connect(server.port);
    try {
      assert.match(await conn.line(), /^\+OK /);
      assert.equal(await conn.command('USER alice'), '+OK Send your password');
      assert.equal(await conn.command('PASS big-pw'), `+OK alice's maildrop has 1 message (${generated.wireOctets} octets)`);
      const baseline = await rssOf(pid);

      let peak = baseline;
      let samples = 0;
      const sampler = setInterval(() => {
        void rssOf(pid).then(
          (rss) => {
            samples++;
            peak = Math.max(peak, rss);
          },
          () => undefined,
        );
      }, SAMPLE_EVERY_MS);

      const reader = new StreamingMultiLineReader();
      let sinceBurst = 0;
      try {
        await new Promise<void>((resolve, reject) => {
          const deadline = setTimeout(() => {
            conn.socket.destroy();
            reject(new Error(`transfer not done after ${TRANSFER_DEADLINE_MS} ms (${reader.wireOctets} octets read)`));
          }, TRANSFER_DEADLINE_MS);
          conn.socket.once('close', () => {
            clearTimeout(deadline);
            reject(new Error(`connection closed after ${reader.wireOctets} octets`));
          });
          conn.divert((chunk) => {
            try {
              reader.push(chunk);
            } catch (err) {
              clearTimeout(deadline);
              reject(err as Error);
              return;
            }
            if (reader.done) {
              clearTimeout(deadline);
              resolve();
              return;
            }
            sinceBurst += chunk.length;
            if (sinceBurst >= READ_BURST) {
              sinceBurst = 0;
              conn.socket.pause();
              setTimeout(() => conn.socket.resume(), PAUSE_MS);
            }
          });
          conn.socket.write('RETR 1\r\n');
        });
      } finally {
        clearInterval(sampler);
      }
      peak = Math.max(peak, await rssOf(pid));
      const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
      t.diagnostic(`server RSS after login ${mb(baseline)}, peak during RETR ${mb(peak)} (+${mb(peak - baseline)}), ${samples} samples`);

      assert.equal(reader.status, `+OK ${generated.wireOctets} octets`);
      assert.equal(reader.bodyOctets, generated.wireOctets);
      assert.equal(reader.unstuffedLines, generated.dotLines);
      assert.equal(reader.digest(), generated.sha256);
      // The reader's pauses alone make the transfer last seconds: the samples cover it.
      assert.ok(samples >= 10, `only ${samples} RSS samples`);
      assert.ok(peak - baseline < MAX_RSS_GROWTH, `server RSS grew by ${mb(peak - baseline)} (from ${mb(baseline)} to ${mb(peak)})`);

      conn.divert(() => undefined);
      conn.socket.write('QUIT\r\n');
    } finally {
      conn.socket.destroy();
    }
  });
});
