import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SmtpReplyError, replies } from '../src/smtp/reply.js';
import { PostelSmtpServer } from '../src/smtp/smtp-server-adapter.js';
import { SmtpTestClient } from './support/smtp-client.js';

/*
 * What postel relies on in smtp-server beyond its options: the public connect() adds each
 * connection to the public `connections` set before the greeting, and replies go through
 * the connection's public send(code, data, context). If a release changes that, these fail.
 */

describe('PostelSmtpServer: our enhanced status codes and the refusal cap on smtp-server', () => {
  let server: PostelSmtpServer;
  let port: number;
  let refuseConnections = false;
  before(async () => {
    server = new PostelSmtpServer(
      {
        authOptional: true,
        disableReverseLookup: true,
        logger: false,
        disabledCommands: ['STARTTLS'],
        hideENHANCEDSTATUSCODES: false,
        onConnect: (_session, cb) => cb(refuseConnections ? replies.tooManyConnections() : undefined),
        onRcptTo: (address, _session, cb) => cb(address.address.endsWith('@remote.test') ? replies.relayDenied() : null),
        onData: (stream, _session, cb) => {
          stream.resume();
          stream.on('end', () => cb(new SmtpReplyError(554, '5.6.0', 'content refused')));
        },
      },
      { maxRefusals: 3 },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends a refusal with its own enhanced code, and the library its own codes for the rest', async () => {
    const client = await SmtpTestClient.open(port);
    try {
      await client.command('EHLO client.test');
      assert.match((await client.command('MAIL FROM:<a@local.test>')).raw, /^250 2\.1\.0 /);
      assert.equal((await client.command('RCPT TO:<b@remote.test>')).raw, '554 5.7.1 Relay access denied');
      assert.match((await client.command('RCPT TO:<b@local.test>')).raw, /^250 2\.1\.5 /);
    } finally {
      client.close();
    }
  });

  it('closes with 421 after the configured number of 5xx replies', async () => {
    const client = await SmtpTestClient.open(port);
    try {
      await client.command('EHLO client.test');
      await client.command('MAIL FROM:<a@local.test>');
      assert.equal((await client.command('RCPT TO:<1@remote.test>')).code, 554);
      assert.equal((await client.command('RCPT TO:<2@remote.test>')).code, 554);
      assert.equal((await client.command('RCPT TO:<3@remote.test>')).raw, '554 5.7.1 Relay access denied');
      assert.equal((await client.reply()).raw, `421 ${replies.tooManyErrors().message}`);
      assert.equal(await client.waitClosed(), true);
    } finally {
      client.close();
    }
  });

  it('refuses at connect with our code too (the connection is ours before its greeting)', async () => {
    refuseConnections = true;
    try {
      const client = await SmtpTestClient.connect(port);
      try {
        assert.equal((await client.reply()).raw, `421 ${replies.tooManyConnections().message}`);
      } finally {
        client.close();
      }
    } finally {
      refuseConnections = false;
    }
  });
});
