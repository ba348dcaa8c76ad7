import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { asciiSizeOf, headerEnd, HEAD_LIMIT } from '../../message/ascii-form.js';

/*
 * The size of a Maildir message's ASCII form (src/message/ascii-form.ts), worked out from
 * the file when the snapshot first indexes it.
 */

/** Read into with blocking calls only, one file at a time: one buffer serves them all. */
const headBuffer = Buffer.alloc(HEAD_LIMIT);

/**
 * The first read of a file: most headers end within it, and then the body is not read (a
 * first open of a maildrop of 50 KB messages read every body whole, as much as RETRing them
 * all). Only a header that does not end here is read on, up to HEAD_LIMIT.
 */
const HEAD_FIRST = 8 * 1024;

/** The size recorded in the index (null: sent as stored); undefined when the file is gone. */
export function asciiSizeOfFile(path: string, wire: number): number | null | undefined {
  return inspectFile(path, () => wire)?.asciiSize;
}

/**
 * One blocking look at a file: its wire size (from `wireOf`, told whether the file ends with
 * a LF, which a name's W= from Dovecot leaves open) and the size of its ASCII form. A small
 * file is read whole in one call, its last byte included; of a larger one the header and
 * the last byte are read. Undefined when it is gone.
 */
export function inspectFile(path: string, wireOf: (endsWithLf: boolean) => number): { readonly wire: number; readonly asciiSize: number | null } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    let n = readSync(fd, headBuffer, 0, HEAD_FIRST, 0);
    if (n === HEAD_FIRST && headerEnd(headBuffer.subarray(0, n)) === null) n += readSync(fd, headBuffer, n, HEAD_LIMIT - n, n);
    let endsWithLf = n === 0 || headBuffer[n - 1] === 10;
    let complete = n < HEAD_FIRST || (n > HEAD_FIRST && n < HEAD_LIMIT);
    if (!complete) {
      const size = fstatSync(fd).size;
      // Whole only below HEAD_LIMIT, as asciiStoredBytes judges it: a message of exactly
      // HEAD_LIMIT octets that is all header gets the notice from both.
      complete = size <= n && size < HEAD_LIMIT;
      const last = Buffer.alloc(1);
      endsWithLf = complete ? endsWithLf : readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 10;
    }
    const wire = wireOf(endsWithLf);
    return { wire, asciiSize: asciiSizeOf(headBuffer.subarray(0, n), wire, complete) };
  } finally {
    closeSync(fd);
  }
}

