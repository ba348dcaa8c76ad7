import { randomUUID } from 'node:crypto';
import { XMLBuilder } from 'fast-xml-parser';
import { build as buildPlist } from 'plist';
import type { ClientSettings } from './settings.js';

const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, suppressEmptyNode: true });
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * Thunderbird's autoconfig file (config-v1.1.xml): POP3 over TLS first, then POP3 with
 * STARTTLS, and submission. `username` is a literal or one of Thunderbird's placeholders.
 */
export function thunderbirdConfig(s: ClientSettings, domain: string, username: string): string {
  const incoming = [
    ...(s.pop3sPort ? [{ port: s.pop3sPort, socketType: 'SSL' }] : []),
    ...(s.pop3Port ? [{ port: s.pop3Port, socketType: 'STARTTLS' }] : []),
  ].map((l) => ({
    '@type': 'pop3',
    hostname: s.host,
    port: l.port,
    socketType: l.socketType,
    username,
    authentication: 'password-cleartext',
    pop3: { leaveMessagesOnServer: 'true', downloadOnBiff: 'true' },
  }));
  const outgoing = [
    ...(s.submissionsPort ? [{ port: s.submissionsPort, socketType: 'SSL' }] : []),
    ...(s.submissionPort ? [{ port: s.submissionPort, socketType: 'STARTTLS' }] : []),
  ].map((l) => ({ '@type': 'smtp', hostname: s.host, port: l.port, socketType: l.socketType, username, authentication: 'password-cleartext' }));
  return (
    DECLARATION +
    xml.build({
      clientConfig: {
        '@version': '1.1',
        emailProvider: { '@id': domain, domain, displayName: s.displayName, displayShortName: s.displayName, incomingServer: incoming, outgoingServer: outgoing },
      },
    })
  );
}

/** Outlook's POX autodiscover answer (the "outlook" response schema, 2006a) for one address. */
export function outlookAutodiscover(s: ClientSettings, loginName: string): string {
  const protocols = [
    ...(s.pop3sPort ? [{ Type: 'POP3', Server: s.host, Port: s.pop3sPort, LoginName: loginName, DomainRequired: 'off', SPA: 'off', SSL: 'on', AuthRequired: 'on' }] : []),
    ...(s.submissionPort || s.submissionsPort
      ? [
          {
            Type: 'SMTP',
            Server: s.host,
            Port: s.submissionsPort || s.submissionPort,
            LoginName: loginName,
            DomainRequired: 'off',
            SPA: 'off',
            ...(s.submissionsPort ? { SSL: 'on' } : { Encryption: 'TLS' }),
            AuthRequired: 'on',
            UsePOPAuth: 'on',
          },
        ]
      : []),
  ];
  return (
    DECLARATION +
    xml.build({
      Autodiscover: {
        '@xmlns': 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006',
        Response: {
          '@xmlns': 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a',
          Account: { AccountType: 'email', Action: 'settings', Protocol: protocols },
        },
      },
    })
  );
}

/** An Apple configuration profile with one POP3 account (com.apple.mail.managed). */
export function appleMobileconfig(s: ClientSettings, address: string, loginName: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const reverse = domain.split('.').reverse().join('.');
  const tls = s.pop3sPort !== 0;
  const account = {
    PayloadType: 'com.apple.mail.managed',
    PayloadVersion: 1,
    PayloadIdentifier: `${reverse}.postel.mail.${randomUUID()}`,
    PayloadUUID: randomUUID(),
    PayloadDisplayName: `${s.displayName} (${address})`,
    EmailAccountDescription: `${s.displayName} (${address})`,
    EmailAccountType: 'EmailTypePOP',
    EmailAddress: address,
    IncomingMailServerHostName: s.host,
    IncomingMailServerPortNumber: tls ? s.pop3sPort : s.pop3Port,
    IncomingMailServerUseSSL: true,
    IncomingMailServerAuthentication: 'EmailAuthPassword',
    IncomingMailServerUsername: loginName,
    OutgoingMailServerHostName: s.host,
    OutgoingMailServerPortNumber: s.submissionsPort || s.submissionPort,
    OutgoingMailServerUseSSL: true,
    OutgoingMailServerAuthentication: 'EmailAuthPassword',
    OutgoingMailServerUsername: loginName,
    OutgoingPasswordSameAsIncomingPassword: true,
  };
  return buildPlist({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: `${reverse}.postel.profile`,
    PayloadUUID: randomUUID(),
    PayloadDisplayName: `${s.displayName} mail`,
    PayloadContent: [account],
  });
}

/** RFC 6186 SRV records for one domain, in zone-file form; services not offered get the "." target. */
export function srvRecords(s: ClientSettings, domain: string, ttl = 3600): string[] {
  const target = s.host.endsWith('.') ? s.host : `${s.host}.`;
  const record = (service: string, priority: number, port: number): string =>
    port ? `_${service}._tcp.${domain}. ${ttl} IN SRV ${priority} 1 ${port} ${target}` : `_${service}._tcp.${domain}. ${ttl} IN SRV 0 0 0 .`;
  return [
    record('pop3s', 0, s.pop3sPort),
    record('pop3', 10, s.pop3Port),
    record('submissions', 0, s.submissionsPort),
    record('submission', 10, s.submissionPort),
    // No IMAP here: "." tells clients not to look for it (RFC 6186 section 3.4).
    `_imap._tcp.${domain}. ${ttl} IN SRV 0 0 0 .`,
    `_imaps._tcp.${domain}. ${ttl} IN SRV 0 0 0 .`,
  ];
}
