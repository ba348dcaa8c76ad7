import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  Pop3AuthError,
  Pop3CapabilityError,
  Pop3Client,
  Pop3ConnectionError,
  Pop3InUseError,
  Pop3LoginDelayError,
  Pop3ProtocolError,
  Pop3SaslError,
  Pop3ServerError,
  Pop3TimeoutError,
  type Pop3ClientOptions,
} from '../src/client/index.js';
import { startFakePop3, wireMessage, type FakePop3, type FakePop3Options } from './support/client-fake-pop3.js';

/*
 * The client against servers that bend or break the rules: formatting quirks real servers
 * have, a connection dropped in the middle of a message, silence, garbage, refusals with
 * response codes, STLS downgrades and injections, and scripted SASL exchanges whose bytes
 * are checked exactly.
 */

const MESSAGE = wireMessage(['Subject: quirks', '', 'line one', '.dot line', '', 'end']);

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function withServer(options: FakePop3Options, run: (server: FakePop3, connect: (extra?: Partial<Pop3ClientOptions>) => Promise<Pop3Client>) => Promise<void>): Promise<void> {
  const server = await startFakePop3({ messages: [{ uid: 'u1', content: MESSAGE }, { uid: 'u2', content: wireMessage(['Subject: two', '', 'second']) }], ...options });
  try {
    await run(server, (extra = {}) => Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'none', timeoutMs: 5000, ...extra }));
  } finally {
    await server.stop();
  }
}

describe('tolerant reading of real servers', () => {
  test('lowercase +ok, extra spaces in STAT, LIST and UIDL', async () => {
    await withServer({ lowercaseOk: true, extraSpaces: true }, async (_server, connect) => {
      const client = await connect();
      await client.login('alice', 'secret');
      assert.deepEqual(await client.stat(), { count: 2, size: Buffer.byteLength(MESSAGE) + Buffer.byteLength(wireMessage(['Subject: two', '', 'second'])) });
      assert.deepEqual(await client.list(), [
        { number: 1, size: Buffer.byteLength(MESSAGE) },
        { number: 2, size: Buffer.byteLength(wireMessage(['Subject: two', '', 'second'])) },
      ]);
      assert.deepEqual(await client.uidl(), [
        { number: 1, uid: 'u1' },
        { number: 2, uid: 'u2' },
      ]);
      assert.equal((await drain(await client.retr(1))).toString('latin1'), MESSAGE);
      await client.quit();
    });
  });

  test('bare LF line ends, including the terminator, and QUIT answered without CRLF', async () => {
    await withServer({ eol: '\n', quitWithoutCrlf: true }, async (_server, connect) => {
      const client = await connect();
      await client.login('alice', 'secret');
      assert.equal((await client.uidl()).length, 2);
      assert.equal((await drain(await client.retr(1))).toString('latin1'), MESSAGE.replace(/\r\n/g, '\n'));
      await client.quit();
    });
  });

  test('a server without CAPA (RFC 1939 only) still works, serially', async () => {
    await withServer({ capa: null }, async (server, connect) => {
      const client = await connect();
      assert.equal(client.capabilities.known, false);
      await client.login('alice', 'secret');
      assert.equal(client.pipelining, false);
      const bodies = await Promise.all([client.retr(1), client.retr(2)].map(async (p) => drain(await p)));
      assert.equal(bodies[0]?.toString('latin1'), MESSAGE);
      await client.quit();
      assert.deepEqual(server.unexpectedPipelining, [], 'without PIPELINING each command waits for the previous answer');
    });
  });

  test('with PIPELINING the RETRs go out together (the server answers only once it has all three)', async () => {
    await withServer({ holdRetrUntil: 3, messages: [1, 2, 3].map((n) => ({ uid: `u${n}`, content: wireMessage([`Subject: ${n}`, '', `body ${n}`]) })) }, async (_server, connect) => {
      const client = await connect();
      await client.login('alice', 'secret');
      assert.equal(client.pipelining, true);
      const bodies = await Promise.all([1, 2, 3].map(async (n) => (await drain(await client.retr(n))).toString('latin1')));
      assert.deepEqual(bodies, [1, 2, 3].map((n) => wireMessage([`Subject: ${n}`, '', `body ${n}`])));
      await client.quit();
    });
  });

  test('a stream destroyed early is read to its end, and the next command gets its own answer', async () => {
    await withServer({}, async (_server, connect) => {
      const client = await connect();
      await client.login('alice', 'secret');
      const first = await client.retr(1);
      first.destroy();
      assert.equal((await drain(await client.retr(2))).toString('latin1'), wireMessage(['Subject: two', '', 'second']));
      await client.noop();
      await client.quit();
    });
  });
});

