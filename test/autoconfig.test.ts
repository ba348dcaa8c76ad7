import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse as parsePlist } from 'plist';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { runCli } from './support/server-process.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => ['incomingServer', 'outgoingServer', 'Protocol'].includes(name) });

/**
 * Thunderbird's config-v1.1 format as its reader (comm-central's readFromXML) takes it: each
 * server with a known type, a host name, a port, a socket type and an authentication method
 * from the documented sets, and a user name.
 */
function checkThunderbirdFormat(text: string): { incoming: Record<string, unknown>[]; outgoing: Record<string, unknown>[]; domain: unknown } {
  assert.equal(XMLValidator.validate(text), true, 'well-formed XML');
  const doc = parser.parse(text) as { clientConfig: { '@version': string; emailProvider: { '@id': string; domain: unknown; displayName: unknown; incomingServer: Record<string, unknown>[]; outgoingServer: Record<string, unknown>[] } } };
  assert.equal(doc.clientConfig['@version'], '1.1');
  const provider = doc.clientConfig.emailProvider;
  assert.ok(provider['@id'] && provider.displayName);
  for (const server of [...provider.incomingServer, ...provider.outgoingServer]) {
    assert.ok(['pop3', 'imap', 'smtp'].includes(server['@type'] as string));
    assert.equal(typeof server.hostname, 'string');
    assert.ok(Number.isInteger(server.port) && (server.port as number) > 0 && (server.port as number) < 65536);
    assert.ok(['plain', 'SSL', 'STARTTLS'].includes(server.socketType as string));
    assert.ok(['password-cleartext', 'password-encrypted', 'OAuth2', 'client-IP-address', 'TLS-client-cert', 'none'].includes(server.authentication as string));
    assert.equal(typeof server.username, 'string');
  }
  return { incoming: provider.incomingServer, outgoing: provider.outgoingServer, domain: provider.domain };
}

