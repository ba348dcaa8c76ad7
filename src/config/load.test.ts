import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from './load.js';

describe('config: replaced keys', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ pop3: { auth_failure_delay_ms: 2000 } }, /pop3\.auth_failure_delay_ms: no longer exists; use auth\.failure_response_ms/],
    [{ smtp: { submission: { auth_failure_delay_ms: 0 } } }, /smtp\.submission\.auth_failure_delay_ms: no longer exists; use auth\.failure_response_ms/],
    [{ auth: { max_failures_per_user: 10 } }, /auth\.max_failures_per_user: no longer exists; use auth\.max_user_delay/],
  ];
  for (const [raw, message] of cases) {
    it(`names the new key for ${JSON.stringify(raw)}`, () => {
      assert.throws(() => parseConfig(raw), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }

  it('has the new keys with their defaults', () => {
    const c = parseConfig({});
    assert.equal(c.auth.max_user_delay, 15);
    assert.equal(c.auth.failure_window, 900);
    assert.equal(c.auth.max_failures_per_ip, 20);
    assert.equal(c.auth.login_timeout, 60);
    assert.deepEqual(c.auth.proxy_trusted_networks, []);
    assert.equal(c.smtp.submission.sender_login_check, 'strict');
  });
});
