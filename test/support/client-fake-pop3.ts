import { createServer, type Server, type Socket } from 'node:net';

/*
 * A scriptable POP3 server for client tests: real enough to fetch from (USER/PASS, CAPA,
 * STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT with deletions committed), and
 * able to misbehave on purpose: quirky formatting, dropping the connection in the middle
 * of a message, refusing logins with response codes, scripted SASL exchanges, silence.
 * It listens on 127.0.0.1 only.
 */

export interface FakeMessage {
  readonly uid: string;
  /** The message as RETR sends it before byte-stuffing: CRLF line ends, last line terminated. */
  readonly content: string | Buffer;
}

export interface FakeConnection {
  /** Sends raw bytes. */
  write(data: string | Buffer): void;
  /** The next command line (without CRLF); rejects if the client goes away. */
  readLine(): Promise<string>;
  /** Closes the connection after what was written. */
  end(): void;
  destroy(): void;
}

export interface FakePop3Options {
  readonly messages?: readonly FakeMessage[];
  /** CAPA lines; null makes CAPA answer -ERR (an RFC 1939-only server). */
  readonly capa?: readonly string[] | null;
  readonly greeting?: string;
  readonly password?: string;
  /** Answer to a correct PASS instead of +OK, e.g. "-ERR [IN-USE] locked". */
  readonly passAnswer?: string;
  /** Line end of every answer (a quirky server may send bare "\n"). */
  readonly eol?: string;
  /** "+ok" instead of "+OK". */
  readonly lowercaseOk?: boolean;
  /** Extra spaces inside STAT, LIST and UIDL answers. */
  readonly extraSpaces?: boolean;
  /** QUIT's answer without its CRLF, then close. */
  readonly quitWithoutCrlf?: boolean;
  /** Close the connection after this many octets of RETR `message`'s body. */
  readonly dropRetr?: { readonly message: number; readonly afterBytes: number };
  /** Answer no RETR until this many RETR commands are waiting (proves pipelining). */
  readonly holdRetrUntil?: number;
  /** Handles a command before the defaults; return true when it was handled. */
  readonly override?: (line: string, conn: FakeConnection) => boolean | Promise<boolean>;
}

export interface FakePop3 {
  readonly port: number;
  /** Every command line received, in order, over all connections. */
  readonly commands: string[];
  /** Commands that arrived while an earlier one was unanswered on a server without PIPELINING. */
  readonly unexpectedPipelining: string[];
  /** UIDs deleted by a committed QUIT. */
  readonly deleted: string[];
  readonly connections: number;
  /** Messages currently in the maildrop. */
  messages(): readonly FakeMessage[];
  stop(): Promise<void>;
}

const DEFAULT_CAPA = ['USER', 'UIDL', 'TOP', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];

