import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasProgram, run } from './support/server-process.js';
import { startSmtpHarness, type SmtpHarness } from './support/smtp-harness.js';

/** CRLF, as SMTP and POP3 put every line on the wire. */
const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** The trace fields postel puts in front: Return-Path, then a folded Received. */
const TRACE = /^Return-Path: <[^>]*>\r\nDelivered-To: [^\r\n]*\r\nReceived: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*/;

describe('interoperability: swaks and smtplib send, curl and poplib read back over POP3', () => {
  let h: SmtpHarness;
  let haveSwaks = false;
  let haveCurl = false;
  let havePython = false;
  before(async () => {
    [haveSwaks, haveCurl, havePython] = await Promise.all([hasProgram('swaks'), hasProgram('curl'), hasProgram('python3')]);
    h = await startSmtpHarness({
      users: { alice: 'secret', bob: 'secret', carol: 'secret', dave: 'secret' },
      aliases: 'jörg@example.test  carol\n',
    });
  });
  after(() => h?.stop());

  it('swaks -> SMTP, curl <- POP3: trace fields added, body unchanged, dot lines intact', async (t) => {
    if (!haveSwaks || !haveCurl) return t.skip(`needs swaks and curl (missing: ${[!haveSwaks && 'swaks', !haveCurl && 'curl'].filter(Boolean).join(', ')})`);
    const message = crlf(
      ['From: Sender <sender@remote.test>', 'To: alice@example.test', 'Subject: swaks round trip', 'Message-ID: <swaks.1@remote.test>', '', 'first', '.leading dot', '..two leading dots', '.', 'last', ''].join('\n'),
    );
    const file = join(h.dataDir, 'swaks.eml');
    // swaks ends DATA with "\r\n.", so the file leaves out the last line end.
    await writeFile(file, message.slice(0, -2));
    const sent = await run('swaks', ['--to', 'alice@example.test', '--from', 'sender@remote.test', '--server', `127.0.0.1:${h.ports.smtp}`, '--data', `@${file}`, '--hide-all']);
    assert.equal(sent.code, 0, sent.stderr + sent.stdout.toString());
    const got = await run('curl', ['-s', `pop3://alice:secret@127.0.0.1:${h.pop3.port}/1`]);
    assert.equal(got.code, 0, got.stderr);
    const text = got.stdout.toString('utf8');
    assert.match(text, /^Return-Path: <sender@remote\.test>\r\nDelivered-To: alice@example\.test\r\nReceived: from [^\r\n]+ \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(postel\) with ESMTP id /);
    assert.equal(text.replace(TRACE, ''), message);
  });

  it('smtplib -> SMTP with SMTPUTF8 and 8BITMIME, poplib <- POP3 after UTF8 (RFC 6856): the same bytes', async (t) => {
    if (!havePython) return t.skip('python3 not installed');
    const script = String.raw`
import poplib, smtplib, sys
smtp_port, pop_port = int(sys.argv[1]), int(sys.argv[2])
msg = ("From: André <andré@remote.test>\r\nTo: Jörg <jörg@example.test>\r\nSubject: Grüße aus Köln\r\n"
       "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       "Ünïcödé bödy: 日本語, emoji \U0001F600\r\n.dot line\r\n\xff\xfe raw latin-1 bytes follow\r\n").encode("utf-8")
msg += b"\xe9t\xe9 \x80\x81\r\n"
with smtplib.SMTP("127.0.0.1", smtp_port) as s:
    s.ehlo("python.test")
    assert s.has_extn("smtputf8") and s.has_extn("8bitmime")
    refused = s.sendmail("andré@remote.test", ["jörg@example.test"], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    assert refused == {}, refused
p = poplib.POP3("127.0.0.1", pop_port)
# Without UTF8 the server downgrades a message with UTF-8 header fields (RFC 6856 section 4).
p.utf8()
p.user("carol"); p.pass_("secret")
count = len(p.list()[1])
lines = p.retr(count)[1]
p.quit()
got = b"\r\n".join(lines) + b"\r\n"
head = got.split(b"\r\n")
assert head[0] == "Return-Path: <andré@remote.test>".encode("utf-8"), head[0]
assert head[1] == "Delivered-To: jörg@example.test".encode("utf-8"), head[1]
assert head[2].startswith(b"Received: from python.test ([127.0.0.1])"), head[2]
assert b"with UTF8SMTP id" in head[3], head[3]
assert "for <jörg@example.test>".encode("utf-8") in head[4], head[4]
body = b"\r\n".join(head[5:])
assert body == msg, (body, msg)
print("ok")
`;
    const r = await run('python3', ['-c', script, String(h.ports.smtp), String(h.pop3.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().trim(), 'ok');
  });

  it('smtplib sends a 20 MB message; poplib reads back a body with the same SHA-256', async (t) => {
    if (!havePython) return t.skip('python3 not installed');
    const script = String.raw`
import hashlib, poplib, random, smtplib, sys
smtp_port, pop_port = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(4)
alphabet = bytes(range(0x20, 0x7f)) + bytes(range(0xa0, 0x100))
parts = [b"From: big@remote.test\r\nTo: dave@example.test\r\nSubject: twenty megabytes\r\n\r\n"]
size = len(parts[0])
i = 0
while size < 20_000_000:
    n = rnd.choice((0, 1, 76, 76, 76, 500, 998))
    line = bytes(rnd.choice(alphabet) for _ in range(min(n, 40))) * (n // 40 + 1)
    line = line[:n]
    if i % 97 == 0:
        line = b"." + line
    parts.append(line + b"\r\n")
    size += len(line) + 2
    i += 1
msg = b"".join(parts)
with smtplib.SMTP("127.0.0.1", smtp_port) as s:
    s.sendmail("big@remote.test", ["dave@example.test"], msg, mail_options=["BODY=8BITMIME"])
p = poplib.POP3("127.0.0.1", pop_port)
p.user("dave"); p.pass_("secret")
resp, lines, octets = p.retr(1)
p.quit()
# Return-Path, Delivered-To, then Received folded over three lines.
body = b"\r\n".join(lines[5:]) + b"\r\n"
print(len(msg), hashlib.sha256(msg).hexdigest(), hashlib.sha256(body).hexdigest())
`;
    const r = await run('python3', ['-c', script, String(h.ports.smtp), String(h.pop3.port)]);
    assert.equal(r.code, 0, r.stderr);
    const [size, sent, received] = r.stdout.toString().trim().split(' ');
    assert.ok(Number(size) >= 20_000_000);
    assert.equal(received, sent);
    // And the stored file is the same message with LF line ends.
    const [stored] = await h.stored('dave');
    assert.ok(stored);
    assert.ok(stored.length > 19_000_000);
  });

  it('smtplib gets 550 for an unknown user and 554 for a relay attempt', async (t) => {
    if (!havePython) return t.skip('python3 not installed');
    const script = String.raw`
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.ehlo("python.test")
    s.mail("x@remote.test")
    print(s.rcpt("nobody@example.test")[0], s.rcpt("someone@elsewhere.example")[0], s.rcpt("alice@example.test")[0])
`;
    const r = await run('python3', ['-c', script, String(h.ports.smtp)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().trim(), '550 554 250');
  });
});