describe('servers that fail', () => {
  test('the connection drops in the middle of RETR: the stream errors, later commands too', async () => {
    await withServer({ dropRetr: { message: 1, afterBytes: 20 } }, async (_server, connect) => {
      const client = await connect();
      await client.login('alice', 'secret');
      const stream = await client.retr(1);
      await assert.rejects(drain(stream), (err: unknown) => {
        assert.ok(err instanceof Pop3ConnectionError, String(err));
        assert.match(err.message, /middle of a message/);
        assert.equal(err.temporary, true);
        return true;
      });
      await assert.rejects(client.noop(), Pop3ConnectionError);
    });
  });

  test('silence: every step has a time limit', async () => {
    await withServer({ override: (line) => line === 'NOOP' }, async (_server, connect) => {
      const client = await connect({ timeoutMs: 300 });
      await client.login('alice', 'secret');
      await assert.rejects(client.noop(), Pop3TimeoutError);
      await assert.rejects(client.stat(), Pop3ConnectionError, 'the connection is closed after a timeout');
    });
  });

  test('garbage instead of a status line is a protocol error and closes the connection', async () => {
    await withServer(
      {
        override: (line, conn) => {
          if (line !== 'STAT') return false;
          conn.write('HTTP/1.1 400 Bad Request\r\n');
          return true;
        },
      },
      async (_server, connect) => {
        const client = await connect();
        await client.login('alice', 'secret');
        await assert.rejects(client.stat(), Pop3ProtocolError);
        assert.equal(client.state, 'closed');
      },
    );
  });

  test('an endless line is refused at the limit', async () => {
    await withServer(
      {
        override: (line, conn) => {
          if (line !== 'NOOP') return false;
          conn.write(`+OK ${'x'.repeat(100_000)}`);
          return true;
        },
      },
      async (_server, connect) => {
        const client = await connect({ maxLineLength: 4096 });
        await client.login('alice', 'secret');
        await assert.rejects(client.noop(), /longer than 4096/);
      },
    );
  });

  test('a UIDL with a control character is refused', async () => {
    await withServer({ messages: [{ uid: 'bad\x01id', content: MESSAGE }] }, async (_server, connect) => {
      const client = await connect();
      await client.login('alice', 'secret');
      await assert.rejects(client.uidl(), Pop3ProtocolError);
    });
  });

  for (const [answer, type, code] of [
    ['-ERR [IN-USE] Mailbox locked by another session', Pop3InUseError, 'IN-USE'],
    ['-ERR [LOGIN-DELAY] Wait 5 minutes between logins', Pop3LoginDelayError, 'LOGIN-DELAY'],
    ['-ERR [SYS/TEMP] Storage down', Pop3ServerError, 'SYS/TEMP'],
    ['-ERR [SYS/PERM] Account disabled', Pop3ServerError, 'SYS/PERM'],
    ['-ERR [auth] lowercase code', Pop3AuthError, 'AUTH'],
  ] as const) {
    test(`PASS answered "${answer}": ${type.name} with code ${code}`, async () => {
      await withServer({ passAnswer: answer, capa: ['USER', 'UIDL', 'RESP-CODES', 'LOGIN-DELAY 300'] }, async (_server, connect) => {
        const client = await connect();
        await assert.rejects(client.login('alice', 'secret'), (err: unknown) => {
          assert.ok(err instanceof type, String(err));
          assert.equal((err as Pop3ServerError).code, code);
          assert.equal((err as Pop3ServerError).temporary, code === 'IN-USE' || code === 'LOGIN-DELAY' || code === 'SYS/TEMP');
          if (err instanceof Pop3LoginDelayError) assert.equal(err.delaySeconds, 300);
          return true;
        });
        await client.quit();
      });
    });
  }
});

