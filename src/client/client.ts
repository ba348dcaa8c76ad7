import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decodeBase64 } from '../message/base64.js';
import { parseCapabilities, UNKNOWN_CAPABILITIES, type Capabilities } from './capabilities.js';
import { CommandQueue } from './command-queue.js';
import { openSocket, upgradeSocket, type SocketTarget, type TlsMode, type TlsSettings } from './connect.js';
import {
  Pop3AuthError,
  Pop3CapabilityError,
  Pop3ClientError,
  Pop3InUseError,
  Pop3LoginDelayError,
  Pop3ProtocolError,
  Pop3SaslError,
  Pop3ServerError,
  Pop3StateError,
} from './errors.js';
import { createMechanism, SaslError, type SaslCredentials, type SaslMechanism, type SaslMechanismName } from './sasl/index.js';
import { fields, parseCount, parseServerLine, type ServerLine } from './status-line.js';
import { Wire } from './wire.js';

export interface Pop3ClientOptions {
  readonly host: string;
  /** Defaults to 995 with implicit TLS, 110 otherwise. */
  readonly port?: number;
  /** Defaults to 'tls' (implicit TLS, RFC 8314). */
  readonly tls?: TlsMode;
  readonly tlsOptions?: TlsSettings;
  /**
   * With 'starttls': go on without encryption when the server offers no STLS. Off by
   * default, so that a downgrade by an attacker who strips STLS from CAPA fails loudly.
   */
  readonly allowPlaintext?: boolean;
  /** Limit for each step: connecting, the TLS handshake, and every wait for the server. */
  readonly timeoutMs?: number;
  /** Use RFC 2449 pipelining when the server announces it (default true). */
  readonly pipelining?: boolean;
  /** Commands sent ahead of their responses at most (default 32). */
  readonly pipelineWindow?: number;
  /** Longest server line accepted (default 64 KiB; RFC 2449 allows 512 for status lines). */
  readonly maxLineLength?: number;
  /** Most lines in a LIST, UIDL or CAPA answer (default 10 million). */
  readonly maxListLines?: number;
}

export interface ListEntry {
  readonly number: number;
  /** Octets on the wire (RFC 1939: CRLF line ends, before byte-stuffing). */
  readonly size: number;
}

export interface UidlEntry {
  readonly number: number;
  readonly uid: string;
}

export type ClientState = 'authorization' | 'transaction' | 'closed';

/** RFC 1939 section 7: a msg-id, `<...@...>`, anywhere in the greeting. */
const APOP_TIMESTAMP = /<[^<>\s@]*@[^<>\s]*>/;

/**
 * A POP3 client connection (RFC 1939, 2449, 2595, 5034, 8314). Commands may be called
 * without awaiting the previous one: they are queued, sent ahead when the server
 * announced PIPELINING, and answered in order. RETR and TOP resolve to a stream of the
 * message that must be consumed (or destroyed) for later commands to proceed.
 */
export class Pop3Client {
  private queue: CommandQueue;
  private currentState: ClientState = 'authorization';
  private caps: Capabilities = UNKNOWN_CAPABILITIES;
  private tlsActive: boolean;

  private constructor(
    private readonly wire: Wire,
    private readonly options: Required<Pick<Pop3ClientOptions, 'pipelining' | 'pipelineWindow' | 'maxListLines'>>,
    readonly target: SocketTarget,
    tls: boolean,
    /** The server's greeting text, after +OK. */
    readonly greeting: string,
  ) {
    this.queue = new CommandQueue(options.pipelineWindow);
    this.tlsActive = tls;
  }

