#!/usr/bin/env node
// What recording metrics costs a POP3 session and a RETR, in CPU, without sockets: the calls
// a login_churn session (connect, USER, PASS, STAT, QUIT) and a bulk_retr RETR make into
// the recorder and the store wrapper, with [metrics] enabled and without (the difference is
// what recording costs). Run after `npm run build`; prints one JSON line. Batches alternate
// between on and off; each figure is the median over the batches.
import { performance } from 'node:perf_hooks';
import { EventBus } from '../dist/src/events/bus.js';
import { SessionRegistry } from '../dist/src/events/sessions.js';
import { Metrics } from '../dist/src/metrics/metrics.js';
import { pop3Recorder } from '../dist/src/metrics/pop3-recorder.js';

const BATCHES = Number(process.env.BATCHES ?? 15);
const SESSIONS = Number(process.env.SESSIONS ?? 20_000);
const RETRS = Number(process.env.RETRS ?? 200_000);

function setup(recording) {
  const metrics = new Metrics({ recording, processMetrics: false });
  const events = new EventBus();
  // As in postel serve: the Maildir usage watcher listens, so events are built.
  events.subscribe(() => undefined);
  return { metrics, observer: pop3Recorder(metrics, events, new SessionRegistry()) };
}

let n = 0;
const session = () => ({ id: `s${++n}`, remote: '127.0.0.1:40000', startedAt: new Date(), user: null, state: 'AUTHORIZATION', tls: false, bytesIn: 0, bytesOut: 0, commands: 0, end: async () => undefined });

/** The recorder calls of one login_churn session, and its two timed store operations. */
async function churnSession({ metrics, observer }) {
  const s = session();
  observer.sessionStarted(s);
  observer.commandDone('USER', true, 0.00002, 0);
  observer.login({ mechanism: 'USER', result: 'success', user: 'u', remote: s.remote });
  await metrics.timeStore('open', async () => 1);
  observer.commandDone('PASS', true, 0.0004, 0);
  observer.commandDone('STAT', true, 0.00001, 0);
  await metrics.timeStore('commit', async () => undefined);
  observer.commandDone('QUIT', true, 0.0002, 0);
  observer.sessionEnded(s, 'quit');
}

async function timeSessions(world) {
  const t0 = performance.now();
  for (let i = 0; i < SESSIONS; i++) await churnSession(world);
  return ((performance.now() - t0) * 1e6) / SESSIONS;
}

function timeRetrs({ observer }) {
  const t0 = performance.now();
  for (let i = 0; i < RETRS; i++) observer.commandDone('RETR', true, 0.0001, 51_234);
  return ((performance.now() - t0) * 1e6) / RETRS;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const worlds = { on: setup(true), off: setup(false) };
const ns = { session: { on: [], off: [] }, retr: { on: [], off: [] } };
// Warm-up: both paths compiled before anything is counted.
for (const w of Object.values(worlds)) {
  await timeSessions(w);
  timeRetrs(w);
}
for (let b = 0; b < BATCHES; b++) {
  for (const side of b % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
    ns.session[side].push(await timeSessions(worlds[side]));
    ns.retr[side].push(timeRetrs(worlds[side]));
  }
}
const out = {};
for (const what of ['session', 'retr']) {
  const on = median(ns[what].on);
  const off = median(ns[what].off);
  out[what] = { onNs: Math.round(on), offNs: Math.round(off), recordingNs: Math.round(on - off) };
}
process.stdout.write(`${JSON.stringify({ batches: BATCHES, sessions: SESSIONS, retrs: RETRS, ...out })}\n`);