describe('STLS', () => {
  test('a server without STLS is refused unless plaintext is allowed', async () => {
    await withServer({}, async (server, connect) => {
      await assert.rejects(connect({ tls: 'starttls' }), Pop3CapabilityError);
      const client = await connect({ tls: 'starttls', allowPlaintext: true });
      assert.equal(client.secure, false);
      await client.login('alice', 'secret');
      await client.quit();
      assert.ok(!server.commands.includes('STLS'));
    });
  });

  test('data after the STLS answer, before the handshake, is an injection and is refused', async () => {
    await withServer(
      {
        capa: ['USER', 'STLS'],
        override: (line, conn) => {
          if (line !== 'STLS') return false;
          conn.write('+OK Begin TLS\r\n+OK injected\r\n');
          return true;
        },
      },
      async (_server, connect) => {
        await assert.rejects(connect({ tls: 'starttls' }), (err: unknown) => {
          assert.ok(err instanceof Pop3ProtocolError, String(err));
          assert.match(err.message, /after its STLS answer/);
          return true;
        });
      },
    );
  });
});

describe('SASL exchanges, byte for byte', () => {
  /** A server that records the AUTH exchange and answers from a script. */
  const scripted = (script: (line: string, conn: { write(s: string): void; readLine(): Promise<string> }) => Promise<void>): FakePop3Options => ({
    capa: ['USER', 'UIDL', 'SASL PLAIN XOAUTH2 OAUTHBEARER SCRAM-SHA-256'],
    override: async (line, conn) => {
      if (!line.startsWith('AUTH ')) return false;
      await script(line, conn);
      return true;
    },
  });

  test('XOAUTH2: the initial response, and an error challenge answered with an empty line', async () => {
    const seen: string[] = [];
    await withServer(
      scripted(async (line, conn) => {
        seen.push(line);
        conn.write(`+ ${Buffer.from('{"status":"401","schemes":"Bearer"}').toString('base64')}\r\n`);
        seen.push(await conn.readLine());
        conn.write('-ERR [AUTH] invalid token\r\n');
      }),
      async (_server, connect) => {
        const client = await connect();
        await assert.rejects(client.authenticate('XOAUTH2', { user: 'alice@example.org', secret: 'ya29.token' }), Pop3AuthError);
        assert.deepEqual(seen, [`AUTH XOAUTH2 ${Buffer.from('user=alice@example.org\x01auth=Bearer ya29.token\x01\x01').toString('base64')}`, '']);
        await client.quit();
      },
    );
  });

  test('OAUTHBEARER: GS2 header, host and port; an error challenge is answered with ^A', async () => {
    const seen: string[] = [];
    let port = 0;
    await withServer(
      scripted(async (line, conn) => {
        seen.push(line);
        conn.write(`+ ${Buffer.from('{"status":"invalid_token"}').toString('base64')}\r\n`);
        seen.push(await conn.readLine());
        conn.write('-ERR [AUTH] no\r\n');
      }),
      async (server, connect) => {
        port = server.port;
        const client = await connect();
        await assert.rejects(client.authenticate('OAUTHBEARER', { user: 'a,b=c', secret: 'tok-123' }), Pop3AuthError);
        await client.quit();
      },
    );
    const initial = Buffer.from(`n,a=a=2Cb=3Dc,\x01host=127.0.0.1\x01port=${port}\x01auth=Bearer tok-123\x01\x01`).toString('base64');
    assert.deepEqual(seen, [`AUTH OAUTHBEARER ${initial}`, 'AQ==']);
  });

  test('a token too long for one 255-octet line goes after an empty challenge', async () => {
    const token = 'T'.repeat(600);
    const seen: string[] = [];
    await withServer(
      scripted(async (line, conn) => {
        seen.push(line);
        conn.write('+ \r\n');
        seen.push(await conn.readLine());
        conn.write('+OK welcome\r\n');
      }),
      async (_server, connect) => {
        const client = await connect();
        await client.authenticate('XOAUTH2', { user: 'alice', secret: token });
        assert.equal(client.state, 'transaction');
        await client.quit();
      },
    );
    assert.deepEqual(seen, ['AUTH XOAUTH2', Buffer.from(`user=alice\x01auth=Bearer ${token}\x01\x01`).toString('base64')]);
  });

  test('PLAIN with an empty challenge first is answered correctly; "=" never confuses it', async () => {
    const seen: string[] = [];
    await withServer(
      scripted(async (line, conn) => {
        seen.push(line);
        conn.write('+OK\r\n');
      }),
      async (_server, connect) => {
        const client = await connect();
        await client.authenticate('PLAIN', { user: 'alice', secret: 'pa ss' });
        await client.quit();
      },
    );
    assert.deepEqual(seen, [`AUTH PLAIN ${Buffer.from('\0alice\0pa ss').toString('base64')}`]);
  });

  test('SCRAM: a server that cannot prove it knows the password is not trusted', async () => {
    await withServer(
      scripted(async (line, conn) => {
        const clientFirst = Buffer.from(line.split(' ')[2] ?? '', 'base64').toString();
        const nonce = /r=([^,]+)/.exec(clientFirst)?.[1] ?? '';
        conn.write(`+ ${Buffer.from(`r=${nonce}server,s=${Buffer.from('salt').toString('base64')},i=4096`).toString('base64')}\r\n`);
        await conn.readLine();
        conn.write(`+ ${Buffer.from(`v=${Buffer.alloc(32).toString('base64')}`).toString('base64')}\r\n`);
        // The client cancels; a real server then sends -ERR.
        assert.equal(await conn.readLine(), '*');
        conn.write('-ERR cancelled\r\n');
      }),
      async (_server, connect) => {
        const client = await connect();
        await assert.rejects(client.authenticate('SCRAM-SHA-256', { user: 'alice', secret: 'pw' }), (err: unknown) => {
          assert.ok(err instanceof Pop3SaslError, String(err));
          assert.match(err.message, /signature does not match/);
          return true;
        });
        await client.quit();
      },
    );
  });

  test('SCRAM: +OK without the server signature is refused and the connection dropped', async () => {
    await withServer(
      scripted(async (line, conn) => {
        const nonce = /r=([^,]+)/.exec(Buffer.from(line.split(' ')[2] ?? '', 'base64').toString())?.[1] ?? '';
        conn.write(`+ ${Buffer.from(`r=${nonce}x,s=c2FsdA==,i=4096`).toString('base64')}\r\n`);
        await conn.readLine();
        conn.write('+OK trust me\r\n');
      }),
      async (_server, connect) => {
        const client = await connect();
        await assert.rejects(client.authenticate('SCRAM-SHA-256', { user: 'alice', secret: 'pw' }), Pop3SaslError);
        assert.equal(client.state, 'closed');
      },
    );
  });

  test('SCRAM: a weak iteration count is refused', async () => {
    await withServer(
      scripted(async (line, conn) => {
        const nonce = /r=([^,]+)/.exec(Buffer.from(line.split(' ')[2] ?? '', 'base64').toString())?.[1] ?? '';
        conn.write(`+ ${Buffer.from(`r=${nonce}x,s=c2FsdA==,i=1`).toString('base64')}\r\n`);
        await conn.readLine();
        conn.write('-ERR cancelled\r\n');
      }),
      async (_server, connect) => {
        const client = await connect();
        await assert.rejects(client.authenticate('SCRAM-SHA-256', { user: 'alice', secret: 'pw' }), /iteration count/);
        await client.quit();
      },
    );
  });
});

describe('arguments that would inject commands are refused before sending', () => {
  test('line breaks in user names and passwords', async () => {
    await withServer({}, async (server, connect) => {
      const client = await connect();
      await assert.rejects(client.login('alice\r\nDELE 1', 'secret'), /line breaks/);
      await assert.rejects(client.login('alice', 'secret\r\nDELE 1'), /line breaks/);
      assert.ok(!server.commands.some((c) => c.startsWith('DELE')));
      await client.quit();
    });
  });
});