describe('client autoconfiguration', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      users: { alice: 'pw', 'bob@postel.test': 'pw' },
      config: { autoconfig: { host: 'mail.postel.test', pop3s_port: 995, pop3_port: 110, submission_port: 587 } },
    });
  });
  after(() => server.close());

  it('serves Thunderbird config-v1.1.xml at both paths: POP3 over TLS, then STARTTLS, and submission', async () => {
    for (const path of ['/.well-known/autoconfig/mail/config-v1.1.xml', '/mail/config-v1.1.xml']) {
      const res = await fetch(`${server.http.url}${path}?emailaddress=alice%40postel.test`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/xml/);
      const { incoming, outgoing, domain } = checkThunderbirdFormat(await res.text());
      assert.equal(domain, 'postel.test');
      assert.deepEqual(incoming.map((s) => [s['@type'], s.hostname, s.port, s.socketType, s.username]), [
        ['pop3', 'mail.postel.test', 995, 'SSL', 'alice'],
        ['pop3', 'mail.postel.test', 110, 'STARTTLS', 'alice'],
      ]);
      assert.deepEqual(outgoing.map((s) => [s['@type'], s.port, s.socketType]), [['smtp', 587, 'STARTTLS']]);
    }
    // An address-form user logs in with the whole address; without an address, Thunderbird's placeholder.
    const bob = checkThunderbirdFormat(await (await fetch(`${server.http.url}/mail/config-v1.1.xml?emailaddress=bob%40postel.test`)).text());
    assert.equal(bob.incoming[0]?.username, 'bob@postel.test');
    // Thunderbird asks http://autoconfig.DOMAIN/mail/config-v1.1.xml: the Host names the domain (fetch cannot set Host).
    const byHost = await new Promise<string>((resolve, reject) => {
      const url = new URL(`${server.http.url}/mail/config-v1.1.xml`);
      get({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: 'autoconfig.postel.test' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    assert.equal(checkThunderbirdFormat(byHost).incoming[0]?.username, '%EMAILLOCALPART%');
    assert.equal((await fetch(`${server.http.url}/mail/config-v1.1.xml?emailaddress=a%40elsewhere.example`)).status, 404);
    assert.equal((await fetch(`${server.http.url}/mail/config-v1.1.xml?emailaddress=not-an-address`)).status, 400);
  });

  it('answers Outlook autodiscover POSTs with POP3 and SMTP settings', async () => {
    const request = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>alice@postel.test</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>
</Autodiscover>`;
    const res = await fetch(`${server.http.url}/autodiscover/autodiscover.xml`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: request });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(XMLValidator.validate(text), true);
    const doc = parser.parse(text) as { Autodiscover: { '@xmlns': string; Response: { '@xmlns': string; Account: { AccountType: string; Action: string; Protocol: Record<string, unknown>[] } } } };
    assert.equal(doc.Autodiscover['@xmlns'], 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006');
    assert.equal(doc.Autodiscover.Response['@xmlns'], 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a');
    const account = doc.Autodiscover.Response.Account;
    assert.equal(account.AccountType, 'email');
    assert.equal(account.Action, 'settings');
    assert.deepEqual(account.Protocol.map((p) => [p.Type, p.Server, p.Port, p.LoginName, p.SSL ?? p.Encryption]), [
      ['POP3', 'mail.postel.test', 995, 'alice', 'on'],
      ['SMTP', 'mail.postel.test', 587, 'alice', 'TLS'],
    ]);
    for (const bad of ['not xml <', '<Autodiscover><Request/></Autodiscover>', '<Autodiscover><Request><EMailAddress>x@elsewhere.example</EMailAddress></Request></Autodiscover>']) {
      const r = await fetch(`${server.http.url}/autodiscover/autodiscover.xml`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: bad });
      assert.ok(r.status === 400 || r.status === 404, `${bad} -> ${r.status}`);
    }
  });

  it('builds an Apple .mobileconfig with a POP3 account', async () => {
    const res = await fetch(`${server.http.url}/apple/mobileconfig?email=alice%40postel.test`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-apple-aspen-config');
    const profile = parsePlist(await res.text()) as { PayloadType: string; PayloadVersion: number; PayloadUUID: string; PayloadContent: Record<string, unknown>[] };
    assert.equal(profile.PayloadType, 'Configuration');
    assert.equal(profile.PayloadVersion, 1);
    assert.match(profile.PayloadUUID, /^[0-9a-f-]{36}$/);
    const account = profile.PayloadContent[0] as Record<string, unknown>;
    assert.equal(account.PayloadType, 'com.apple.mail.managed');
    assert.equal(account.EmailAccountType, 'EmailTypePOP');
    assert.equal(account.EmailAddress, 'alice@postel.test');
    assert.equal(account.IncomingMailServerHostName, 'mail.postel.test');
    assert.equal(account.IncomingMailServerPortNumber, 995);
    assert.equal(account.IncomingMailServerUseSSL, true);
    assert.equal(account.IncomingMailServerUsername, 'alice');
    assert.equal(account.OutgoingMailServerPortNumber, 587);
    assert.equal((await fetch(`${server.http.url}/apple/mobileconfig?email=a%40elsewhere.example`)).status, 404);
  });

  it('postel dns prints the RFC 6186 SRV records and the autoconfig names', async () => {
    const { writeFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const file = join(server.dataDir, 'dns.toml');
    await writeFile(file, 'hostname = "mail.example.org"\n[smtp]\nlocal_domains = ["example.org"]\n[autoconfig]\npop3s_port = 995\npop3_port = 110\nsubmission_port = 587\n');
    const r = await runCli(['dns', '--config', file]);
    await rm(file);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    for (const want of [
      '_pop3s._tcp.example.org. 3600 IN SRV 0 1 995 mail.example.org.',
      '_pop3._tcp.example.org. 3600 IN SRV 10 1 110 mail.example.org.',
      '_submission._tcp.example.org. 3600 IN SRV 10 1 587 mail.example.org.',
      '_submissions._tcp.example.org. 3600 IN SRV 0 0 0 .',
      '_imap._tcp.example.org. 3600 IN SRV 0 0 0 .',
      'autoconfig.example.org. 3600 IN CNAME mail.example.org.',
    ]) {
      assert.ok(lines.includes(want), `${want}\nin\n${r.stdout}`);
    }
    // Every record line is in zone-file SRV form.
    for (const line of lines.filter((l) => l.includes(' SRV '))) assert.match(line, /^_[a-z0-9]+\._tcp\.[a-z0-9.-]+\. \d+ IN SRV \d+ \d+ \d+ (\.|[a-z0-9.-]+\.)$/);
  });
});
