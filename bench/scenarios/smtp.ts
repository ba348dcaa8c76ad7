import type { SmtpResult } from '../load/tasks.js';
import { percentile, withCpu } from '../measure.js';
import type { Scenario, ScenarioResult } from './types.js';

/** smtp_intake: 16 senders, each on its own connection, send 10 KB messages to local users. */
export const smtpIntake: Scenario = {
  name: 'smtp_intake',
  uses: ['smtp'],
  skipReason: (server) => (server.smtp ? undefined : server.name === 'dovecot' ? 'n/a: Dovecot has no SMTP listener' : 'skipped: no SMTP'),
  async run(ctx): Promise<ScenarioResult> {
    const smtp = ctx.server.smtp;
    if (!smtp) throw new Error('no SMTP');
    const { settings, world, pool } = ctx;
    const message = smtpMessage(settings.smtpMessageSize);
    const recipients = world.smtp.map((u) => `${u.user}@localhost`);
    const threads = pool.size;
    const senders = (i: number): number => Math.floor(settings.smtpSenders / threads) + (i < settings.smtpSenders % threads ? 1 : 0);
    const run = (seconds: number): Promise<SmtpResult[]> =>
      pool.all<SmtpResult>((i) => ({ kind: 'smtp', host: smtp.host, port: smtp.port, senders: senders(i), recipients, message, durationMs: seconds * 1000, maxMessages: 1_000_000 }));
    await run(settings.warmupSeconds);
    const { result, cpu, serverCpuSeconds } = await withCpu(ctx.server, () => run(settings.smtpSeconds));
    const latencies = result.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    const errors = result.reduce((n, r) => n + r.errors, 0);
    if (latencies.length === 0) throw new Error(`no message accepted: ${result.find((r) => r.firstError)?.firstError}`);
    return {
      metrics: [
        { scenario: 'smtp_intake', metric: 'messages/s', unit: '/s', value: latencies.length / cpu.wallSeconds },
        { scenario: 'smtp_intake', metric: 'p50 message', unit: 'ms', value: percentile(latencies, 50) },
        { scenario: 'smtp_intake', metric: 'p99 message', unit: 'ms', value: percentile(latencies, 99) },
        { scenario: 'smtp_intake', metric: 'server CPU per message', unit: 'ms', value: (1000 * serverCpuSeconds) / latencies.length },
      ],
      cpu,
      details: { messages: latencies.length, errors, firstError: result.find((r) => r.firstError)?.firstError ?? null },
    };
  },
};

/** A 10 KB message with CRLF line ends, as it goes over the wire inside DATA. */
function smtpMessage(size: number): Buffer {
  const head = 'From: <bench@localhost>\r\nTo: <reader@localhost>\r\nSubject: intake benchmark\r\nMessage-ID: <intake@bench.localhost>\r\n\r\n';
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n';
  let body = '';
  while (head.length + body.length < size) body += line;
  return Buffer.from(head + body, 'latin1');
}
