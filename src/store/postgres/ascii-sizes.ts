import type { Sql } from 'postgres';
import { asciiSizeOf, HEAD_LIMIT } from '../../message/ascii-form.js';

/*
 * The ASCII size (RFC 6856, src/message/ascii-form.ts) of a copy in PostgreSQL: judged on its
 * trace fields and the start of its body, as RETR sends them, at delivery; and for rows from
 * before migration 5 (ascii_size -1), once, when their maildrop is next opened.
 */

/** A copy's ASCII size from its trace, its body's first piece and the sizes of both. */
export function copyAsciiSize(trace: Buffer, bodyStart: Buffer, bodyOctets: number, wire: number): number | null {
  const stored = trace.length + bodyOctets;
  const wanted = Math.min(HEAD_LIMIT, stored);
  const head = trace.length >= wanted ? trace.subarray(0, wanted) : Buffer.concat([trace, bodyStart.subarray(0, wanted - trace.length)]);
  return asciiSizeOf(head, wire, stored < HEAD_LIMIT);
}

/** Rows looked at per query when sizing older rows. */
const BATCH = 500;

/**
 * Works out the ASCII size of the user's rows that lack one (stored before migration 5), in
 * batches, and moves the maildrop's version so that every node reads its listing again.
 * Called under the maildrop's lease; returns how many rows it sized.
 */
export async function sizeOlderRows(sql: Sql, user: string): Promise<number> {
  let sized = 0;
  for (;;) {
    // The body's first HEAD_LIMIT octets are all that is needed of it.
    const rows = await sql<{ uid: string; size: string; trace: Buffer; body_size: string; head: string | null }[]>`
      SELECT m.uid::text, m.size::text, m.trace, b.size::text AS body_size, encode(substring(coalesce(c.data, convert_to(c.data_text, 'UTF8')) FROM 1 FOR ${HEAD_LIMIT}), 'base64') AS head
      FROM messages m
      JOIN blobs b ON b.hash = m.blob
      LEFT JOIN blob_chunks bc ON bc.blob = m.blob AND bc.seq = 0
      LEFT JOIN chunks c ON c.hash = bc.chunk
      WHERE m.user_name = ${user} AND m.ascii_size = -1
      ORDER BY m.uid
      LIMIT ${BATCH}`;
    if (rows.length === 0) break;
    const uids = rows.map((r) => r.uid);
    // Sent as text, -2 standing for NULL (sent as stored).
    const sizes = rows.map((r) => String(copyAsciiSize(r.trace, r.head === null ? Buffer.alloc(0) : Buffer.from(r.head, 'base64'), Number(r.body_size), Number(r.size)) ?? -2));
    await sql`
      UPDATE messages m SET ascii_size = nullif(s.ascii, -2)
      FROM unnest(${uids}::bigint[], ${sizes}::bigint[]) AS s(uid, ascii)
      WHERE m.user_name = ${user} AND m.uid = s.uid`;
    sized += rows.length;
  }
  if (sized > 0) await sql`UPDATE maildrops SET version = version + 1 WHERE user_name = ${user}`;
  return sized;
}
