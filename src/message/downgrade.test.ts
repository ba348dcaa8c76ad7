import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { downgradeHeader, hasRawUtf8, noticeSize, NOTICE_HEAD, NOTICE_TAIL } from './downgrade.js';
import { decodeEncodedWords } from './headers.js';

const down = (header: string): string | null => downgradeHeader(Buffer.from(header, 'utf8'));

describe('downgrading UTF-8 header fields (RFC 6857 style)', () => {
  it('leaves ASCII fields alone and says whether a header needs it at all', () => {
    assert.equal(down('Subject: plain\nX-A: b\n\tcontinued'), 'Subject: plain\r\nX-A: b\r\n\tcontinued\r\n');
    assert.equal(hasRawUtf8(Buffer.from('Subject: plain\n')), false);
    assert.equal(hasRawUtf8(Buffer.from('Subject: caf\u00e9\n')), true);
  });

  it('turns unstructured text into encoded words that decode back, ASCII words kept readable', () => {
    const out = down('Subject: Caf\u00e9 cr\u00e8me for everyone\nX-Note: \u65e5\u672c\u8a9e') as string;
    assert.match(out, /^[\x20-\x7e\r\n\t]*$/);
    const subject = /^Subject: (.*(?:\r\n .*)*)\r\n/.exec(out)?.[1] as string;
    assert.match(subject, /for everyone$/);
    assert.equal(decodeEncodedWords(subject.replace(/\r\n /g, ' ')), 'Caf\u00e9 cr\u00e8me for everyone');
    assert.equal(decodeEncodedWords((/X-Note: (.*)\r\n/.exec(out)?.[1] ?? '').replace(/\r\n /g, ' ')), '\u65e5\u672c\u8a9e');
    for (const line of out.split('\r\n')) assert.ok(line.length <= 78, line);
  });

  it('addresses: encoded display names; a non-ASCII address becomes an empty group named after it', () => {
    const out = down('From: Jos\u00e9 <jose@example.org>\nTo: "Ren\u00e9e" <renee@example.org>, plain@example.org, \u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a') as string;
    assert.match(out, /^From: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= <jose@example\.org>\r\n/);
    const to = (/To: ([^]*)$/.exec(out)?.[1] ?? '').replace(/\r\n /g, ' ').trim();
    const [renee, plain, group] = to.split(', ');
    assert.equal(decodeEncodedWords(renee?.replace(/ <.*/, '') ?? ''), 'Ren\u00e9e');
    assert.equal(plain, 'plain@example.org');
    assert.match(group ?? '', / :;$/);
    assert.equal(decodeEncodedWords(group?.replace(/ :;$/, '') ?? ''), '\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a');
  });

  it('MIME parameters get RFC 2231 values; structured fields are kept as Downgraded- fields', () => {
    const out = down('Content-Type: application/pdf; name="r\u00e9sum\u00e9.pdf"\nMessage-ID: <\u00e9@example.org>\nReturn-Path: <\u00e9@example.org>') as string;
    assert.match(out, /^Content-Type: application\/pdf; name\*=utf-8''r%C3%A9sum%C3%A9\.pdf\r\n/);
    assert.match(out, /\r\nDowngraded-Message-ID: =\?UTF-8\?B\?[^?]+\?=\r\n/);
    assert.equal(decodeEncodedWords(/Downgraded-Message-ID: (.*)\r\n/.exec(out)?.[1] ?? ''), '<\u00e9@example.org>');
    assert.match(out, /\r\nDowngraded-Mail-From: /);
    assert.doesNotMatch(out, /^Message-ID:|^Return-Path:/m);
  });

  it('cannot downgrade a header that is not UTF-8: null, and the notice is used', () => {
    assert.equal(downgradeHeader(Buffer.from('Subject: caf\xe9\n', 'latin1')), null);
    assert.match(NOTICE_HEAD, /^[\x20-\x7e\r\n]*$/);
    // 57 octets make a line of 76 base64 characters and CRLF.
    assert.equal(noticeSize(57), NOTICE_HEAD.length + 78 + NOTICE_TAIL.length);
    assert.equal(noticeSize(58), NOTICE_HEAD.length + 78 + 6 + NOTICE_TAIL.length);
    assert.equal(noticeSize(0), NOTICE_HEAD.length + NOTICE_TAIL.length);
  });
});
