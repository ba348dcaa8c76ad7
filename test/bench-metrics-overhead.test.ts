import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figuresOf, verdict, type Round } from '../bench/metrics-overhead.js';

/** A round that served `units` for `cpuSeconds` of postel's CPU. */
const round = (cpuSeconds: number, units: number, rate: number): Round => ({ cpuSeconds, wallSeconds: 1, units, rates: { 'sessions/s': rate }, otherPct: 0 });

describe('bench --metrics-overhead: figures and verdict', () => {
  it('takes each server pair\'s median round on/off, then the median over the pairs, CPU per unit first', () => {
    // CPU per session (ms), on/off. Pair 1: 1.00/1.00, 2.04/2.00 (a slow second for both), 3.00/1.00 (on disturbed):
    // its ratios 1, 1.02, 3 give 1.02. Pair 2: 1.10/1.00 twice: 1.10. Pair 3: 0.99/1.00: 0.99.
    const figures = figuresOf('login_churn', [
      [
        { on: round(1, 1000, 900), off: round(1, 1000, 1000) },
        { on: round(2.04, 1000, 500), off: round(2, 1000, 520) },
        { on: round(3, 1000, 300), off: round(1, 1000, 950) },
      ],
      [
        { on: round(1.1, 1000, 800), off: round(1, 1000, 800) },
        { on: round(1.1, 1000, 800), off: round(1, 1000, 800) },
      ],
      [{ on: round(0.99, 1000, 800), off: round(1, 1000, 800) }],
    ]);
    const cpu = figures[0];
    assert.ok(cpu);
    assert.equal(cpu.figure, 'server CPU per session');
    assert.equal(cpu.compared, true);
    assert.deepEqual(cpu.generationRatios.map((r) => Number(r.toFixed(4))), [1.02, 1.1, 0.99]);
    assert.ok(Math.abs(cpu.ratio - 1.02) < 1e-9, String(cpu.ratio));
    // Their mean is 1.0367, their sample deviation 0.0569: over the square root of 3, 0.0328.
    assert.equal(Number(cpu.standardError.toFixed(4)), 0.0328);
    // The sides' own medians are over all six rounds.
    assert.equal(cpu.on, 1.1);
    assert.equal(cpu.off, 1);
    const rate = figures[1];
    assert.equal(rate?.figure, 'sessions/s');
    assert.equal(rate?.compared, false);
    assert.deepEqual(rate?.generationRatios.map((r) => Number(r.toFixed(4))), [0.9, 1, 1]);
  });

  it('says whether the CPU figures are within 3 %, naming each; throughput is not judged', () => {
    const fig = (scenario: 'login_churn' | 'bulk_retr', ratio: number, compared = true) => ({ scenario, figure: compared ? 'server CPU per unit' : 'sessions/s', unit: 'ms', on: ratio, off: 1, ratio, generationRatios: [ratio], standardError: 0.004, compared });
    assert.match(verdict([fig('login_churn', 1.021), fig('bulk_retr', 0.99), fig('login_churn', 0.5, false)]), /login_churn \+2\.1 % \(\+- 0\.4 %\), .*bulk_retr -1\.0 % \(\+- 0\.4 %\); within 3 %\.$/);
    assert.match(verdict([fig('login_churn', 1.021), fig('bulk_retr', 1.04)]), /NOT within 3 %\.$/);
    assert.match(verdict([fig('login_churn', 0.96)]), /NOT within 3 %\.$/);
    assert.equal(verdict([]), 'verdict: nothing measured');
  });
});
