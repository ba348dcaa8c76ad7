import type { Sql } from 'postgres';
import { StoreError } from '../errors.js';

/**
 * The schema, as numbered steps. A step is never edited once released: changes come as a
 * new step. `migrate` applies each missing step in a transaction of its own, so a crash or
 * an error leaves the database at the last complete version.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: 'maildrops, content-addressed chunked bodies, leases',
    sql: `
      -- One row per maildrop: UIDs count up and are never reused; usage is kept at delivery
      -- and commit so that quotas are answered without a scan.
      CREATE TABLE maildrops (
        user_name text PRIMARY KEY,
        uidl_prefix text NOT NULL,
        next_uid bigint NOT NULL DEFAULT 1,
        usage bigint NOT NULL DEFAULT 0,
        last_login timestamptz
      );
      -- Pieces of bodies, keyed by their own SHA-256: a body is written as it streams in,
      -- before its whole hash is known. touched_at protects a chunk that a delivery still
      -- in progress is about to reference from garbage collection.
      CREATE TABLE chunks (
        hash bytea PRIMARY KEY,
        data bytea NOT NULL,
        touched_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL;
      -- A body, keyed by the SHA-256 of all its bytes: one row however many copies refer to it.
      CREATE TABLE blobs (
        hash bytea PRIMARY KEY,
        size bigint NOT NULL,
        touched_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE TABLE blob_chunks (
        blob bytea NOT NULL REFERENCES blobs ON DELETE CASCADE,
        seq integer NOT NULL,
        chunk bytea NOT NULL REFERENCES chunks,
        PRIMARY KEY (blob, seq)
      );
      CREATE INDEX blob_chunks_chunk ON blob_chunks (chunk);
      -- One copy in one maildrop: its own trace fields in front of the shared body. The key
      -- includes what STAT, LIST and UIDL need, so they are one index-only scan.
      CREATE TABLE messages (
        user_name text NOT NULL REFERENCES maildrops,
        uid bigint NOT NULL,
        uidl text NOT NULL,
        size bigint NOT NULL,
        stored_size bigint NOT NULL,
        trace bytea NOT NULL,
        blob bytea NOT NULL REFERENCES blobs,
        received_at timestamptz NOT NULL,
        retrieved_at timestamptz,
        seen boolean NOT NULL DEFAULT false,
        PRIMARY KEY (user_name, uid) INCLUDE (uidl, size),
        UNIQUE (user_name, uidl)
      );
      CREATE INDEX messages_blob ON messages (blob);
      -- The RFC 1939 maildrop lock across nodes: a lease with a fencing token.
      CREATE SEQUENCE lease_tokens;
      CREATE TABLE leases (
        user_name text PRIMARY KEY,
        token bigint NOT NULL,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'users',
    sql: `
      -- The users file's lines as rows: the password as stored ({SCRYPT}..., {PLAIN}...) and
      -- the passwd-file fields after it (uid, gid, gecos, home, shell, extra fields), so
      -- schemes, SCRAM keys and quota fields mean the same as in the file.
      CREATE TABLE users (
        name text PRIMARY KEY,
        password text NOT NULL,
        extra text[] NOT NULL DEFAULT '{}'
      );
    `,
  },
  {
    version: 3,
    name: 'aliases',
    sql: `
      -- The aliases file's entries as rows: the lower-cased key (local@domain, @domain or a
      -- bare local part) and its targets in order.
      CREATE TABLE aliases (
        key text PRIMARY KEY CHECK (key = lower(key) AND key <> ''),
        targets text[] NOT NULL CHECK (cardinality(targets) > 0)
      );
      -- One number that changes with every change to aliases: each node checks it per RCPT
      -- and reads the table again only when it moved (as a stat of the file would tell).
      CREATE TABLE aliases_version (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        version bigint NOT NULL
      );
      INSERT INTO aliases_version (version) VALUES (0);
      CREATE FUNCTION aliases_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE aliases_version SET version = version + 1;
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER aliases_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aliases
        FOR EACH STATEMENT EXECUTE FUNCTION aliases_changed();
    `,
  },
  {
    version: 4,
    name: 'maildrop versions',
    sql: `
      -- Moved by every change to a maildrop's message list (delivery, import, deletion,
      -- expiry) in the statement that makes it: a node keeps the list it read last and, under
      -- the lease, reads it again only when this number moved.
      ALTER TABLE maildrops ADD COLUMN version bigint NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 5,
    name: 'ASCII sizes (RFC 6856)',
    sql: `
      -- The octets of the ASCII form a client that did not send UTF8 gets (its header
      -- downgraded, or a notice carrying the message), worked out at delivery from the copy's
      -- trace fields and the body's start; NULL when the copy is sent as stored. Rows from
      -- before this step say -1, not known yet: the next open of their maildrop works it out.
      ALTER TABLE messages ADD COLUMN ascii_size bigint DEFAULT -1;
      ALTER TABLE messages ALTER COLUMN ascii_size DROP DEFAULT;
      -- STAT, LIST and UIDL stay one index-only scan.
      ALTER TABLE messages DROP CONSTRAINT messages_pkey;
      ALTER TABLE messages ADD PRIMARY KEY (user_name, uid) INCLUDE (uidl, size, ascii_size);
    `,
  },
  {
    version: 6,
    name: 'chunks kept as UTF-8 text',
    sql: `
      -- A chunk that is UTF-8 without NUL (most mail) is kept as text: read back, its octets
      -- come as they are, where bytea comes hex- or base64-encoded by the server and is
      -- decoded by postel, which doubled the CPU of a RETR on both sides. Exactly one of the
      -- two columns is set; chunks written before this step stay bytea.
      ALTER TABLE chunks ALTER COLUMN data DROP NOT NULL;
      ALTER TABLE chunks ADD COLUMN data_text text;
      ALTER TABLE chunks ALTER COLUMN data_text SET STORAGE EXTERNAL;
      ALTER TABLE chunks ADD CONSTRAINT chunks_one_form CHECK ((data IS NULL) <> (data_text IS NULL));
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Any constant: serialises nodes that migrate at the same time (transaction-scoped, pooler-safe). */
const MIGRATION_LOCK = 0x706f7374656c;

