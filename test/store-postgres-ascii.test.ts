import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MIGRATIONS, migrate } from '../src/store/postgres/migrations.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { wireSize } from '../src/message/wire-size.js';
import { startTestServer } from '../src/testing/index.js';
import { hasProgram, run } from './support/server-process.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';

const skip = postgresUnavailable();

/*
 * RFC 6856 ASCII sizes on PostgreSQL for rows stored before migration 5 kept them: the
 * migration marks them unknown (-1), and the next open of their maildrop works them out,
 * once, from the stored bytes. (The sizes of new deliveries are in the MailStore contract.)
 */
describe('PostgreSQL: ASCII sizes of rows from before migration 5', { skip }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('marks old rows unknown, sizes them at the next open, keeps the sizes and moves the maildrop version once', async () => {
    const store = new PostgresStore({ url: await cluster.createDatabase() });
    try {
      await migrate(store.sql, 4);
      const utf8 = Buffer.from('Subject: caf\u00e9\n\nbody\n', 'utf8');
      const ascii = Buffer.from('Subject: plain\n\nbody\n');
      // Rows as version 4 stored them, written by hand: no ascii_size column yet.
      await store.sql`INSERT INTO maildrops (user_name, uidl_prefix, next_uid, usage, version) VALUES ('old', 'p', 3, ${utf8.length + ascii.length}, 2)`;
      for (const [i, body] of [utf8, ascii].entries()) {
        const hash = createHash('sha256').update(body).digest();
        await store.sql`INSERT INTO chunks (hash, data) VALUES (${hash}, ${body}) ON CONFLICT DO NOTHING`;
        await store.sql`INSERT INTO blobs (hash, size) VALUES (${hash}, ${body.length})`;
        await store.sql`INSERT INTO blob_chunks (blob, seq, chunk) VALUES (${hash}, 0, ${hash})`;
        await store.sql`
          INSERT INTO messages (user_name, uid, uidl, size, stored_size, trace, blob, received_at)
          VALUES ('old', ${i + 1}, ${`p.${i + 1}`}, ${wireSize(body)}, ${body.length}, ${Buffer.alloc(0)}, ${hash}, now())`;
      }
      assert.deepEqual(await migrate(store.sql), MIGRATIONS.filter((m) => m.version >= 5).map((m) => m.version));
      const before = await store.sql<{ ascii_size: string | null }[]>`SELECT ascii_size::text FROM messages ORDER BY uid`;
      assert.deepEqual(
        before.map((r) => r.ascii_size),
        ['-1', '-1'],
      );

      const drop = await store.openMaildrop('old');
      const sizes = drop.messages.map((m) => m.asciiSize);
      await drop.release();
      assert.equal(typeof sizes[0], 'number', 'the UTF-8 header has an ASCII form');
      assert.ok((sizes[0] as number) > wireSize(utf8));
      assert.equal(sizes[1], undefined, 'the ASCII one is sent as stored');

      const rows = await store.sql<{ ascii_size: string | null }[]>`SELECT ascii_size::text FROM messages ORDER BY uid`;
      assert.deepEqual(
        rows.map((r) => r.ascii_size),
        [String(sizes[0]), null],
      );
      const [version] = await store.sql<{ version: string }[]>`SELECT version::text FROM maildrops WHERE user_name = 'old'`;
      assert.equal(version?.version, '3', 'other nodes read the listing again');
      // A second open finds nothing to size: the version stays.
      await (await store.openMaildrop('old')).release();
      const [again] = await store.sql<{ version: string }[]>`SELECT version::text FROM maildrops WHERE user_name = 'old'`;
      assert.equal(again?.version, '3');
    } finally {
      await store.close();
    }
  });

  it("Python's poplib without UTF8 gets the downgraded header from a server on PostgreSQL, as many octets as LIST said, and TOP's header ASCII too", async (t) => {
    if (!(await hasProgram('python3'))) return t.skip('python3 not installed');
    const server = await startTestServer({ users: { alice: 'alice-pw' }, config: { store: { url: await cluster.createDatabase(), migrate: true } } });
    try {
      await server.deliver('alice', 'Subject: Caf\u00e9 cr\u00e8me\nFrom: Jos\u00e9 <jose@example.org>\n\nBody with \u00e9 stays.\n.dotted\n');
      const script = [
        'import poplib, sys',
        'p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)',
        'p.user("alice"); p.pass_("alice-pw")',
        'size = int(p.list(1).split()[2])',
        'resp, lines, octets = p.retr(1)',
        'msg = b"\\r\\n".join(lines) + b"\\r\\n"',
        'head = msg.split(b"\\r\\n\\r\\n")[0]',
        'top = b"\\r\\n".join(p.top(1, 0)[1])',
        'print(size, len(msg), max(head), max(top) if top else 0)',
        'print(head.split(b"\\r\\n")[0].decode("ascii"))',
        'p.quit()',
      ].join('\n');
      const r = await run('python3', ['-c', script, String(server.pop3.port)]);
      assert.equal(r.code, 0, r.stderr.toString());
      const [counts, subject] = r.stdout.toString('utf8').trim().split('\n');
      const [size, got, headMax, topMax] = (counts ?? '').split(' ').map(Number);
      assert.equal(got, size, 'RETR sends the octets LIST announced');
      assert.ok((headMax as number) < 0x80 && (topMax as number) < 0x80, `header bytes ${headMax}, TOP ${topMax}`);
      assert.match(subject ?? '', /^Subject: =\?UTF-8\?B\?/);
    } finally {
      await server.close();
    }
  });
});
