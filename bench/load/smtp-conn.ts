import { connect, type Socket } from 'node:net';

export interface SmtpReply {
  readonly code: number;
  readonly text: string;
}

/**
 * A minimal SMTP client for load generation: one command at a time, replies read up to
 * their last line ("NNN " after any "NNN-" continuation lines).
 */
export class SmtpConn {
  private buffer = '';
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => this.onData(text));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static async open(host: string, port: number): Promise<SmtpConn> {
    const conn = new SmtpConn(connect({ host, port, noDelay: true }));
    const greeting = await conn.expect();
    if (greeting.code !== 220) {
      conn.socket.destroy();
      throw new Error(`SMTP greeting ${greeting.code} ${greeting.text}`);
    }
    return conn;
  }

  async send(line: string, want: number): Promise<SmtpReply> {
    const reply = this.expect();
    this.socket.write(`${line}\r\n`);
    const r = await reply;
    if (r.code !== want) throw new Error(`${line.split(' ')[0]}: ${r.code} ${r.text}`);
    return r;
  }

  /** DATA with an already CRLF-terminated, dot-stuffed body; resolves on the final 250. */
  async data(body: Buffer): Promise<void> {
    await this.send('DATA', 354);
    const reply = this.expect();
    this.socket.write(body);
    this.socket.write('.\r\n');
    const r = await reply;
    if (r.code !== 250) throw new Error(`end of DATA: ${r.code} ${r.text}`);
  }

  async quit(): Promise<void> {
    try {
      await this.send('QUIT', 221);
    } finally {
      this.socket.end();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private expect(): Promise<SmtpReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.drain();
    });
  }

  private onData(text: string): void {
    this.buffer += text;
    this.drain();
  }

  private drain(): void {
    if (!this.waiter) return;
    let start = 0;
    for (;;) {
      const eol = this.buffer.indexOf('\r\n', start);
      if (eol < 0) return;
      const line = this.buffer.slice(start, eol);
      start = eol + 2;
      if (line.length < 4 || line[3] !== '-') {
        this.buffer = this.buffer.slice(start);
        const w = this.waiter;
        this.waiter = null;
        w.resolve({ code: Number(line.slice(0, 3)), text: line.slice(4) });
        return;
      }
    }
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }
}
