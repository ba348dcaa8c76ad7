import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun } from './support/interop-cli.js';
import { loginTo } from './support/interop-cli.js';
import { runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';

/* `postel export dovecot-uidlist`: usage, unknown maildrops, a maildrop in use. */
describe('postel export dovecot-uidlist', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess | undefined;
  before(async () => {
    env = await tempDataDir();
    for (const user of ['alice', 'bob']) {
      assert.equal((await runCli(['user', 'add', user, '--password-stdin', '--config', env.config], 'pw\n')).code, 0);
      assert.equal((await runCli(['deliver', user, '--config', env.config], `Subject: for ${user}\n\nhi\n`)).code, 0);
    }
  });
  after(async () => {
    await server?.stop();
    await env?.cleanup();
  });

  it('needs a user name or --all, not both (exit 64)', async () => {
    for (const args of [[], ['alice', '--all']]) {
      const r = await runCli(['export', 'dovecot-uidlist', ...args, '--config', env.config]);
      assert.equal(r.code, 64, describeRun(r));
      assert.match(r.stderr, /give a user name or --all/);
    }
  });

  it('refuses a user without a maildrop (exit 67) and creates nothing', async () => {
    const r = await runCli(['export', 'dovecot-uidlist', 'nobody', '--config', env.config]);
    assert.equal(r.code, 67, describeRun(r));
    const bad = await runCli(['export', 'dovecot-uidlist', '../etc', '--config', env.config]);
    assert.equal(bad.code, 67, describeRun(bad));
  });

  it('writes the UIDLs postel shows; a maildrop held by a session is skipped with exit 75, the others are written', async () => {
    server = await startServerProcess(['--config', env.config]);
    const session = await loginTo(server.port, 'alice', 'pw');
    const uidl = await session.command('UIDL 1');
    const r = await runCli(['export', 'dovecot-uidlist', '--all', '--config', env.config]);
    assert.equal(r.code, 75, describeRun(r));
    assert.match(r.stderr, /alice: the maildrop is in use/);
    assert.match(r.stdout, /^bob: 1 messages -> /m);
    await session.command('QUIT');
    session.close();
    const ok = await runCli(['export', 'dovecot-uidlist', 'alice', '--config', env.config]);
    assert.equal(ok.code, 0, describeRun(ok));
    const text = await readFile(join(env.dir, 'data', 'mail', 'alice', 'dovecot-uidlist'), 'utf8');
    assert.match(text, /^3 V\d+ N2 G[0-9a-f]{32}\n1 P[0-9A-F]{16} :\S+\n$/);
    assert.equal(/ P(\S+) /.exec(text)?.[1], uidl.split(' ')[2]);
  });
});
