// postel/testing under Jest (native ESM): run with
// `node --experimental-vm-modules node_modules/jest/bin/jest.js --rootDir examples/jest`.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startTestServer } from 'postel/testing';
import { sendSignupCode } from '../app/signup.mjs';

let mail;
beforeAll(async () => {
  mail = await startTestServer({ users: { newcomer: 'pop3-password' } });
});
afterAll(() => mail.close());

test('the sign-up mail arrives with its code', async () => {
  const code = await sendSignupCode({ smtpHost: mail.smtp.host, smtpPort: mail.smtp.port, to: `newcomer@${mail.domain}` });
  const { code: found } = await mail.waitForMessage('to:newcomer subject:"sign-up code"');
  expect(found).toBe(code);

  // The HTTP API is there too: the admin token opens it.
  const res = await fetch(`${mail.http.url}/api/v1/mailboxes/newcomer/messages`, { headers: { authorization: `Bearer ${mail.http.token}` } });
  expect(res.status).toBe(200);
  expect((await res.json()).total).toBe(1);
});