  /**
   * Connects, reads the greeting, asks CAPA and, for 'starttls', upgrades with STLS (then
   * asks CAPA again, as RFC 2595 section 4 requires).
   */
  static async connect(options: Pop3ClientOptions): Promise<Pop3Client> {
    const mode = options.tls ?? 'tls';
    const target: SocketTarget = {
      host: options.host,
      port: options.port ?? (mode === 'tls' ? 995 : 110),
      timeoutMs: options.timeoutMs ?? 60_000,
    };
    const tlsSettings = options.tlsOptions ?? {};
    const socket = await openSocket(target, mode === 'tls' ? tlsSettings : undefined);
    const wire = new Wire(socket, { maxLineLength: options.maxLineLength ?? 64 * 1024, timeoutMs: target.timeoutMs });
    try {
      const greeting = parseServerLine(await wire.readLine());
      if (greeting.kind === 'err') throw new Pop3ServerError('greeting', greeting.text, greeting.code);
      if (greeting.kind !== 'ok') throw new Pop3ProtocolError(`not a POP3 greeting: ${printable(greeting)}`);
      const client = new Pop3Client(
        wire,
        {
          pipelining: options.pipelining ?? true,
          pipelineWindow: Math.max(1, options.pipelineWindow ?? 32),
          maxListLines: options.maxListLines ?? 10_000_000,
        },
        target,
        mode === 'tls',
        greeting.text,
      );
      await client.capa();
      if (mode === 'starttls') await client.startTls(tlsSettings, options.allowPlaintext ?? false);
      return client;
    } catch (err) {
      wire.fail();
      throw err;
    }
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The latest CAPA answer (refreshed after STLS and after login). */
  get capabilities(): Capabilities {
    return this.caps;
  }

  /** Whether the connection is encrypted (implicit TLS or after STLS). */
  get secure(): boolean {
    return this.tlsActive;
  }

  /** The APOP timestamp of the greeting, if the server offered one. */
  get apopTimestamp(): string | undefined {
    return APOP_TIMESTAMP.exec(this.greeting)?.[0];
  }

  /**
   * Octets read from the server so far. While a RETR stream is not consumed this stops
   * growing (the socket is paused): memory does not grow with message size.
   */
  get bytesReceived(): number {
    return this.wire.bytesReceived;
  }

  /** Whether commands are sent ahead of responses on this connection. */
  get pipelining(): boolean {
    return this.options.pipelining && this.caps.pipelining && this.currentState === 'transaction';
  }

  /** RFC 2449 CAPA. A server without CAPA (-ERR) leaves the capabilities unknown. */
  async capa(): Promise<Capabilities> {
    const lines = await this.command('CAPA', 'CAPA', false, async (status) => {
      if (status.kind === 'err') return { value: undefined, done: Promise.resolve() };
      return { value: await this.wire.readLines(10_000), done: Promise.resolve() };
    });
    this.caps = lines === undefined ? UNKNOWN_CAPABILITIES : parseCapabilities(lines.map((l: Buffer) => l.toString('latin1')));
    return this.caps;
  }

  /** USER and PASS (RFC 1939 section 7). */
  async login(user: string, password: string): Promise<void> {
    this.requireState('authorization');
    checkArgument(user, 'user name');
    checkArgument(password, 'password', true);
    await this.simple(`USER ${user}`, 'USER', false, true);
    await this.simple(`PASS ${password}`, 'PASS', false, true);
    await this.loggedIn();
  }

  /** APOP (RFC 1939 section 7): MD5 of the greeting's timestamp and the shared secret. */
  async apop(user: string, secret: string): Promise<void> {
    this.requireState('authorization');
    checkArgument(user, 'user name');
    const timestamp = this.apopTimestamp;
    if (timestamp === undefined) throw new Pop3CapabilityError('the server greeting has no APOP timestamp');
    const digest = createHash('md5').update(Buffer.from(timestamp + secret, 'utf8')).digest('hex');
    await this.simple(`APOP ${user} ${digest}`, 'APOP', false, true);
    await this.loggedIn();
  }

  /**
   * RFC 5034 AUTH with a SASL mechanism, by name (with credentials) or as an object. An
   * initial response that would make the command longer than 255 octets is sent after
   * an empty challenge instead (the two-step form long OAuth tokens need).
   */
  async authenticate(mechanism: SaslMechanismName, credentials: Omit<SaslCredentials, 'host' | 'port'>): Promise<void>;
  async authenticate(mechanism: SaslMechanism): Promise<void>;
  async authenticate(mechanism: SaslMechanismName | SaslMechanism, credentials?: Omit<SaslCredentials, 'host' | 'port'>): Promise<void> {
    this.requireState('authorization');
    let mech: SaslMechanism;
    try {
      mech = typeof mechanism === 'string' ? createMechanism(mechanism, { ...(credentials as Omit<SaslCredentials, 'host' | 'port'>), host: this.target.host, port: this.target.port }) : mechanism;
    } catch (err) {
      throw err instanceof SaslError ? new Pop3SaslError(err.message, { cause: err }) : err;
    }
    await this.command(`AUTH ${mech.name}`, 'AUTH', false, async () => ({ value: await this.saslExchange(mech), done: Promise.resolve() }), true);
    await this.loggedIn();
  }

  /** STAT: number of messages and their total size. */
  async stat(): Promise<{ count: number; size: number }> {
    const text = await this.simple('STAT', 'STAT', true);
    const [count, size] = fields(text).map((f) => parseCount(f));
    if (count === undefined || size === undefined) throw this.protocolError(`malformed STAT answer: ${text}`);
    return { count, size };
  }

  /** LIST: the size of every message, or of one. */
  list(): Promise<ListEntry[]>;
  list(message: number): Promise<ListEntry>;
  async list(message?: number): Promise<ListEntry[] | ListEntry> {
    if (message !== undefined) {
      const text = await this.simple(`LIST ${messageNumber(message)}`, 'LIST', true);
      return this.parseListLine(text);
    }
    const lines = await this.listing('LIST');
    return lines.map((line) => this.parseListLine(line.toString('latin1')));
  }

  /** UIDL: the unique id of every message, or of one. */
  uidl(): Promise<UidlEntry[]>;
  uidl(message: number): Promise<UidlEntry>;
  async uidl(message?: number): Promise<UidlEntry[] | UidlEntry> {
    if (message !== undefined) {
      const text = await this.simple(`UIDL ${messageNumber(message)}`, 'UIDL', true);
      return this.parseUidlLine(text);
    }
    const lines = await this.listing('UIDL');
    return lines.map((line) => this.parseUidlLine(line));
  }

  /** RETR: the message as a stream (byte-stuffing removed, CRLF line ends as sent). */
  retr(message: number): Promise<Readable> {
    return this.body(`RETR ${messageNumber(message)}`, 'RETR');
  }

  /** TOP: the header and the first `lines` body lines (0 for the header only). */
  top(message: number, lines: number): Promise<Readable> {
    if (!Number.isSafeInteger(lines) || lines < 0) throw new RangeError('TOP needs a line count >= 0');
    return this.body(`TOP ${messageNumber(message)} ${lines}`, 'TOP');
  }

  async dele(message: number): Promise<void> {
    await this.simple(`DELE ${messageNumber(message)}`, 'DELE', true);
  }

  async rset(): Promise<void> {
    await this.simple('RSET', 'RSET', true);
  }

  async noop(): Promise<void> {
    await this.simple('NOOP', 'NOOP', true);
  }

  /**
   * QUIT. In TRANSACTION state this commits deletions (RFC 1939 UPDATE state): a
   * resolved promise means the server has removed the messages marked with DELE.
   */
  async quit(): Promise<void> {
    if (this.currentState === 'closed') return;
    try {
      await this.simple('QUIT', 'QUIT', false);
    } finally {
      this.currentState = 'closed';
      await this.wire.end();
    }
  }

  /** Drops the connection without QUIT: the server commits nothing (RFC 1939 section 6). */
  close(): void {
    this.currentState = 'closed';
    this.wire.fail();
  }

  private async startTls(settings: TlsSettings, allowPlaintext: boolean): Promise<void> {
    // A server without CAPA may still know STLS; asking costs one line.
    if (!this.caps.stls && this.caps.known) {
      if (allowPlaintext) return;
      throw new Pop3CapabilityError('the server does not offer STLS; refusing to continue without encryption');
    }
    const status = await this.command('STLS', 'STLS', false, async (s) => ({ value: s, done: Promise.resolve() }));
    if (status.kind !== 'ok') {
      if (status.kind === 'err' && allowPlaintext) return;
      throw new Pop3CapabilityError(`STLS refused (${printable(status)}); refusing to continue without encryption`);
    }
    const plain = this.wire.detachForTls();
    const secured = await upgradeSocket(plain, this.target, settings);
    this.wire.attachTls(secured);
    this.tlsActive = true;
    await this.capa();
  }

  private async loggedIn(): Promise<void> {
    this.currentState = 'transaction';
    // RFC 2449 section 5: capabilities may differ after login (per-user LOGIN-DELAY, EXPIRE).
    if (this.caps.known) await this.capa();
  }

  private async saslExchange(mech: SaslMechanism): Promise<void> {
    const initial = mech.initialResponse();
    const encodedInitial = initial === undefined ? undefined : initial.length === 0 ? '=' : initial.toString('base64');
    let pendingInitial: string | undefined;
    const inline = encodedInitial !== undefined && `AUTH ${mech.name} ${encodedInitial}\r\n`.length <= 255;
    if (inline) this.wire.write(`AUTH ${mech.name} ${encodedInitial}\r\n`);
    else {
      pendingInitial = encodedInitial === '=' ? '' : encodedInitial;
      this.wire.write(`AUTH ${mech.name}\r\n`);
    }
    // Every mechanism here finishes in a few rounds; the bound stops a server that
    // challenges forever.
    for (let round = 0; round < 10; round++) {
      const status = parseServerLine(await this.wire.readLine());
      if (status.kind === 'ok') {
        try {
          mech.verifyCompleted();
        } catch (err) {
          // Logged in to a server that could not prove itself: leave without QUIT.
          this.close();
          throw new Pop3SaslError((err as Error).message, { cause: err });
        }
        return;
      }
      if (status.kind === 'err') throw this.serverError('AUTH', status, true);
      if (status.kind !== 'continue') throw this.protocolError(`unexpected answer during AUTH: ${printable(status)}`);
      if (pendingInitial !== undefined) {
        this.wire.write(`${pendingInitial}\r\n`);
        pendingInitial = undefined;
        continue;
      }
      let response: Buffer;
      try {
        response = await mech.respond(challengeBytes(status.data));
      } catch (err) {
        // "*" cancels (RFC 5034); the server answers -ERR, which we read to stay in step.
        this.wire.write('*\r\n');
        await this.wire.readLine();
        throw new Pop3SaslError(err instanceof Error ? err.message : String(err), { cause: err });
      }
      this.wire.write(`${response.toString('base64')}\r\n`);
    }
    throw this.protocolError('AUTH exchange did not end');
  }

  private listing(verb: 'LIST' | 'UIDL'): Promise<Buffer[]> {
    return this.command(verb, verb, true, async (status) => {
      if (status.kind !== 'ok') throw this.unexpected(verb, status);
      return { value: await this.wire.readLines(this.options.maxListLines), done: Promise.resolve() };
    });
  }

  private body(line: string, verb: 'RETR' | 'TOP'): Promise<Readable> {
    return this.command(line, verb, true, async (status) => {
      if (status.kind !== 'ok') throw this.unexpected(verb, status);
      const { stream, done } = this.wire.readBody();
      return { value: stream, done };
    });
  }

  /** A single-line command; returns the text after +OK. */
  private simple(line: string, verb: string, pipelinable: boolean, auth = false): Promise<string> {
    return this.command(line, verb, pipelinable, async (status) => {
      if (status.kind !== 'ok') throw this.unexpected(verb, status, auth);
      return { value: status.text, done: Promise.resolve() };
    });
  }

  /**
   * Queues a command. `handle` gets the status line (for AUTH, it reads everything itself
   * and gets a placeholder) and returns the value and when the response is fully read.
   */
  private command<T>(line: string, verb: string, pipelinable: boolean, handle: (status: ServerLine) => Promise<{ value: T; done: Promise<void> }>, selfFraming = false): Promise<T> {
    if (this.currentState === 'closed' && verb !== 'QUIT') return Promise.reject(new Pop3StateError(`${verb} after the connection was closed`));
    if (pipelinable && verb !== 'CAPA') this.requireState('transaction');
    const pipelined = pipelinable && this.pipelining;
    return this.queue.run(
      pipelined,
      () => {
        if (!selfFraming) this.wire.write(`${line}\r\n`);
      },
      async () => {
        if (selfFraming) return handle({ kind: 'ok', text: '' });
        const status = parseServerLine(await this.wire.readLine());
        if (status.kind === 'other' || status.kind === 'continue') {
          throw this.protocolError(`unexpected answer to ${verb}: ${printable(status)}`);
        }
        return handle(status);
      },
    );
  }

  private requireState(state: ClientState): void {
    if (this.currentState !== state) throw new Pop3StateError(`not allowed in the ${this.currentState} state`);
  }

  private unexpected(verb: string, status: ServerLine, auth = false): Pop3ClientError {
    if (status.kind === 'err') return this.serverError(verb, status, auth);
    return this.protocolError(`unexpected answer to ${verb}: ${printable(status)}`);
  }

  private serverError(verb: string, status: { text: string; code: string | undefined }, auth: boolean): Pop3ServerError {
    if (status.code === 'IN-USE') return new Pop3InUseError(verb, status.text, status.code);
    if (status.code === 'LOGIN-DELAY') return new Pop3LoginDelayError(verb, status.text, status.code, this.caps.loginDelaySeconds);
    if (status.code === 'AUTH' || (auth && status.code === undefined)) return new Pop3AuthError(verb, status.text, status.code);
    return new Pop3ServerError(verb, status.text, status.code);
  }

  /** The connection is out of step with the server after this: it is closed. */
  private protocolError(message: string): Pop3ProtocolError {
    const err = new Pop3ProtocolError(message);
    this.currentState = 'closed';
    this.wire.fail(err);
    return err;
  }

  private parseListLine(text: string): ListEntry {
    // RFC 1939 discourages but allows more after the size; only the first two count.
    const [n, size] = fields(text).map((f) => parseCount(f));
    if (n === undefined || n < 1 || size === undefined) throw this.protocolError(`malformed LIST line: ${printable(text)}`);
    return { number: n, size };
  }

  private parseUidlLine(line: Buffer | string): UidlEntry {
    const text = typeof line === 'string' ? line : line.toString('latin1');
    const m = /^[ \t]*([0-9]{1,15})[ \t]+(.*?)[ \t]*$/.exec(text);
    const uid = m?.[2];
    // RFC 1939: 1 to 70 octets 0x21-0x7E; longer ids and inner spaces are tolerated, control characters are not.
    if (m === null || uid === undefined || uid === '' || uid.length > 512 || /[\x00-\x1f\x7f]/.test(uid)) {
      throw this.protocolError(`malformed UIDL line: ${printable(text)}`);
    }
    return { number: Number(m[1]), uid };
  }
}

function messageNumber(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`message numbers start at 1 (got ${n})`);
  return n;
}

/** Arguments go on one command line: a line break would inject a second command. */
function checkArgument(value: string, what: string, spacesAllowed = false): void {
  if (value === '' || /[\r\n\0]/.test(value) || (!spacesAllowed && /\s/.test(value))) {
    throw new Pop3StateError(`${what} cannot be empty or contain ${spacesAllowed ? 'line breaks' : 'spaces or line breaks'}`);
  }
}

function challengeBytes(data: string): Buffer {
  const bytes = decodeBase64(data);
  if (bytes === null) throw new Pop3SaslError('the server sent a SASL challenge that is not base64');
  return bytes;
}

/** For error messages: a server line made safe to print (and short). */
function printable(line: ServerLine | string): string {
  const text = typeof line === 'string' ? line : line.kind === 'other' ? line.line : line.kind === 'continue' ? `+ ${line.data}` : `${line.kind === 'ok' ? '+OK' : '-ERR'} ${line.text}`;
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}...` : text);
}
