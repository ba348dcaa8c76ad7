import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBus, type EventType, type TimedEvent } from './bus.js';

const start = { type: 'session.start', protocol: 'pop3', session: 's1', remote: '127.0.0.1' } as const;
const newMail = { type: 'message.new', user: 'alice', size: 10 } as const;

describe('EventBus', () => {
  it('gives a subscriber only the types it named, and every type when it named none', () => {
    const bus = new EventBus();
    const sessions: TimedEvent[] = [];
    const all: TimedEvent[] = [];
    bus.subscribe((e) => sessions.push(e), ['session.start', 'session.end']);
    bus.subscribe((e) => all.push(e));
    bus.publish(start);
    bus.publish(newMail);
    assert.deepEqual(
      sessions.map((e) => e.type),
      ['session.start'],
    );
    assert.deepEqual(
      all.map((e) => e.type),
      ['session.start', 'message.new'],
    );
    assert.match(all[0]?.time ?? '', /^\d{4}-\d\d-\d\dT/);
  });

  it('says which types anyone wants, and tells a watcher each time that changes and only then', () => {
    const bus = new EventBus();
    const told: EventType[][] = [];
    bus.watchInterest((types) => void told.push([...types].sort()));
    assert.deepEqual([...bus.wanted()], []);
    const a = bus.subscribe(() => {}, ['message.new']);
    const b = bus.subscribe(() => {}, ['message.new', 'message.deleted']);
    // A second listener to message.new alone would change nothing.
    const c = bus.subscribe(() => {}, ['message.new']);
    c();
    b();
    b(); // twice is once
    a();
    assert.deepEqual(told, [['message.new'], ['message.deleted', 'message.new'], ['message.new'], []]);
    assert.deepEqual([...bus.wanted()], []);
  });

  it('interestSettled waits for what the watchers do about the latest change', async () => {
    const bus = new EventBus();
    let release = (): void => {};
    let acted = false;
    bus.watchInterest(
      () =>
        new Promise<void>((resolve) => {
          release = () => {
            acted = true;
            resolve();
          };
        }),
    );
    bus.subscribe(() => {}, ['session.start']);
    const settled = bus.interestSettled().then(() => acted);
    setTimeout(() => release(), 20);
    assert.equal(await settled, true);
  });

  it('keeps publishing to the others when a listener throws, and publishes nothing when nobody listens', () => {
    const bus = new EventBus();
    bus.publish(start); // nobody: no error, nothing kept
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('broken subscriber');
    }, ['session.start']);
    bus.subscribe((e) => seen.push(e.type), ['session.start']);
    bus.publish(start);
    assert.deepEqual(seen, ['session.start']);
  });
});
