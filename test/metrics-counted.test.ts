import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry, type PrometheusContentType } from 'prom-client';
import { CountedCounter, CountedHistogram } from '../src/metrics/counted.js';

/*
 * The counted series must export exactly what prom-client's own Counter and Histogram
 * export for the same activity: /metrics keeps its names, labels, order and values.
 */

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** The same observations to a prom-client Histogram and a CountedHistogram, each in its own registry. */
function histograms(): { theirs: Registry; ours: Registry; observe(command: string, seconds: number): void } {
  const theirs = new Registry();
  const ours = new Registry();
  const config = { name: 'x_duration_seconds', help: 'how long', labelNames: ['command'] as const, buckets: BUCKETS };
  const reference = new Histogram({ ...config, registers: [theirs] });
  const counted = new CountedHistogram({ ...config, registers: [ours] });
  return {
    theirs,
    ours,
    observe(command, seconds) {
      reference.observe({ command }, seconds);
      counted.child(command).observe(seconds);
    },
  };
}

function counters(): { theirs: Registry; ours: Registry; inc(command: string, result: string, by?: number): void } {
  const theirs = new Registry();
  const ours = new Registry();
  const config = { name: 'x_commands_total', help: 'commands', labelNames: ['command', 'result'] as const };
  const reference = new Counter({ ...config, registers: [theirs] });
  const counted = new CountedCounter({ ...config, registers: [ours] });
  return {
    theirs,
    ours,
    inc(command, result, by = 1) {
      reference.inc({ command, result }, by);
      counted.child(command, result).inc(by);
    },
  };
}

/** What the aggregation and the worker messages carry: name, labels and value of each sample. */
async function samples(registry: Registry): Promise<unknown[]> {
  return (await registry.getMetricsAsJSON()).map((m) => ({ name: m.name, type: m.type, help: m.help, aggregator: m.aggregator, values: m.values.map((v) => ({ labels: v.labels, value: v.value, metricName: (v as { metricName?: string }).metricName })) }));
}

describe('counted metrics (plain numbers, handed to prom-client when scraped)', () => {
  it('a CountedHistogram exports what prom-client\'s Histogram exports for the same observations', async () => {
    const h = histograms();
    // On a bound, between bounds, above the last one, and a second label set after the first.
    for (const [command, seconds] of [['RETR', 0.001], ['RETR', 0.0004], ['RETR', 0.05], ['STAT', 3], ['RETR', 1], ['STAT', 0.01], ['RETR', 7.5]] as const) h.observe(command, seconds);
    assert.equal(await h.ours.metrics(), await h.theirs.metrics());
    assert.deepEqual(await samples(h.ours), await samples(h.theirs));
    assert.match(await h.ours.metrics(), /^x_duration_seconds_bucket\{le="0\.1",command="RETR"\} 3$/m);
    assert.match(await h.ours.metrics(), /^x_duration_seconds_count\{command="STAT"\} 2$/m);
  });

  it('a CountedCounter exports what prom-client\'s Counter exports, and keeps counting after a scrape', async () => {
    const c = counters();
    c.inc('USER', 'ok');
    c.inc('PASS', 'err');
    c.inc('USER', 'ok', 3);
    assert.equal(await c.ours.metrics(), await c.theirs.metrics());
    // What was counted after a scrape is added to what that scrape handed over, not lost or doubled.
    c.inc('PASS', 'err');
    c.inc('QUIT', 'ok');
    assert.equal(await c.ours.metrics(), await c.theirs.metrics());
    assert.equal(await c.ours.metrics(), await c.theirs.metrics(), 'a scrape with nothing new changes nothing');
    assert.match(await c.ours.metrics(), /^x_commands_total\{command="USER",result="ok"\} 4$/m);
    assert.deepEqual(await samples(c.ours), await samples(c.theirs));
  });

  it('no series before the first use, as with prom-client', async () => {
    const h = histograms();
    const c = counters();
    assert.equal(await h.ours.metrics(), await h.theirs.metrics());
    assert.equal(await c.ours.metrics(), await c.theirs.metrics());
    assert.doesNotMatch(await h.ours.metrics(), /_count/);
  });

  it('sums across processes as prom-client\'s series do (pop3.workers: each worker sends its JSON)', async () => {
    const a = histograms();
    const b = histograms();
    const ca = counters();
    const cb = counters();
    a.observe('RETR', 0.002);
    b.observe('RETR', 0.2);
    b.observe('LIST', 0.0001);
    ca.inc('RETR', 'ok', 2);
    cb.inc('RETR', 'ok', 5);
    const merged = async (which: 'ours' | 'theirs'): Promise<string> =>
      AggregatorRegistry.aggregate<PrometheusContentType>([
        await a[which].getMetricsAsJSON(),
        await b[which].getMetricsAsJSON(),
        await ca[which].getMetricsAsJSON(),
        await cb[which].getMetricsAsJSON(),
      ]).metrics();
    const ours = await merged('ours');
    assert.equal(ours, await merged('theirs'));
    assert.match(ours, /^x_duration_seconds_count\{command="RETR"\} 2$/m);
    assert.match(ours, /^x_commands_total\{command="RETR",result="ok"\} 7$/m);
  });

  it('refuses a child with the wrong number of label values', () => {
    const counter = new CountedCounter({ name: 'y_total', help: 'y', labelNames: ['a', 'b'] as const, registers: [] });
    assert.throws(() => counter.child('only-one'), /expected 2 label values \(a, b\), got 1/);
  });
});
