import type { MetricObjectWithValues, MetricValue } from 'prom-client';

export interface HistorySample {
  readonly time: string;
  /** Series name -> value summed over its labels (counters: the running total). */
  readonly values: Readonly<Record<string, number>>;
}

/** Not a series of its own: postel_auth_attempts_total whose result is not success. */
export const AUTH_FAILURES = 'postel_auth_failures_total';

/** The counters and gauges the console charts. */
export const HISTORY_SERIES = [
  'postel_pop3_connections_total',
  'postel_pop3_active_sessions',
  'postel_pop3_commands_total',
  'postel_pop3_retr_bytes_total',
  'postel_auth_attempts_total',
  'postel_smtp_messages_total',
  'postel_smtp_message_bytes_total',
  AUTH_FAILURES,
] as const;

/**
 * The last `size` one-minute samples of the main series, kept in memory: enough for a
 * console's charts without a Prometheus. The timer does not keep the process alive.
 */
export class MetricsHistory {
  private readonly samples: HistorySample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => Promise<MetricObjectWithValues<MetricValue<string>>[]>,
    private readonly size = 60,
    private readonly intervalMs = 60_000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async sample(now = new Date()): Promise<HistorySample> {
    const wanted = new Set<string>(HISTORY_SERIES);
    const values: Record<string, number> = {};
    for (const metric of await this.read()) {
      if (metric.name === 'postel_auth_attempts_total') values[AUTH_FAILURES] = metric.values.reduce((sum, v) => (v.labels.result === 'success' ? sum : sum + v.value), 0);
      if (!wanted.has(metric.name)) continue;
      values[metric.name] = metric.values.reduce((sum, v) => sum + v.value, 0);
    }
    const sample = { time: now.toISOString(), values };
    this.samples.push(sample);
    if (this.samples.length > this.size) this.samples.splice(0, this.samples.length - this.size);
    return sample;
  }

  list(): readonly HistorySample[] {
    return this.samples;
  }
}
