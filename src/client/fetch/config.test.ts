import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FetchConfigError, parseFetchConfig } from './config.js';

test('a short config: defaults filled in, paths relative to the file', async () => {
  const config = parseFetchConfig(
    {
      interval: '10m',
      account: [
        { server: 'pop3s://alice@mail.example.org', password_env: 'MAIL_PW', deliver: 'maildir:Maildir' },
        { name: 'work', host: 'pop.work.example', tls: 'starttls', user: 'bob', password: 'x', keep: false, max_size: 1000, oversize: 'headers', deliver: 'lmtp:127.0.0.1:24', recipient: 'bob' },
      ],
    },
    '/home/a/.config/postel/fetch.toml',
  );
  assert.equal(config.intervalMs, 600_000);
  const [alice, work] = config.accounts;
  assert.equal(alice?.name, 'alice@mail.example.org');
  assert.deepEqual([alice?.port, alice?.tls, alice?.tlsOptions.rejectUnauthorized, alice?.policy.keep], [995, 'tls', true, true]);
  assert.deepEqual(alice?.destination, { kind: 'maildir', path: '/home/a/.config/postel/Maildir' });
  assert.deepEqual([work?.name, work?.port, work?.tls, work?.policy.maxSize, work?.policy.oversize, work?.policy.keep], ['work', 110, 'starttls', 1000, 'headers', false]);
  process.env['MAIL_PW'] = 'from-env';
  assert.equal(await alice?.secret(), 'from-env');
});

test('mistakes are named', () => {
  const bad = (account: Record<string, unknown>, pattern: RegExp): void =>
    assert.throws(() => parseFetchConfig({ account: [{ deliver: 'maildir:M', password: 'x', ...account }] }, '/f.toml'), (err: unknown) => err instanceof FetchConfigError && pattern.test(err.message));
  bad({ server: 'pop3s://a@h', colour: 'red' }, /account\[0\]\.colour: unknown key/);
  bad({ host: 'h' }, /needs a user/);
  bad({ server: 'pop3s://a@h', host: 'h' }, /either server/);
  bad({ server: 'pop3s://a@h', password_env: 'X' }, /exactly one of password/);
  bad({ server: 'pop3s://a@h', auth: 'kerberos' }, /unknown auth/);
  bad({ server: 'pop3s://a@h', keep: false, delete_after_days: 3 }, /only makes sense with keep/);
  bad({ server: 'pop3s://a@h', deliver: 'smtp:h:25' }, /recipient/);
  assert.throws(() => parseFetchConfig({ account: [] }, '/f.toml'), /account/);
  // Said as what is wanted, not in the validator's words.
  assert.throws(
    () => parseFetchConfig({ interval: 5, account: [{ server: 'pop3s://a@h', password: 'p', deliver: 'maildir:M' }] }, '/f.toml'),
    (err: unknown) => err instanceof Error && /^ {2}interval: wanted a duration such as "5m", not a number$/m.test(err.message) && !/expected|received/.test(err.message),
  );
  assert.throws(
    () => parseFetchConfig({ account: [{ server: 'pop3s://a@h', password: 'p' }] }, '/f.toml'),
    (err: unknown) => err instanceof Error && /^ {2}account\[0\]\.deliver: missing; wanted a destination such as "maildir:~\/Maildir"/m.test(err.message),
  );
  assert.throws(
    () => parseFetchConfig({ account: [{ name: 'x', server: 'pop3s://a@h', password: 'p', deliver: 'maildir:M' }, { name: 'x', server: 'pop3s://b@h', password: 'p', deliver: 'maildir:N' }] }, '/f.toml'),
    /two accounts are named x/,
  );
});
