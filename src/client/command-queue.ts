/**
 * Orders commands on one POP3 connection. Responses come back in the order commands were
 * sent, so each command reads its response only after the previous one has been read to
 * its end (for RETR and TOP, after the body stream finished). What pipelining changes is
 * only when a command is *written*: right away (within a window), or after the previous
 * response is complete.
 *
 * Writes also stay in queue order: a pipelined command queued after a serial one waits
 * for that one to be written, never overtaking it.
 */
export class CommandQueue {
  private readTail: Promise<void> = Promise.resolve();
  private writeTail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly window: number) {}

  /**
   * Runs one command. `write` sends it; `read` reads its status line and whatever follows,
   * and returns the value plus a promise that settles when the response is fully consumed.
   */
  run<T>(pipelined: boolean, write: () => void, read: () => Promise<{ value: T; done: Promise<void> }>): Promise<T> {
    const previousRead = this.readTail;
    const previousWrite = this.writeTail;
    let markRead!: () => void;
    let markWritten!: () => void;
    this.readTail = new Promise<void>((r) => (markRead = r));
    this.writeTail = new Promise<void>((r) => (markWritten = r));
    return (async () => {
      let counted = false;
      let done: Promise<void> = Promise.resolve();
      try {
        try {
          await previousWrite;
          if (pipelined) {
            await this.enterWindow();
            counted = true;
          } else {
            await previousRead;
          }
          write();
        } finally {
          markWritten();
        }
        await previousRead;
        const result = await read();
        done = result.done;
        return result.value;
      } finally {
        void done
          .catch(() => undefined)
          .then(() => {
            if (counted) this.leaveWindow();
            markRead();
          });
      }
    })();
  }

  private async enterWindow(): Promise<void> {
    // Bounded: each pass either takes a slot or waits for one to be released.
    while (this.inFlight >= this.window) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
  }

  private leaveWindow(): void {
    this.inFlight--;
    this.waiters.shift()?.();
  }
}
