import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTransport } from 'nodemailer';
import { Pop3Client } from '../src/client/index.js';
import { startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';

describe('postel dev: any address at any domain gets a mailbox on first delivery', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  let smtpPort: number;
  before(async () => {
    env = await tempDataDir();
    server = await startServerProcess(['--config', env.config, '--password', 'letmein'], 'dev');
    smtpPort = Number(/SMTP on 127\.0\.0\.1:(\d+)/.exec(server.stderr())?.[1]);
    assert.ok(smtpPort > 0, server.stderr());
  });
  after(async () => {
    await server?.stop();
    await env?.cleanup();
  });

  it('says so in the banner', () => {
    assert.match(server.stderr(), /dev: mail to any address at any domain/);
    assert.match(server.stderr(), /POP3 login: the whole address \(lowercased\) \/ letmein/);
  });

  it('accepts mail for unknown addresses at any domain and serves it over POP3 with the fixed password', async () => {
    const transport = createTransport({ host: '127.0.0.1', port: smtpPort, ignoreTLS: true });
    await transport.sendMail({ from: 'app@example.test', to: ['Anyone@Example.TEST', 'other@elsewhere.example'], subject: 'hello dev', text: 'first' });
    await transport.sendMail({ from: 'app@example.test', to: 'anyone@example.test', subject: 'again', text: 'second' });
    // An address that cannot name a mailbox is refused at RCPT, not stored.
    await assert.rejects(transport.sendMail({ from: 'app@example.test', to: 'a/b@example.test', subject: 'no', text: 'no' }), (err: { responseCode?: number }) => err.responseCode === 550);
    transport.close();

    const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'none' });
    await client.login('anyone@example.test', 'letmein');
    assert.deepEqual(await client.stat(), { count: 2, size: (await client.stat()).size });
    await client.quit();
    const other = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'none' });
    await other.login('other@elsewhere.example', 'letmein');
    assert.equal((await other.stat()).count, 1);
    await other.quit();
    const wrong = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'none' });
    await assert.rejects(wrong.login('anyone@example.test', 'nope'));
    await wrong.quit().catch(() => undefined);
  });
});
