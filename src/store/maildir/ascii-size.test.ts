import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { wireSize } from '../../message/wire-size.js';
import { asciiStoredBytes } from '../../message/ascii-form.js';
import { asciiSizeOfFile, inspectFile } from './ascii-size.js';

async function formOf(stored: Buffer, chunk: number): Promise<Buffer> {
  const chunks = async function* (): AsyncGenerator<Buffer> {
    for (let i = 0; i < stored.length; i += chunk) yield stored.subarray(i, i + chunk);
  };
  const out: Buffer[] = [];
  for await (const c of asciiStoredBytes({ chunks: chunks(), close: () => undefined }, wireSize(stored)).chunks) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

describe('the ASCII form of a stored message', () => {
  const cases: Record<string, Buffer> = {
    ascii: Buffer.from('Subject: plain\n\nbody\n'),
    'UTF-8 subject': Buffer.from('Subject: caf\u00e9\nFrom: Jos\u00e9 <j@example.org>\n\nbody stays \u00e9\n.dot line\n'),
    'CRLF and no final line end': Buffer.from('Subject: caf\u00e9\r\n\r\nno end'),
    'header only': Buffer.from('Subject: caf\u00e9\n'),
    'not UTF-8 (notice)': Buffer.from('Subject: caf\xe9\n\nbody\nlast line open', 'latin1'),
    'large, not UTF-8 (notice)': Buffer.concat([Buffer.from('Subject: \xe9\n\n', 'latin1'), Buffer.alloc(200_000, 'x\n')]),
    'header over the limit (notice)': Buffer.from(`Subject: \u00e9${'x'.repeat(70_000)}\n\nbody\n`),
    'UTF-8 header, body past the first read': Buffer.from(`Subject: caf\u00e9\n\n${'body line\n'.repeat(3000)}`),
    'UTF-8 header longer than the first read': Buffer.from(`Subject: caf\u00e9\nX-Long: ${'y'.repeat(9000)}\n\n${'body line\n'.repeat(3000)}`),
    // Exactly HEAD_LIMIT octets, all header: not whole within the limit (notice), however read.
    'UTF-8 header only, exactly 64 KiB (notice)': Buffer.concat([Buffer.from('Subject: caf\u00e9\nX-Long: '), Buffer.alloc(65_536 - 'Subject: caf\u00e9\nX-Long: '.length - 2, 'y'), Buffer.from('\n')]),
  };
  for (const [name, stored] of Object.entries(cases)) {
    it(`${name}: the size recorded is the size sent, however the store reads`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'postel-ascii-'));
      try {
        await writeFile(join(dir, 'm'), stored);
        const recorded = asciiSizeOfFile(join(dir, 'm'), wireSize(stored));
        for (const chunk of [1, 7, 4096, 1 << 20]) {
          const form = await formOf(stored, chunk);
          if (recorded === null) assert.deepEqual(form, stored, 'sent as stored');
          else {
            assert.equal(wireSize(form), recorded, `chunks of ${chunk}`);
            const header = form.subarray(0, form.indexOf('\r\n\r\n') < 0 ? form.length : form.indexOf('\r\n\r\n'));
            assert.ok(!header.some((b) => b > 0x7f), 'the header is ASCII');
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('the notice carries the original, as RETR would send it, in base64', async () => {
    const stored = cases['not UTF-8 (notice)'] as Buffer;
    const form = (await formOf(stored, 5)).toString('latin1');
    const base64 = form.split('\r\n\r\n')[4]?.split('\r\n--')[0] ?? '';
    assert.deepEqual(Buffer.from(base64.replace(/\r\n/g, ''), 'base64'), Buffer.from('Subject: caf\xe9\r\n\r\nbody\r\nlast line open\r\n', 'latin1'));
    assert.match(form, /^From: Mail System <MAILER-DAEMON>\r\n/);
    assert.ok(form.endsWith('--=_postel_utf8_original--\r\n'));
  });

  it('tells whether a file ends with LF at every size around its reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postel-ascii-'));
    try {
      for (const size of [1, 8191, 8192, 8193, 50_000, 65_535, 65_536, 65_537, 100_000]) {
        for (const last of ['\n', 'x']) {
          const text = Buffer.alloc(size, 'a');
          text.write('Subject: s\n\n', 0);
          text.write(last, size - 1);
          await writeFile(join(dir, 'm'), text.subarray(0, size));
          const seen = inspectFile(join(dir, 'm'), (endsWithLf) => (endsWithLf ? 1 : 0));
          assert.equal(seen?.wire, last === 'x' ? 0 : 1, `${size} bytes ending with ${JSON.stringify(last)}`);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