export async function startFakePop3(options: FakePop3Options = {}): Promise<FakePop3> {
  let maildrop: FakeMessage[] = [...(options.messages ?? [])];
  const commands: string[] = [];
  const unexpectedPipelining: string[] = [];
  const deleted: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const eol = options.eol ?? '\r\n';
  const ok = options.lowercaseOk ? '+ok' : '+OK';
  const sp = options.extraSpaces ? '   ' : ' ';
  const capa = options.capa === undefined ? DEFAULT_CAPA : options.capa;
  const pipelining = capa?.some((c) => c.toUpperCase() === 'PIPELINING') ?? false;

  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const lines: string[] = [];
    let buffer = '';
    let waiter: (() => void) | undefined;
    let closed = false;
    let busy = false;
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      buffer += text;
      let lf;
      while ((lf = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, lf).replace(/\r$/, '');
        buffer = buffer.slice(lf + 1);
        commands.push(line);
        if (busy && !pipelining) unexpectedPipelining.push(line);
        lines.push(line);
      }
      const w = waiter;
      waiter = undefined;
      w?.();
    });
    socket.on('close', () => {
      closed = true;
      const w = waiter;
      waiter = undefined;
      w?.();
    });
    const conn: FakeConnection = {
      write: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
      async readLine() {
        for (;;) {
          const line = lines.shift();
          if (line !== undefined) return line;
          if (closed) throw new Error('client went away');
          await new Promise<void>((r) => (waiter = r));
        }
      },
      end: () => socket.end(),
      destroy: () => socket.destroy(),
    };
    const send = (text: string): void => conn.write(`${text}${eol}`);
    const multi = (status: string, body: string | Buffer): void => {
      const text = typeof body === 'string' ? body : body.toString('latin1');
      const stuffed = text.replace(/(^|\n)\./g, '$1..');
      const withEol = eol === '\r\n' ? stuffed : stuffed.replace(/\r\n/g, eol);
      conn.write(Buffer.from(`${status}${eol}${withEol}.${eol}`, 'latin1'));
    };
    let released = false;
    const waitingRetrs = (): number => lines.filter((l) => /^RETR /i.test(l)).length;

    void (async () => {
      send(options.greeting ?? `${ok} fake POP3 ready <1896.697170952@fake.example>`);
      let user: string | undefined;
      let authed = false;
      const marked = new Set<number>();
      try {
        for (;;) {
          const line = await conn.readLine();
          busy = true;
          const [verb = '', ...args] = line.split(' ');
          const upper = verb.toUpperCase();
          if (options.override && (await options.override(line, conn))) {
            busy = false;
            continue;
          }
          const message = (): FakeMessage | undefined => {
            const n = Number(args[0]);
            return Number.isInteger(n) && n >= 1 && !marked.has(n) ? maildrop[n - 1] : undefined;
          };
          switch (upper) {
            case 'CAPA':
              if (capa === null) send('-ERR unknown command');
              else multi(`${ok} Capability list follows`, capa.map((c) => `${c}\r\n`).join(''));
              break;
            case 'USER':
              user = args[0];
              send(`${ok} send PASS`);
              break;
            case 'PASS':
              if (user === undefined) send('-ERR USER first');
              else if (args.join(' ') !== (options.password ?? 'secret')) send('-ERR [AUTH] invalid password');
              else if (options.passAnswer !== undefined) send(options.passAnswer);
              else {
                authed = true;
                send(`${ok} logged in`);
              }
              break;
            case 'STAT': {
              const live = maildrop.filter((_, i) => !marked.has(i + 1));
              send(`${ok}${sp}${live.length}${sp}${live.reduce((s, m) => s + Buffer.byteLength(m.content), 0)}`);
              break;
            }
            case 'LIST':
            case 'UIDL': {
              if (!authed) {
                send('-ERR not logged in');
                break;
              }
              const entry = (n: number, m: FakeMessage): string => `${n}${sp}${upper === 'LIST' ? Buffer.byteLength(m.content) : m.uid}`;
              if (args.length > 0) {
                const m = message();
                send(m ? `${ok} ${entry(Number(args[0]), m)}` : '-ERR no such message');
              } else {
                multi(`${ok} listing follows`, maildrop.map((m, i) => (marked.has(i + 1) ? '' : `${entry(i + 1, m)}\r\n`)).join(''));
              }
              break;
            }
            case 'RETR':
            case 'TOP': {
              const m = message();
              if (!authed || !m) {
                send('-ERR no such message');
                break;
              }
              if (upper === 'RETR' && options.holdRetrUntil !== undefined && !released) {
                // Bounded: the client either sends the RETRs ahead or times out.
                while (waitingRetrs() + 1 < options.holdRetrUntil && !closed) await new Promise<void>((r) => (waiter = r));
                released = true;
              }
              let body = typeof m.content === 'string' ? Buffer.from(m.content, 'latin1') : m.content;
              if (upper === 'TOP') {
                const text = body.toString('latin1');
                const headerEnd = text.indexOf('\r\n\r\n');
                body = Buffer.from(headerEnd < 0 ? text : text.slice(0, headerEnd + 4), 'latin1');
              }
              if (upper === 'RETR' && options.dropRetr?.message === Number(args[0])) {
                conn.write(`${ok} ${body.length} octets${eol}`);
                conn.write(body.subarray(0, options.dropRetr.afterBytes));
                conn.destroy();
                return;
              }
              multi(`${ok} ${body.length} octets`, body);
              break;
            }
            case 'DELE': {
              const n = Number(args[0]);
              if (!authed || !message()) send('-ERR no such message');
              else {
                marked.add(n);
                send(`${ok} marked`);
              }
              break;
            }
            case 'RSET':
              marked.clear();
              send(`${ok} reset`);
              break;
            case 'NOOP':
              send(ok);
              break;
            case 'QUIT':
              if (authed) {
                for (const n of marked) deleted.push((maildrop[n - 1] as FakeMessage).uid);
                maildrop = maildrop.filter((_, i) => !marked.has(i + 1));
              }
              if (options.quitWithoutCrlf) conn.write(`${ok} bye`);
              else send(`${ok} bye`);
              conn.end();
              return;
            default:
              send('-ERR unknown command');
          }
          busy = false;
        }
      } catch {
        // The client went away; nothing is committed.
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    commands,
    unexpectedPipelining,
    deleted,
    get connections() {
      return connections;
    },
    messages: () => maildrop,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A message in the wire form RETR sends (CRLF line ends, last line terminated). */
export function wireMessage(lines: readonly string[]): string {
  return lines.map((l) => `${l}\r\n`).join('');
}