/** The version the database is at; 0 for an empty database. */
export async function schemaVersion(sql: Sql): Promise<number> {
  const [row] = await sql<{ exists: boolean }[]>`SELECT to_regclass('postel_schema') IS NOT NULL AS exists`;
  if (!row?.exists) return 0;
  const [version] = await sql<{ v: number | null }[]>`SELECT max(version)::int AS v FROM postel_schema`;
  return version?.v ?? 0;
}

/** Applies the missing migrations (up to `upTo`: tests make older schemas); returns the versions applied. */
export async function migrate(sql: Sql, upTo = SCHEMA_VERSION): Promise<number[]> {
  const applied: number[] = [];
  for (const step of MIGRATIONS) {
    if (step.version > upTo) break;
    const done = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS postel_schema (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
      const [row] = await tx`SELECT 1 FROM postel_schema WHERE version = ${step.version}`;
      if (row) return false;
      await tx.unsafe(step.sql);
      await tx`INSERT INTO postel_schema (version, name) VALUES (${step.version}, ${step.name})`;
      return true;
    });
    if (done) applied.push(step.version);
  }
  return applied;
}

/** Refuses to work on a database postel has not migrated, or one migrated by a newer postel. */
export async function assertSchemaCurrent(sql: Sql): Promise<void> {
  const version = await schemaVersion(sql);
  if (version < SCHEMA_VERSION) {
    throw new StoreError(`the database schema is at version ${version}, this postel needs ${SCHEMA_VERSION}: run \`postel db migrate\` (or set [store] migrate = true)`, false);
  }
  if (version > SCHEMA_VERSION) {
    throw new StoreError(`the database schema is at version ${version}, newer than this postel knows (${SCHEMA_VERSION})`, false);
  }
}
