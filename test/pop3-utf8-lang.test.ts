import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { plainMechanism } from '../src/auth/sasl/plain.js';
import { UsersCredentials } from '../src/auth/sasl/users-credentials.js';
import { bodyLines, listAndUidl } from './support/interop-cli.js';
import { hasProgram, run } from './support/server-process.js';
import { crlf } from './support/wire-client.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

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
    t = await startPop3TestServer({ users: { alice: 'secret', [composed]: 'p\u00e4sswort' }, sasl: (users) => [plainMechanism(new UsersCredentials(users))] });
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

/** The message octets of a RETR body: dot-stuffing undone, every line with its CRLF. */
function unstuffed(body: Buffer): Buffer {
  return Buffer.concat(bodyLines(body).map((l) => Buffer.from(`${l.startsWith('.') ? l.slice(1) : l}\r\n`, 'latin1')));
}

describe('RFC 6856 section 4: messages with UTF-8 header fields and clients without UTF8', () => {
  let t: TestServer;
  const utf8Message = 'Subject: Caf\u00e9 cr\u00e8me\nFrom: Jos\u00e9 <jose@example.org>\nTo: \u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a\n\nBody with \u00e9 stays.\n.dotted\n';
  const broken = Buffer.from('Subject: caf\xe9 in Latin-1\n\nnot UTF-8 at all\n', 'latin1');
  const ascii = 'Subject: plain\n\nhello\n';
  before(async () => {
    t = await startPop3TestServer({ users: { alice: 'secret' } });
    await t.deliver('alice', utf8Message);
    await t.deliver('alice', broken);
    await t.deliver('alice', ascii);
  });
  after(() => t.stop());

  it('without UTF8: downgraded header or the notice, and LIST, STAT and TOP agree with what RETR sends', async () => {
    const c = await t.login('alice', 'secret');
    const { sizes } = await listAndUidl(c);
    const sent = [];
    for (let i = 1; i <= 3; i++) {
      const r = await c.multi(`RETR ${i}`);
      assert.equal(r.status, `+OK ${sizes[i - 1]} octets`);
      sent.push(unstuffed(r.body));
    }
    assert.deepEqual(sent.map((m) => m.length), sizes, 'LIST sizes are the octets RETR sends');
    assert.equal(await c.command('STAT'), `+OK 3 ${sizes.reduce((a, b) => a + b, 0)}`);
    for (const m of sent.slice(0, 2)) {
      const header = m.subarray(0, m.indexOf('\r\n\r\n'));
      assert.ok(!header.some((b) => b > 0x7f), header.toString('latin1'));
    }
    const first = sent[0]?.toString('utf8') ?? '';
    assert.match(first, /^Subject: =\?UTF-8\?B\?/);
    assert.match(first, /\r\nTo: =\?UTF-8\?B\?[^\r]*:;\r\n/);
    assert.ok(first.endsWith('\r\n\r\nBody with \u00e9 stays.\r\n.dotted\r\n'), 'the body is sent as stored');
    assert.match(sent[1]?.toString('latin1') ?? '', /^From: Mail System <MAILER-DAEMON>\r\n[^]*Content-Type: message\/global\r\n/);
    assert.deepEqual(sent[2], crlf(ascii), 'an ASCII message is untouched');
    const top = await c.multi('TOP 1 0');
    assert.ok(!top.body.some((b) => b > 0x7f), 'TOP sends the downgraded header too');
    await c.command('QUIT');
    c.close();
  });

  it('after UTF8: every message as stored, sizes as stored', async () => {
    const c = await t.connect();
    await c.line();
    assert.equal(await c.command('UTF8'), '+OK UTF8 enabled');
    await c.command('USER alice');
    assert.match(await c.command('PASS secret'), /^\+OK/);
    const { sizes } = await listAndUidl(c);
    const stored = [crlf(Buffer.from(utf8Message, 'utf8')), crlf(broken), crlf(ascii)];
    assert.deepEqual(sizes, stored.map((m) => m.length));
    for (let i = 1; i <= 3; i++) assert.deepEqual(unstuffed((await c.multi(`RETR ${i}`)).body), stored[i - 1]);
    await c.command('QUIT');
    c.close();
  });

  it('curl (no UTF8) gets the downgraded form', async (t2) => {
    if (!(await hasProgram('curl'))) return t2.skip('curl not installed');
    const r = await run('curl', ['-s', `pop3://alice:secret@127.0.0.1:${t.port}/1`]);
    assert.equal(r.code, 0, r.stderr);
    const header = r.stdout.subarray(0, r.stdout.indexOf('\r\n\r\n'));
    assert.ok(header.length > 0 && !header.some((b) => b > 0x7f), r.stdout.toString('latin1'));
    assert.match(header.toString('latin1'), /^Subject: =\?UTF-8\?B\?/);
  });
});
