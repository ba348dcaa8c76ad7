import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ForwardDestination } from '../src/client/deliver/smtp.js';
import { DeliveryError } from '../src/client/deliver/types.js';
import { startSmtpSink, type SmtpSinkOptions } from './support/client-smtp-sink.js';

/*
 * The SMTP/LMTP destination of `postel fetch` against a sink that refuses chosen stages:
 * what the far end says decides whether the fetcher retries (temporary) or gives up
 * (permanent) -- and so whether the message may be deleted from the POP3 server.
 */

const message = (text: string): Readable => Readable.from([Buffer.from(text, 'latin1')]);

async function forward(sinkOptions: SmtpSinkOptions, text = 'Return-Path: <a@example.org>\nSubject: x\n\n.dot\nend\n') {
  const sink = await startSmtpSink(sinkOptions);
  const protocol = sinkOptions.protocol ?? 'smtp';
  try {
    const destination = new ForwardDestination({ protocol, host: '127.0.0.1', port: sink.port, recipient: 'local@example.net', timeoutMs: 10_000 });
    const delivery = await destination.begin({ account: 'a', uid: 'u1', size: text.length });
    const error = await delivery.write(message(text)).then(
      () => null,
      (err: unknown) => err,
    );
    return { sink, error };
  } finally {
    await sink.stop();
  }
}

function failure(error: unknown): DeliveryError {
  assert.ok(error instanceof DeliveryError, String(error));
  return error;
}

describe('forwarding fetched mail over SMTP and LMTP', () => {
  for (const protocol of ['smtp', 'lmtp'] as const) {
    it(`${protocol.toUpperCase()}: the message arrives with CRLF line ends, dot-stuffing undone, from the Return-Path`, async () => {
      const { sink, error } = await forward({ protocol });
      assert.equal(error, null);
      assert.equal(sink.transactions.length, 1);
      assert.equal(sink.transactions[0]?.mailFrom, 'a@example.org');
      assert.equal(sink.transactions[0]?.data.toString('latin1'), 'Return-Path: <a@example.org>\r\nSubject: x\r\n\r\n.dot\r\nend\r\n');
    });
  }

  it('a message without Return-Path goes from the null sender', async () => {
    const { sink, error } = await forward({}, 'Subject: x\n\nbody\n');
    assert.equal(error, null);
    assert.ok(sink.commands.some((c) => /^MAIL FROM:<>/.test(c)), sink.commands.join(' | '));
  });

  it('a 4xx after the data is temporary, a 5xx permanent', async () => {
    assert.equal(failure((await forward({ refuse: { endOfData: '451 4.3.0 try later' } })).error).temporary, true);
    const refused = failure((await forward({ refuse: { endOfData: '554 5.6.0 content refused' } })).error);
    assert.equal(refused.temporary, false);
    assert.match(refused.message, /554 5\.6\.0 content refused/);
  });

  it('LMTP: the per-recipient reply after the data decides (RFC 2033 section 4.2)', async () => {
    assert.equal(failure((await forward({ protocol: 'lmtp', refuse: { endOfData: '452 4.2.2 mailbox full' } })).error).temporary, true);
    assert.equal(failure((await forward({ protocol: 'lmtp', refuse: { endOfData: '550 5.1.1 gone' } })).error).temporary, false);
  });

  it('a refused recipient is permanent, a refused sender temporary when the server says 4xx', async () => {
    assert.equal(failure((await forward({ refuse: { rcpt: '550 5.1.1 no such user' } })).error).temporary, false);
    assert.equal(failure((await forward({ refuse: { mail: '421 4.3.2 shutting down' } })).error).temporary, true);
  });

  it('nobody listening is temporary', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const destination = new ForwardDestination({ protocol: 'smtp', host: '127.0.0.1', port, recipient: 'local@example.net', timeoutMs: 10_000 });
    const delivery = await destination.begin({ account: 'a', uid: 'u1', size: 10 });
    const error = await delivery.write(message('Subject: x\n\nbody\n')).then(
      () => null,
      (err: unknown) => err,
    );
    assert.equal(failure(error).temporary, true);
  });
});
