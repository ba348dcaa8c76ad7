import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { receivedHeader, returnPathHeader, rfc5322Date, transmissionProtocol } from './trace-headers.js';

describe('trace header fields', () => {
  const date = new Date(Date.UTC(2025, 6, 1, 9, 5, 3));

  it('formats RFC 5322 dates in UTC', () => {
    assert.equal(rfc5322Date(date), 'Tue, 01 Jul 2025 09:05:03 +0000');
  });

  it('builds a folded RFC 5321 Received field with TLS and recipient', () => {
    const field = receivedHeader({
      helo: 'client.example',
      remoteAddress: '::ffff:192.0.2.7',
      hostname: 'mx.example',
      protocol: 'ESMTPSA',
      id: 'abc.1',
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      recipient: 'alice@example.org',
      date,
    });
    assert.equal(
      field,
      'Received: from client.example ([192.0.2.7])\r\n\tby mx.example (postel) with ESMTPSA id abc.1\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n\tfor <alice@example.org>; Tue, 01 Jul 2025 09:05:03 +0000\r\n',
    );
  });

  it('uses IPv6 address literals, leaves "for" out for shared copies, and strips header-breaking characters', () => {
    const field = receivedHeader({ helo: 'evil\r\nX-Injected: 1', remoteAddress: '2001:db8::1', hostname: 'mx', protocol: 'SMTP', id: 'i', date });
    assert.equal(field, 'Received: from evilX-Injected:1 ([IPv6:2001:db8::1])\r\n\tby mx (postel) with SMTP id i; Tue, 01 Jul 2025 09:05:03 +0000\r\n');
    assert.equal(returnPathHeader(''), 'Return-Path: <>\r\n');
  });

  it('names the protocol as RFC 3848 and RFC 6531 register it', () => {
    assert.equal(transmissionProtocol('EHLO', { utf8: false, tls: false, auth: false }), 'ESMTP');
    assert.equal(transmissionProtocol('EHLO', { utf8: false, tls: true, auth: true }), 'ESMTPSA');
    assert.equal(transmissionProtocol('EHLO', { utf8: true, tls: true, auth: false }), 'UTF8SMTPS');
    assert.equal(transmissionProtocol('LHLO', { utf8: false, tls: false, auth: false }), 'LMTP');
    assert.equal(transmissionProtocol('HELO', { utf8: false, tls: false, auth: false }), 'SMTP');
  });
});
