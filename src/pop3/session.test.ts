import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileAuthenticator } from '../auth/file-authenticator.js';
import { UsersFile } from '../auth/users-file.js';
import { silentLogger } from '../log/logger.js';
import { MaildirStore } from '../store/maildir/maildir-store.js';
import { defaultPop3Policy } from './policy.js';
import { AuthPolicy } from '../auth/policy.js';
import { Session } from './session.js';
import type { Transport } from './transport.js';

/** An in-memory Transport: the session core runs without any socket. */
class MemoryTransport implements Transport {
  readonly remoteAddress = '192.0.2.1';
  constructor(readonly secure: boolean) {}
  readonly tls = null;
  readonly canStartTls = false;
  closed = false;
  // Octet counts belong to the socket side (connection.ts), not to this in-memory pair.
  readonly bytesIn = 0;
  readonly bytesOut = 0;
  output = '';
  paused = false;
  private readonly watchers: (() => void)[] = [];
  write(data: string | Buffer, flushed?: () => void): boolean {
    this.output += typeof data === 'string' ? data : data.toString('latin1');
    flushed?.();
    for (const watcher of this.watchers.splice(0)) watcher();
    return true;
  }
  /** Resolves at the next write. */
  written(): Promise<void> {
    return new Promise((resolve) => this.watchers.push(resolve));
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  cork(): void {}
  uncork(): void {}
  pauseInput(): void {
    this.paused = true;
  }
  resumeInput(): void {
    this.paused = false;
  }
  startTls(): Promise<void> {
    return Promise.reject(new Error('no TLS in memory'));
  }
  private markEnded!: () => void;
  /** Resolves once the session has closed the connection. */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  end(): void {
    this.closed = true;
    this.markEnded();
  }
  destroy(): void {
    this.closed = true;
    this.markEnded();
  }
}

/** Read through a function so TypeScript does not narrow the state across awaits. */
const stateOf = (session: Session): string => session.state.name;

/** The first `expectLines` lines the session wrote, once it has written them (bounded: 5 s). */
async function settle(_session: Session, transport: MemoryTransport, expectLines: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only got ${JSON.stringify(transport.output)}`)), 5000);
  });
  try {
    for (;;) {
      const lines = transport.output.split('\r\n');
      if (lines.length - 1 >= expectLines) return lines.slice(0, -1);
      await Promise.race([transport.written(), timeout]);
    }
  } finally {
    clearTimeout(timer);
  }
}

describe('Session state machine over an in-memory transport', () => {
  let dir: string;
  let store: MaildirStore;
  let auth: FileAuthenticator;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postel-session-'));
    const users = new UsersFile(join(dir, 'users'));
    await users.add('alice', 'secret', { cost: { ln: 4 } });
    auth = new FileAuthenticator(users);
    store = new MaildirStore({ root: join(dir, 'mail') });
    await store.deliver('alice', Buffer.from('Subject: hi\n\n.dot\n'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const newSession = (secure = true): [Session, MemoryTransport] => {
    const transport = new MemoryTransport(secure);
    const session = new Session(transport, { store, auth, policy: defaultPop3Policy, authPolicy: new AuthPolicy({ windowMs: 60_000, maxFailuresPerIp: 1000, maxUserDelayMs: 0, failureResponseMs: 0 }), logger: silentLogger() });
    return [session, transport];
  };

  it('moves AUTHORIZATION -> TRANSACTION -> UPDATE, fed one byte at a time', async () => {
    const [session, transport] = newSession();
    session.start();
    assert.equal(stateOf(session), 'AUTHORIZATION');
    for (const byte of Buffer.from('USER alice\r\nPASS secret\r\nRETR 1\r\n')) session.receive(Buffer.of(byte));
    const lines = await settle(session, transport, 8);
    assert.equal(stateOf(session), 'TRANSACTION');
    assert.deepEqual(lines.slice(1), ['+OK Send your password', lines[2], '+OK 21 octets', 'Subject: hi', '', '..dot', '.']);
    assert.match(lines[2] ?? '', /^\+OK alice's maildrop has 1 message \(21 octets\)$/);
    session.receive(Buffer.from('QUIT\r\n'));
    await settle(session, transport, 9);
    await transport.ended;
    assert.equal(stateOf(session), 'UPDATE');
  });

  it('a disconnect in TRANSACTION releases the maildrop without committing', async () => {
    const [session, transport] = newSession();
    session.start();
    session.receive(Buffer.from('USER alice\r\nPASS secret\r\nDELE 1\r\n'));
    const lines = await settle(session, transport, 4);
    assert.equal(lines[3], '+OK Message 1 deleted');
    await session.disconnected();
    assert.equal(stateOf(session), 'CLOSED');
    const maildrop = await store.openMaildrop('alice');
    assert.equal(maildrop.messages.length, 1);
    await maildrop.release();
  });

  it('refuses USER and PASS on a connection that is neither TLS nor trusted', async () => {
    const [session, transport] = newSession(false);
    session.start();
    session.receive(Buffer.from('USER alice\r\nPASS secret\r\nCAPA\r\n'));
    const lines = await settle(session, transport, 6);
    assert.equal(lines[1], '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections');
    assert.equal(lines[2], lines[1]);
    assert.ok(!lines.includes('USER'), 'CAPA must not advertise USER here');
    assert.equal(stateOf(session), 'AUTHORIZATION');
  });

  it('pauses input when many pipelined lines are queued', () => {
    const [session, transport] = newSession();
    session.start();
    session.receive(Buffer.from('CAPA\r\n'.repeat(100)));
    assert.equal(transport.paused, true);
  });
});
