import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quotaLimit } from './quota.js';

const user = (extraField: string): { name: string; password: string; extra: string[] } => ({
  name: 'u',
  password: '{PLAIN}x',
  // As the passwd-file parser splits a line: on every ':'.
  extra: `1000:1000:gecos:/home/u:/bin/sh:${extraField}`.split(':'),
});

describe('quotaLimit', () => {
  it('reads Dovecot quota rules: storage in kilobytes unless a unit follows, bytes in bytes', () => {
    assert.equal(quotaLimit(user('userdb_quota_rule=*:storage=100M')), 100 * 1024 * 1024);
    assert.equal(quotaLimit(user('quota_rule=*:storage=2048')), 2048 * 1024);
    assert.equal(quotaLimit(user('userdb_quota_rule=*:bytes=5000')), 5000);
    assert.equal(quotaLimit(user('userdb_quota_rule=*:storage=1G')), 1024 ** 3);
  });

  it('reads quota=BYTES, with optional units, among other extra fields', () => {
    assert.equal(quotaLimit(user('userdb_mail=maildir:~/Maildir quota=52428800')), 52428800);
    assert.equal(quotaLimit(user('quota=10k')), 10240);
  });

  it('has no limit without a field, for 0, or for a value it cannot read', () => {
    assert.equal(quotaLimit({ name: 'u', password: 'x', extra: [] }), null);
    assert.equal(quotaLimit(user('quota=0')), null);
    assert.equal(quotaLimit(user('quota=lots')), null);
    assert.equal(quotaLimit(user('userdb_quota_rule=Trash:ignore')), null);
  });
});
