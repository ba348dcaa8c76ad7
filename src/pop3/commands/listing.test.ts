import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Maildrop, MessageInfo } from '../../store/types.js';
import type { TransactionState } from '../state.js';
import type { HandlerContext } from './context.js';
import { list, uidl } from './listing.js';

/** LIST and UIDL handlers on a message list shared by sessions in both RFC 6856 modes. */
describe('LIST and UIDL of a whole maildrop', () => {
  const messages: readonly MessageInfo[] = Object.freeze([
    { uid: 'a1', size: 100 },
    { uid: 'b2', size: 200, asciiSize: 260 },
    { uid: 'c3', size: 300 },
  ]);
  const state = (utf8: boolean, deleted: number[] = []): TransactionState => ({
    name: 'TRANSACTION',
    options: { utf8, language: 'en' },
    user: 'alice',
    // Only `messages` is read by LIST and UIDL.
    maildrop: { user: 'alice', messages } as unknown as Maildrop,
    deleted: new Set(deleted),
    retrieved: new Set(),
  });
  const ctx = {} as HandlerContext;
  const body = async (step: Promise<{ reply?: unknown }>): Promise<string> => {
    const reply = (await step).reply as { status: string; body?: Uint8Array; lines?: Iterable<string> };
    return reply.body !== undefined ? Buffer.from(reply.body).toString('latin1') : [...(reply.lines ?? [])].map((l) => `${l}\r\n`).join('');
  };

  it('gives each mode its own sizes, whichever mode asked first', async () => {
    for (let round = 0; round < 2; round++) {
      assert.equal(await body(list({ verb: 'LIST' }, state(false), ctx)), '1 100\r\n2 260\r\n3 300\r\n');
      assert.equal(await body(list({ verb: 'LIST' }, state(true), ctx)), '1 100\r\n2 200\r\n3 300\r\n');
    }
  });

  it('writes every size in decimal, from 0 to many digits', async () => {
    const sizes = [0, 9, 10, 99, 100, 4_294_967_296, Number.MAX_SAFE_INTEGER];
    const many = Object.freeze(sizes.map((size, i) => ({ uid: `u${i}`, size })));
    const s = { ...state(true), maildrop: { user: 'alice', messages: many } as unknown as Maildrop };
    assert.equal(await body(list({ verb: 'LIST' }, s, ctx)), sizes.map((size, i) => `${i + 1} ${size}\r\n`).join(''));
  });

  it('leaves out deleted messages, and lists all again once none is', async () => {
    assert.equal(await body(uidl({ verb: 'UIDL' }, state(true), ctx)), '1 a1\r\n2 b2\r\n3 c3\r\n');
    assert.equal(await body(uidl({ verb: 'UIDL' }, state(true, [1]), ctx)), '1 a1\r\n3 c3\r\n');
    assert.equal(await body(list({ verb: 'LIST' }, state(true, [0]), ctx)), '2 200\r\n3 300\r\n');
    assert.equal(await body(uidl({ verb: 'UIDL' }, state(true), ctx)), '1 a1\r\n2 b2\r\n3 c3\r\n');
  });
});
