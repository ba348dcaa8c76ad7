import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { plainMechanism } from '../src/auth/sasl/plain.js';
import { UsersCredentials } from '../src/auth/sasl/users-credentials.js';
import { hasProgram, run } from './support/server-process.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/*
 * RFC 6856 over a real socket: the UTF8 and LANG capabilities, UTF-8 user names and
 * passwords after UTF8 (and the refusal that says why before it), and response texts in
 * the language LANG chose.
 */
/** WireClient reads lines as latin1; these answers are UTF-8. */
const utf8 = (line: string): string => Buffer.from(line, 'latin1').toString('utf8');

describe('RFC 6856 UTF8 and LANG', () => {
  let t: TestServer;
  const composed = 'jos\u00e9';
  const decomposed = 'jose\u0301';
  before(async () => {
    t = await startTestServer({ users: { alice: 'secret', [composed]: 'p\u00e4sswort' }, sasl: (users) => [plainMechanism(new UsersCredentials(users))] });
    await t.deliver(composed, 'Subject: hola\n\nhi\n');
  });
  after(() => t.stop());

  it('CAPA offers UTF8 USER and LANG', async () => {
    const c = await t.connect();
    await c.line();
    const caps = (await c.multi('CAPA')).body.toString('utf8').split('\r\n');
    assert.ok(caps.includes('UTF8 USER'), caps.join(', '));
    assert.ok(caps.includes('LANG'), caps.join(', '));
    c.close();
  });

  it('a UTF-8 user name or password before UTF8 is refused, saying UTF8 is needed', async () => {
    const c = await t.connect();
    await c.line();
    assert.equal(await c.command(`USER ${composed}`), '-ERR User names with non-ASCII characters need the UTF8 command first');
    assert.match(await c.command('USER alice'), /^\+OK/);
    assert.equal(await c.command('PASS s\u00e9cret'), '-ERR Passwords with non-ASCII characters need the UTF8 command first');
    // Not a failed login, and the USER is still pending.
    assert.match(await c.command('PASS secret'), /^\+OK alice's maildrop/);
    c.close();
  });

  it('after UTF8, USER/PASS take UTF-8 prepared with SASLprep: composed or decomposed, the same user', async () => {
    for (const [name, password] of [
      [composed, 'p\u00e4sswort'],
      [decomposed, 'pa\u0308sswort'],
    ] as const) {
      const c = await t.connect();
      await c.line();
      assert.equal(await c.command('UTF8'), '+OK UTF8 enabled');
      assert.equal(await c.command('UTF8'), '+OK UTF8 is already enabled');
      assert.match(await c.command(`USER ${name}`), /^\+OK/);
      assert.equal(utf8(await c.command(`PASS ${password}`)), `+OK ${composed}'s maildrop has 1 message (21 octets)`);
      assert.match(await c.command('UTF8'), /^-ERR UTF8 is not valid in this state/);
      assert.match(await c.command('QUIT'), /^\+OK/);
      c.close();
    }
  });

  it('SASL PLAIN takes the UTF-8 name and password, prepared the same way', async () => {
    const c = await t.connect();
    await c.line();
    const initial = Buffer.from(`\0${decomposed}\0pa\u0308sswort`, 'utf8').toString('base64');
    assert.equal(utf8(await c.command(`AUTH PLAIN ${initial}`)), `+OK ${composed}'s maildrop has 1 message (21 octets)`);
    assert.match(await c.command('QUIT'), /^\+OK/);
    c.close();
  });

  it('refuses UTF-8 anywhere but in USER and PASS, and bytes that are not UTF-8', async () => {
    const c = await t.connect();
    await c.line();
    assert.equal(await c.command('UTF8'), '+OK UTF8 enabled');
    assert.equal(await c.command('CAPA \u00e9'), '-ERR Invalid characters in command');
    c.send(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xc3, 0x28, 0x0d, 0x0a]));
    assert.equal(await c.line(), '-ERR Invalid characters in command');
    assert.equal(await c.command('USER a\u0085b'), '-ERR Invalid characters in command', 'a C1 control character');
    assert.equal(await c.command('USER \u00e9/x'), '-ERR Invalid user name');
    c.close();
  });

  it('LANG lists the languages and switches the texts, codes and data untouched; * is the default', async () => {
    const c = await t.connect();
    await c.line();
    const list = await c.multi('LANG');
    assert.equal(list.status, '+OK Language listing follows');
    assert.deepEqual(list.body.toString('utf8').split('\r\n').filter(Boolean), ['en English', 'de Deutsch']);
    assert.equal(await c.command('LANG de-DE'), '+OK de Sprache gewechselt');
    assert.equal(await c.command('NOPE'), '-ERR Unbekannter Befehl');
    assert.equal(await c.command('LANG tlh'), '-ERR Keine Sprache passt zu tlh');
    assert.equal(utf8(await c.command('LANG en_US')), '-ERR Ungültiger Sprachbereich');
    assert.match(await c.command('USER alice'), /^\+OK Bitte das Passwort senden$/);
    assert.equal(await c.command('PASS wrong'), '-ERR [AUTH] Anmeldung fehlgeschlagen');
    assert.match(await c.command('USER alice'), /^\+OK/);
    assert.equal(utf8(await c.command('PASS secret')), '+OK Postfach von alice enthält 0 Nachrichten (0 Oktette)');
    assert.equal(await c.command('STAT'), '+OK 0 0');
    assert.equal(await c.command('RETR 1'), '-ERR Keine solche Nachricht');
    assert.equal(await c.command('LANG *'), '+OK en Language changed');
    assert.equal(await c.command('RETR 1'), '-ERR No such message');
    assert.equal(await c.command('LANG DE'), '+OK de Sprache gewechselt');
    assert.match(await c.command('QUIT'), /^\+OK postel verabschiedet sich/);
    c.close();
  });

  it("Python's poplib utf8() logs in with a UTF-8 name and password", async (t2) => {
    if (!(await hasProgram('python3'))) return t2.skip('python3 not installed');
    const script = [
      'import poplib, sys',
      'p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)',
      'print(p.utf8().decode())',
      'p.user(sys.argv[2])',
      'print(p.pass_(sys.argv[3]).decode("utf-8"))',
      'print(p.stat())',
      'p.quit()',
    ].join('\n');
    const r = await run('python3', ['-c', script, String(t.port), decomposed, 'p\u00e4sswort']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.toString('utf8').trim().split('\n'), ['+OK UTF8 enabled', `+OK ${composed}'s maildrop has 1 message (21 octets)`, '(1, 21)']);
  });
});
