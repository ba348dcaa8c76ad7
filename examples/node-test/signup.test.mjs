// postel/testing under node:test: run with `node --test examples/node-test/`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pop3Client } from 'postel';
import { startTestServer } from 'postel/testing';
import { sendSignupCode } from '../app/signup.mjs';

let mail;
before(async () => {
  mail = await startTestServer({ users: { newcomer: 'pop3-password' } });
});
after(() => mail.close());

test('the sign-up mail arrives with its code, and a POP3 client can fetch it', async () => {
  const code = await sendSignupCode({ smtpHost: mail.smtp.host, smtpPort: mail.smtp.port, to: `newcomer@${mail.domain}` });

  const { message, code: found, link } = await mail.waitForMessage('to:newcomer subject:"sign-up code"');
  assert.equal(found, code);
  assert.equal(link, `https://app.example.test/confirm?code=${code}`);

  const client = await Pop3Client.connect({ host: mail.pop3.host, port: mail.pop3.port, tls: 'starttls', tlsOptions: { ca: mail.pop3.ca, servername: 'localhost' } });
  await client.login('newcomer', 'pop3-password');
  const [entry] = await client.uidl();
  assert.equal(entry.uid, message.id);
  await client.quit();
});
