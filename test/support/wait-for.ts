/**
 * Polls `probe` until it returns a value other than undefined (or false), bounded by
 * `timeoutMs`: for effects another process makes (a log line, a file) that nothing can be
 * subscribed to. Where an event exists (a socket closing, a child exiting), await it instead.
 */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
