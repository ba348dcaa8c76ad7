import { createServer, type Socket } from 'node:net';

/*
 * A tiny SMTP (RFC 5321) / LMTP (RFC 2033) server that stores what it receives, for
 * testing forwarding without an MTA. It answers every command it understands with the
 * codes a real server would, can be told to refuse a stage with a given code, and keeps
 * the DATA exactly as received after undoing the dot-stuffing.
 */

export interface SinkTransaction {
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  /** The message as received (CRLF line ends), dot-stuffing undone, without the final ".". */
  readonly data: Buffer;
}

export interface SmtpSinkOptions {
  readonly protocol?: 'smtp' | 'lmtp';
  /** Refuse a stage with this reply, e.g. { rcpt: '550 5.1.1 no such user' }. */
  readonly refuse?: { readonly mail?: string; readonly rcpt?: string; readonly data?: string; readonly endOfData?: string };
}

export interface SmtpSink {
  readonly port: number;
  readonly transactions: SinkTransaction[];
  /** Every command line received. */
  readonly commands: string[];
  stop(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const protocol = options.protocol ?? 'smtp';
  const transactions: SinkTransaction[] = [];
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let inData = false;
    let mailFrom = '';
    let rcptTo: string[] = [];
    const reply = (text: string): void => {
      socket.write(`${text}\r\n`);
    };
    reply(`220 sink.test ${protocol.toUpperCase()} ready`);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // Bounded by the input: each pass consumes a command line or the DATA block.
      for (;;) {
        if (inData) {
          const text = buffer.toString('latin1');
          const end = text.startsWith('.\r\n') ? 0 : text.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const raw = end === 0 ? '' : text.slice(0, end + 2);
          buffer = buffer.subarray(end === 0 ? 3 : end + 5);
          inData = false;
          const data = Buffer.from(raw.replace(/(^|\r\n)\./g, '$1'), 'latin1');
          if (options.refuse?.endOfData) {
            reply(options.refuse.endOfData);
          } else {
            transactions.push({ mailFrom, rcptTo, data });
            // LMTP: one reply per recipient.
            for (let i = 0; i < (protocol === 'lmtp' ? rcptTo.length : 1); i++) reply('250 2.0.0 stored');
          }
          mailFrom = '';
          rcptTo = [];
          continue;
        }
        const lf = buffer.indexOf(0x0a);
        if (lf < 0) return;
        const line = buffer.subarray(0, lf).toString('latin1').replace(/\r$/, '');
        buffer = buffer.subarray(lf + 1);
        commands.push(line);
        const verb = line.split(/[ :]/)[0]?.toUpperCase() ?? '';
        if (verb === 'EHLO' && protocol === 'smtp') reply('250-sink.test\r\n250-8BITMIME\r\n250 SIZE 100000000');
        else if (verb === 'LHLO' && protocol === 'lmtp') reply('250-sink.test\r\n250-8BITMIME\r\n250 PIPELINING');
        else if (verb === 'HELO' || verb === 'EHLO' || verb === 'LHLO') reply('500 5.5.1 wrong greeting for this protocol');
        else if (verb === 'MAIL') {
          if (options.refuse?.mail) reply(options.refuse.mail);
          else {
            mailFrom = /<([^>]*)>/.exec(line)?.[1] ?? '';
            reply('250 2.1.0 ok');
          }
        } else if (verb === 'RCPT') {
          if (options.refuse?.rcpt) reply(options.refuse.rcpt);
          else {
            rcptTo.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          if (options.refuse?.data) reply(options.refuse.data);
          else if (rcptTo.length === 0) reply('554 5.5.1 no valid recipients');
          else {
            inData = true;
            reply('354 go ahead');
          }
        } else if (verb === 'RSET') reply('250 2.0.0 ok');
        else if (verb === 'NOOP') reply('250 2.0.0 ok');
        else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
          return;
        } else reply('502 5.5.2 unknown command');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    transactions,
    commands,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
