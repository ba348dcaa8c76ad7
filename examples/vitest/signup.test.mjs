// postel/testing under Vitest: run with `npx vitest run --root examples/vitest`.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer } from 'postel/testing';
import { sendSignupCode } from '../app/signup.mjs';

let mail;
beforeAll(async () => {
  mail = await startTestServer({ users: { newcomer: 'pop3-password' } });
});
afterAll(() => mail.close());

test('the sign-up mail arrives with its code', async () => {
  const code = await sendSignupCode({ smtpHost: mail.smtp.host, smtpPort: mail.smtp.port, to: `newcomer@${mail.domain}` });
  const { code: found, message } = await mail.waitForMessage('to:newcomer subject:"sign-up code"');
  expect(found).toBe(code);
  expect(message.from).toContain('noreply@app.example.test');
  expect(await mail.messages('newcomer')).toHaveLength(1);
});
