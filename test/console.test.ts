import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTransport } from 'nodemailer';
import type { BrowserContext, Page } from 'playwright-core';
import { Pop3Client } from '../src/client/index.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { chromiumUnavailable, launchChromium } from './support/browser.js';
import { api } from './support/http-api.js';
import { RawPeer } from './support/raw-peer.js';

/** Screenshots for a reviewer, under a gitignored folder. */
const SHOTS = join(process.cwd(), '.tmp', 'console-screenshots');

// Code run in the page is passed as strings (this project compiles without the DOM library);
// waitForFunction would need eval, which the console's CSP refuses, so waits are on selectors.

// A 2x2 PNG: the attachment whose bytes the download must reproduce.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

const skip = chromiumUnavailable();

async function signInWithToken(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.http.url}/`);
  await page.fill('input[name=token]', server.http.token);
  await page.click('button[type=submit]');
  await page.waitForSelector('header .who');
}

/** A POP3 login (the console's API reads take no maildrop lock, so a login is never refused for them). */
async function pop3Login(server: TestServer, user: string, password: string): Promise<Pop3Client> {
  const client = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
  try {
    await client.login(user, password);
    return client;
  } catch (err) {
    await client.quit().catch(() => undefined);
    throw err;
  }
}

/** STAT over POP3, logged in as above. */
async function pop3Stat(server: TestServer, user: string, password: string): Promise<number> {
  const client = await pop3Login(server, user, password);
  try {
    return (await client.stat()).count;
  } finally {
    await client.quit().catch(() => undefined);
  }
}

describe('web console in Chromium', { skip }, () => {
  let server: TestServer;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let downloads: string;

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    downloads = await mkdtemp(join(tmpdir(), 'postel-downloads-'));
    server = await startTestServer({ users: { bob: 'bob-pw', ann: 'ann-pw' } });
    ({ context, close: closeBrowser } = await launchChromium({ downloadsPath: downloads }));
  });
  after(async () => {
    await closeBrowser?.();
    await server?.close();
    await rm(downloads, { recursive: true, force: true });
  });

  it('serves the built app at / with its content types and a strict CSP, and no CDN', async () => {
    const res = await fetch(`${server.http.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const html = await res.text();
    assert.doesNotMatch(html, /https?:\/\//, 'every asset is served locally');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1];
    assert.ok(script && style, html);
    const js = await fetch(`${server.http.url}${script}`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal((await fetch(`${server.http.url}${style}`)).headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal((await fetch(`${server.http.url}/assets/..%2Fpackage.json`)).status, 404);
    assert.equal((await fetch(`${server.http.url}/assets/nope.js`)).status, 404);
  });

  it('admin: live arrival over SMTP, tabs, attachment download, search, delete agreeing with POP3 STAT', async () => {
    const page = await context.newPage();
    const failures: string[] = [];
    page.on('pageerror', (err) => failures.push(err.message));
    await signInWithToken(page, server);
    await page.waitForSelector('#mailboxes td a:text("bob")');
    await page.screenshot({ path: join(SHOTS, 'mailboxes.png') });

    await page.goto(`${server.http.url}/#/mailbox/bob`);
    await page.waitForSelector('.live.on');
    // Survives only while the page is not reloaded.
    await page.evaluate('window.notReloaded = true');
    const transport = createTransport({ host: server.smtp.host, port: server.smtp.port, ignoreTLS: true });
    await transport.sendMail({
      from: 'app@example.test',
      to: 'bob@postel.test',
      subject: 'Invoice with a picture',
      text: 'Plain words for the invoice.',
      html: '<p>The <b>invoice</b> is attached.</p>',
      attachments: [{ filename: 'pixel.png', content: PNG, contentType: 'image/png' }],
    });
    await transport.sendMail({ from: 'other@example.test', to: 'bob@postel.test', subject: 'Lunch on Friday', text: 'Noodles?' });
    transport.close();
    await page.waitForSelector('table.messages td.subject:has-text("Invoice with a picture")');
    await page.waitForSelector('table.messages td.subject:has-text("Lunch on Friday")');
    assert.equal(await page.evaluate('window.notReloaded'), true, 'no reload');
    // Newest first.
    assert.deepEqual(await page.locator('table.messages td.subject').allTextContents(), ['Lunch on Friday', 'Invoice with a picture']);

    // Keyboard: focus the list, move down, open with Enter.
    await page.focus('table.messages');
    await page.keyboard.press('ArrowDown');
    await page.screenshot({ path: join(SHOTS, 'messages.png') });
    await page.keyboard.press('Enter');
    await page.waitForSelector('h1:has-text("Invoice with a picture")');
    const frame = page.frameLocator('iframe.html');
    await frame.locator('b:text("invoice")').waitFor();
    await page.screenshot({ path: join(SHOTS, 'message.png') });
    await page.click('[role=tab]:has-text("Plain text")');
    await page.waitForSelector('pre.text:has-text("Plain words for the invoice.")');
    await page.click('[role=tab]:has-text("Headers")');
    await page.waitForSelector('table.headers th:text-is("subject"), table.headers th:text-is("Subject")');
    await page.click('[role=tab]:has-text("Raw source")');
    await page.waitForSelector('pre.raw:has-text("Content-Type: multipart/mixed")');
    await page.click('[role=tab]:has-text("Attachments")');
    await page.waitForSelector('img.thumb');
    assert.equal(await page.evaluate("document.querySelector('img.thumb').naturalWidth"), 2, 'the thumbnail decodes');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('ul.attachments button:has-text("Download")')]);
    assert.equal(download.suggestedFilename(), 'pixel.png');
    const saved = await download.path();
    assert.ok(saved);
    assert.deepEqual(await readFile(saved), PNG, 'the downloaded bytes are the attachment');

    // Search narrows the list.
    await page.goto(`${server.http.url}/#/mailbox/bob`);
    await page.waitForSelector('table.messages td.subject:has-text("Lunch on Friday")');
    await page.fill('input[name=query]', 'subject:invoice has:attachment');
    await page.click('button:text("Search")');
    await page.waitForSelector('table.messages td.subject:has-text("Lunch on Friday")', { state: 'detached' });
    assert.deepEqual(await page.locator('table.messages td.subject').allTextContents(), ['Invoice with a picture']);
    await page.fill('input[name=query]', '');
    await page.click('button:text("Search")');
    await page.waitForSelector('table.messages td.subject:has-text("Lunch on Friday")');
    assert.equal(await page.locator('table.messages tbody tr').count(), 2);

    // Delete one: the list and POP3 agree.
    assert.equal(await pop3Stat(server, 'bob', 'bob-pw'), 2);
    await page.locator('tr:has-text("Lunch on Friday") input[type=checkbox]').check();
    await page.click('button:has-text("Delete")');
    await page.waitForSelector('table.messages td.subject:has-text("Lunch on Friday")', { state: 'detached' });
    assert.equal(await page.locator('table.messages tbody tr').count(), 1);
    assert.equal(await pop3Stat(server, 'bob', 'bob-pw'), 1);
    assert.deepEqual(failures, []);
    await page.close();
  });

  it('a user login sees only its own mailbox and gets 403 on another', async () => {
    await server.deliver('ann', 'From: a@example.test\r\nTo: ann@postel.test\r\nSubject: For Ann only\r\n\r\nhi\r\n');
    const page = await context.newPage();
    await page.goto(`${server.http.url}/`);
    await page.click('[role=tab]:has-text("User login")');
    await page.fill('input[name=user]', 'ann');
    await page.fill('input[name=password]', 'ann-pw');
    await page.click('button[type=submit]');
    await page.waitForSelector('table.messages td.subject:has-text("For Ann only")');
    assert.deepEqual(await page.locator('header nav a').allTextContents(), ['My mailbox']);
    await page.goto(`${server.http.url}/#/mailbox/bob`);
    const error = await page.waitForSelector('[role=alert]');
    assert.match((await error.textContent()) ?? '', /^403 /);
    await page.goto(`${server.http.url}/#/users`);
    await page.waitForSelector('text=No such page.');
    await page.close();
  });

  it('hostile HTML runs nothing, loads nothing remote until asked, and cannot reach the token', async () => {
    let remoteHits = 0;
    let hit!: () => void;
    const firstHit = new Promise<void>((resolve) => (hit = resolve));
    const remotePaths: string[] = [];
    const remote: Server = createServer((req, res) => {
      remoteHits++;
      remotePaths.push(req.url ?? '');
      hit();
      res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    });
    await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
    const remoteUrl = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
    try {
      const html = [
        '<p id="hello">Hello</p>',
        '<script>document.body.dataset.ran = "script"; parent.document.title = "pwned"; alert(1)</script>',
        '<img src="x" onerror="document.body.dataset.ran = \'onerror\'">',
        '<a id="js" href="javascript:document.body.dataset.ran=\'link\'">click me</a>',
        `<form id="f" action="${remoteUrl}/form" method="post"><input name="q" value="1"><button id="go">go</button></form>`,
        '<div id="cover" style="position:fixed;top:-2000px;left:-2000px;width:9999px;height:9999px;background:red;z-index:2147483647"></div>',
        `<meta http-equiv="refresh" content="0;url=${remoteUrl}/refresh">`,
        `<style>@import url("${remoteUrl}/import.css"); p { background-image: url("${remoteUrl}/style-bg.png") }</style>`,
        `<link rel="stylesheet" href="${remoteUrl}/link.css">`,
        `<div id="bg" style="background-image:url('${remoteUrl}/inline-bg.png')">background</div>`,
        `<img id="remote" src="${remoteUrl}/pixel.png">`,
      ].join('\n');
      await server.deliver('bob', `From: evil@example.test\r\nTo: bob@postel.test\r\nSubject: Hostile\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n`);
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      // What actually went out and came back. An attempt the frame's CSP blocks may still show
      // as a 'request' event (timing-dependent in Chromium), but it never completes.
      const completed: string[] = [];
      page.on('requestfinished', (r) => completed.push(r.url()));
      let dialogs = 0;
      page.on('dialog', (d) => {
        dialogs++;
        void d.dismiss();
      });
      await signInWithToken(page, server);
      await page.goto(`${server.http.url}/#/mailbox/bob`);
      await page.click('td.subject a:text("Hostile")');
      const frameEl = await page.waitForSelector('iframe.html');
      // The frame's own policy lives in the frame: sandbox without any allowance, and a CSP
      // meta first in the srcdoc's head.
      assert.equal(await frameEl.getAttribute('sandbox'), '');
      const srcdoc = (await frameEl.getAttribute('srcdoc')) ?? '';
      assert.match(srcdoc, /^<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; /);
      const frame = await frameEl.contentFrame();
      assert.ok(frame);
      await frame.waitForSelector('#hello');
      // The message's own cover lies over them: click through events, as a script would.
      await frame.dispatchEvent('#js', 'click');
      await frame.dispatchEvent('#go', 'click');
      await page.screenshot({ path: join(SHOTS, 'hostile.png') });
      assert.equal(await frame.evaluate('document.body.dataset.ran ?? null'), null, 'no script, handler or javascript: link ran');
      assert.equal(await page.title(), 'postel console');
      assert.equal(dialogs, 0);
      // The frame is an opaque origin: neither its storage nor the console's is reachable.
      assert.match(await frame.evaluate("(() => { try { return String(parent.sessionStorage.getItem('postel.authorization')); } catch (e) { return 'blocked ' + e.name; } })()"), /^blocked SecurityError/);
      assert.match(await frame.evaluate("(() => { try { return String(sessionStorage.length); } catch (e) { return 'blocked ' + e.name; } })()"), /^blocked SecurityError/);
      // The message's CSS applies, and stays in its box: the console's own button is still on top.
      assert.equal(await frame.evaluate("getComputedStyle(document.getElementById('cover')).position"), 'fixed');
      const button = await page.locator('header button:has-text("Sign out")').boundingBox();
      assert.ok(button);
      assert.equal(await page.evaluate(`document.elementFromPoint(${button.x + button.width / 2}, ${button.y + button.height / 2})?.textContent`), 'Sign out');
      assert.equal(await frame.evaluate('location.href'), 'about:srcdoc', 'the meta refresh did not navigate the frame');
      assert.equal(remoteHits, 0, `no request reached the remote host: ${remotePaths.join(' ')}`);
      assert.deepEqual(completed.filter((u) => u.startsWith(remoteUrl)), [], 'no request to the remote host completed');
      // Asked for: now the image loads.
      const asked = page.waitForEvent('request', { predicate: (r) => r.url() === `${remoteUrl}/pixel.png` });
      await page.click('button:has-text("Load remote images")');
      await Promise.all([asked, firstHit]);
      assert.ok(!requests.some((u) => u.startsWith(`${remoteUrl}/form`)), 'the form was not submitted');
      // Images only: no style sheet, no navigation, even now.
      await page.frameLocator('iframe.html').locator('#hello').waitFor();
      assert.deepEqual(
        remotePaths.filter((u) => !u.endsWith('.png')),
        [],
        'no style sheet, refresh or form request',
      );
      assert.equal(await (await (await page.waitForSelector('iframe.html')).contentFrame())?.evaluate('location.href'), 'about:srcdoc');
      await page.close();
    } finally {
      // Chromium may keep sockets to the remote host open (keep-alive, preconnects) for minutes:
      // close() alone would wait for them.
      const closed = new Promise((resolve) => remote.close(resolve));
      remote.closeAllConnections();
      await closed;
    }
  });

  it('a POP3 session holding a maildrop shows as its lock holder on the mailboxes page', async () => {
    const client = await pop3Login(server, 'bob', 'bob-pw');
    const page = await context.newPage();
    try {
      await signInWithToken(page, server);
      await page.waitForSelector('#mailboxes tr[data-user=bob] td:has-text("127.0.0.1")');
      type Row = { user: string; messages: number | null };
      const count = ((await api(server, 'GET', '/api/v1/mailboxes/overview')).json as { mailboxes: Row[] }).mailboxes.find((m) => m.user === 'bob')?.messages;
      assert.equal(typeof count, 'number');
      assert.equal(await page.locator('#mailboxes tr[data-user=bob]').getAttribute('data-messages'), String(count), 'counted while locked');
    } finally {
      await client.quit().catch(() => undefined);
    }
    await page.close();
  });

  it('mailboxes page: count, size, quota and last login agree with the API and POP3', async () => {
    await api(server, 'PUT', '/api/v1/users/ann/quota', { body: { bytes: 2_000_000 } });
    const loginFrom = Date.now();
    await pop3Stat(server, 'ann', 'ann-pw');
    const page = await context.newPage();
    await signInWithToken(page, server);
    await page.goto(`${server.http.url}/#/mailboxes`);
    const row = page.locator('#mailboxes tr[data-user=ann]');
    await row.waitFor();
    type Row = { user: string; messages: number | null; size: number; quota: number | null; lastLogin: string | null };
    const overview = ((await api(server, 'GET', '/api/v1/mailboxes/overview')).json as { mailboxes: Row[] }).mailboxes.find((m) => m.user === 'ann');
    assert.ok(overview?.lastLogin);
    assert.ok(Date.parse(overview.lastLogin) >= loginFrom, 'the login just made');
    assert.equal(await row.locator('td.last-login').getAttribute('data-at'), overview.lastLogin);
    assert.equal(await row.getAttribute('data-messages'), String(overview.messages));
    assert.equal(await row.getAttribute('data-size'), String(overview.size));
    assert.equal(overview.quota, 2_000_000);
    assert.equal((await row.locator('td').nth(3).textContent())?.trim(), '1.9 MiB');
    assert.equal(await page.locator('#mailboxes tr[data-user=ann] td.last-login').textContent(), await page.evaluate(`new Date(${JSON.stringify(overview.lastLogin)}).toLocaleString()`));
    await page.close();
  });

  it('sessions page: octets and commands of live POP3 and SMTP sessions, the failed logins, and End', async () => {
    const bad = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
    await assert.rejects(bad.login('Mallory.Typed', 'guess'));
    await bad.quit().catch(() => undefined);
    const pop3 = await RawPeer.connect(server.pop3.port);
    const smtp = await RawPeer.connect(server.smtp.port);
    const page = await context.newPage();
    try {
      await pop3.until(/^\+OK.*\r\n/);
      pop3.send('USER bob\r\nPASS bob-pw\r\nSTAT\r\n');
      await pop3.until(/(\+OK.*\r\n){4}$/);
      await smtp.until(/^220 .*\r\n/);
      smtp.send('EHLO client.example\r\n');
      await smtp.until(/\r\n250 [^\r\n]*\r\n$/);
      await signInWithToken(page, server);
      await page.goto(`${server.http.url}/#/sessions`);
      const p = page.locator('#sessions tr:has(td:text-is("bob"))');
      await p.waitFor();
      assert.deepEqual(
        [await p.getAttribute('data-bytes-in'), await p.getAttribute('data-bytes-out'), (await p.locator('td.commands').textContent())?.trim()],
        [String(pop3.sent), String(pop3.receivedBytes), '3'],
      );
      const s = page.locator('#sessions tr:has(td:text-is("SMTP"))');
      assert.deepEqual(
        [await s.getAttribute('data-bytes-in'), await s.getAttribute('data-bytes-out'), (await s.locator('td.commands').textContent())?.trim()],
        [String(smtp.sent), String(smtp.receivedBytes), '1'],
      );
      const failed = page.locator('#failures tr[data-user="Mallory.Typed"]');
      await failed.waitFor();
      assert.equal(await failed.getAttribute('data-door'), 'pop3');
      assert.equal(await failed.getAttribute('data-address'), '127.0.0.1');
      // A failure while the page is open shows up through the event stream.
      assert.equal((await api(server, 'GET', '/api/v1/users', { auth: { basic: ['Trudy', 'x'] } })).status, 401);
      await page.locator('#failures tr[data-user="Trudy"][data-door="http"]').waitFor();
      await page.screenshot({ path: join(SHOTS, 'sessions.png') });
      // End the POP3 session from the console: the client is told and disconnected.
      await p.locator('button:has-text("End")').click();
      await pop3.until(/-ERR \[SYS\/TEMP\] Session ended by the administrator\r\n$/);
      await page.locator('#sessions tr:has(td:text-is("bob"))').waitFor({ state: 'detached' });
      // And the SMTP one: 421, then the server closes.
      await s.locator('button:has-text("End")').click();
      await smtp.until(/421 4\.3\.2 Session ended by the administrator\r\n$/);
      await page.locator('#sessions tr:has(td:text-is("SMTP"))').waitFor({ state: 'detached' });
    } finally {
      pop3.close();
      smtp.close();
      await page.close();
    }
  });

  it('server page: ports, certificate, store, and charts that match /api/v1/metrics/history after known activity', async () => {
    const history = server.services.http?.history;
    assert.ok(history);
    const first = await history.sample();
    // Known activity: two messages in over SMTP, one POP3 session retrieving one of them, one failed login.
    await server.addUser('erin', 'erin-pw');
    const transport = createTransport({ host: server.smtp.host, port: server.smtp.port, ignoreTLS: true });
    await transport.sendMail({ from: 'a@example.test', to: 'erin@postel.test', subject: 'one', text: 'first' });
    await transport.sendMail({ from: 'a@example.test', to: 'erin@postel.test', subject: 'two', text: 'second' });
    transport.close();
    const client = await pop3Login(server, 'erin', 'erin-pw');
    const [listed] = await client.list();
    assert.ok(listed);
    await client.retr(1);
    await client.quit();
    assert.equal((await api(server, 'GET', '/api/v1/users', { auth: { basic: ['erin', 'wrong'] } })).status, 401);
    const second = await history.sample();

    const page = await context.newPage();
    await signInWithToken(page, server);
    await page.goto(`${server.http.url}/#/server`);
    await page.waitForSelector('figure.chart[data-series=postel_auth_failures_total]');
    const samples = ((await api(server, 'GET', '/api/v1/metrics/history')).json as { samples: { time: string; values: Record<string, number> }[] }).samples;
    assert.equal(await page.locator('.charts').getAttribute('data-samples'), String(samples.length));
    const from = samples.findIndex((x) => x.time === first.time);
    const to = samples.findIndex((x) => x.time === second.time);
    assert.ok(from >= 0 && to > from);
    const expected: Record<string, number> = {
      postel_smtp_messages_total: 2,
      postel_pop3_connections_total: 1,
      postel_pop3_retr_bytes_total: listed.size,
      postel_auth_failures_total: 1,
    };
    for (const [series, activity] of Object.entries(expected)) {
      const chart = (await page.locator(`figure.chart[data-series=${series}]`).getAttribute('data-deltas')) ?? '';
      const deltas = chart.split(',').map(Number);
      const totals = samples.map((x) => x.values[series] ?? 0);
      assert.deepEqual(deltas, totals.slice(1).map((v, i) => Math.max(0, v - (totals[i] ?? 0))), `${series}: the chart is the history's per-sample increase`);
      assert.equal(deltas.slice(from, to).reduce((a, b) => a + b, 0), activity, `${series}: the known activity`);
    }

    type Info = { listening: { service: string; port: number | null }[]; certificates: { validTo: string; names: string[] }[]; store: { kind: string; bytes: number } };
    const info = (await api(server, 'GET', '/api/v1/server')).json as Info;
    for (const l of info.listening) {
      assert.equal(await page.locator(`#ports tr[data-service=${l.service}]`).getAttribute('data-port'), String(l.port ?? ''));
    }
    assert.equal(await page.locator('#ports tr[data-service=pop3]').getAttribute('data-port'), String(server.pop3.port));
    const cert = page.locator('#certificates tbody tr').first();
    assert.equal(await cert.getAttribute('data-valid-to'), info.certificates[0]?.validTo);
    assert.match((await cert.locator('td.names').textContent()) ?? '', new RegExp(`^${info.certificates[0]?.names.join(', ')} \\(default\\)$`));
    assert.equal(await page.locator('#store').getAttribute('data-bytes'), String(info.store.bytes));
    assert.equal(await page.locator('#store').getAttribute('data-kind'), 'maildir');
    await page.screenshot({ path: join(SHOTS, 'server.png'), fullPage: true });
    await page.close();
  });

  it('chaos panel: a POP3 error set in the panel strikes a real POP3 session; hidden where chaos is off', async () => {
    const page = await context.newPage();
    await signInWithToken(page, server);
    await page.waitForSelector('header nav[data-chaos=true]');
    assert.ok((await page.locator('header nav a').allTextContents()).includes('Chaos'));
    await page.goto(`${server.http.url}/#/chaos`);
    await page.waitForSelector('textarea.code');
    await page.selectOption('#pop3-error select[name=command]', 'STAT');
    await page.selectOption('#pop3-error select[name=code]', 'SYS/TEMP');
    await page.fill('#pop3-error input[name=user]', 'bob');
    await page.fill('#pop3-error input[name=times]', '1');
    await page.click('#pop3-error button[type=submit]');
    await page.waitForSelector('#pop3-rules li:has-text("STAT → -ERR [SYS/TEMP] for bob, 1 more time")');
    await page.screenshot({ path: join(SHOTS, 'chaos.png') });
    const client = await pop3Login(server, 'bob', 'bob-pw');
    try {
      await assert.rejects(client.stat(), (err: { code?: string }) => err.code === 'SYS/TEMP');
      assert.equal(typeof (await client.stat()).count, 'number', 'times 1: the next STAT works');
      await client.quit();
    } catch (err) {
      await client.quit().catch(() => undefined);
      throw err;
    }
    await page.click('button:has-text("Clear all")');
    await page.waitForSelector('text=No POP3 errors set.');
    await page.close();

    const plain = await startTestServer({ config: { chaos: { enabled: false } } });
    try {
      const other = await context.newPage();
      await signInWithToken(other, plain);
      await other.waitForSelector('header nav[data-chaos=false]');
      assert.deepEqual(await other.locator('header nav a').allTextContents(), ['Mailboxes', 'Users', 'Sessions', 'Server']);
      await other.goto(`${plain.http.url}/#/chaos`);
      await other.waitForSelector('text=No such page.');
      await other.close();
    } finally {
      await plain.close();
    }
  });

  it('message list: j/k and arrows move, x selects, Delete deletes, Purge empties; POP3 agrees', async () => {
    await server.addUser('dave', 'dave-pw');
    for (const n of [1, 2, 3]) await server.deliver('dave', `From: a@example.test\r\nSubject: M${n}\r\nDate: Wed, 02 Dec 2026 10:0${n}:00 +0000\r\n\r\nbody ${n}\r\n`);
    const page = await context.newPage();
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.accept();
    });
    await signInWithToken(page, server);
    await page.goto(`${server.http.url}/#/mailbox/dave`);
    await page.waitForSelector('table.messages td.subject:has-text("M1")');
    assert.deepEqual(await page.locator('table.messages td.subject').allTextContents(), ['M3', 'M2', 'M1']);
    const cursor = async (): Promise<string | null> => page.locator('table.messages tr[aria-selected=true] td.subject').textContent();
    await page.focus('table.messages');
    assert.equal(await cursor(), 'M3');
    await page.keyboard.press('j');
    assert.equal(await cursor(), 'M2');
    await page.keyboard.press('ArrowDown');
    assert.equal(await cursor(), 'M1');
    await page.keyboard.press('ArrowDown');
    assert.equal(await cursor(), 'M1', 'stops at the end');
    await page.keyboard.press('k');
    assert.equal(await cursor(), 'M2');
    await page.keyboard.press('x');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press(' ');
    assert.equal(await page.locator('table.messages input[type=checkbox]:checked').count(), 2);
    await page.keyboard.press('x');
    assert.equal(await page.locator('table.messages input[type=checkbox]:checked').count(), 1, 'x again unselects');
    await page.keyboard.press('x');
    await page.keyboard.press('Delete');
    await page.waitForSelector('table.messages td.subject:has-text("M3")', { state: 'detached' });
    assert.deepEqual(await page.locator('table.messages td.subject').allTextContents(), ['M1']);
    assert.equal(await pop3Stat(server, 'dave', 'dave-pw'), 1);
    await server.deliver('dave', 'Subject: M4\r\n\r\nmore\r\n');
    await page.waitForSelector('table.messages td.subject:has-text("M4")');
    await page.click('button:has-text("Purge")');
    await page.waitForSelector('p.meta:has-text("0 messages")');
    assert.equal(dialogs, 1, 'purge asks first');
    assert.equal(await page.locator('table.messages tbody tr').count(), 0);
    assert.equal(await pop3Stat(server, 'dave', 'dave-pw'), 0);
    await page.close();
  });

  it('users page: add, change password, quota and delete, each checked over POP3 or the API', async () => {
    const page = await context.newPage();
    const answers: (string | null)[] = [];
    page.on('dialog', (d) => {
      const answer = answers.shift();
      void (answer === null ? d.dismiss() : d.accept(answer));
    });
    await signInWithToken(page, server);
    await page.goto(`${server.http.url}/#/users`);
    await page.fill('input[name=new-user]', 'frank');
    await page.fill('input[name=new-password]', 'frank-pw');
    await page.click('button:text("Add user")');
    const row = page.locator('#users tr[data-user=frank]');
    await row.waitFor();
    assert.equal(await pop3Stat(server, 'frank', 'frank-pw'), 0, 'the new user logs in over POP3');

    // Each change is awaited by its request's answer; the list reloads after it.
    const answered = (method: string, path: string): Promise<unknown> => page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === path);
    answers.push('frank-new-pw');
    await Promise.all([answered('PUT', '/api/v1/users/frank/password'), row.locator('button:text("Password")').click()]);
    await assert.rejects(pop3Stat(server, 'frank', 'frank-pw'), 'the old password no longer works');
    assert.equal(await pop3Stat(server, 'frank', 'frank-new-pw'), 0);

    answers.push('50000');
    await Promise.all([answered('PUT', '/api/v1/users/frank/quota'), row.locator('button:text("Quota")').click()]);
    await page.waitForSelector('#users tr[data-user=frank] td:text("48.8 KiB")');
    const users = ((await api(server, 'GET', '/api/v1/users')).json as { users: { name: string; quota: number | null }[] }).users;
    assert.equal(users.find((u) => u.name === 'frank')?.quota, 50000);

    answers.push('');
    await Promise.all([answered('DELETE', '/api/v1/users/frank'), row.locator('button:text("Delete")').click()]);
    await row.waitFor({ state: 'detached' });
    assert.equal((await api(server, 'GET', '/api/v1/users')).text.includes('"frank"'), false);
    await assert.rejects(pop3Stat(server, 'frank', 'frank-new-pw'));
    await page.screenshot({ path: join(SHOTS, 'users.png') });
    await page.close();
  });

  it('wrong credentials: the console says so itself, and its requests get no Basic challenge (no browser dialog)', async () => {
    const page = await context.newPage();
    const challenges: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 401) challenges.push(r.headers()['www-authenticate'] ?? '(none)');
    });
    await page.goto(`${server.http.url}/`);
    await page.click('[role=tab]:has-text("User login")');
    await page.fill('input[name=user]', 'bob');
    await page.fill('input[name=password]', 'not-it');
    await page.click('button[type=submit]');
    const alert = await page.waitForSelector('[role=alert]');
    assert.match((await alert.textContent()) ?? '', /^401 wrong user name or password/);
    assert.deepEqual(challenges, ['Bearer realm="postel"']);
    await page.close();
  });

  it('dark and light follow the system setting', async () => {
    const page = await context.newPage();
    await signInWithToken(page, server);
    const background = (): Promise<unknown> => page.evaluate('getComputedStyle(document.body).backgroundColor');
    const text = (): Promise<unknown> => page.evaluate('getComputedStyle(document.body).color');
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await background(), 'rgb(21, 24, 28)');
    assert.equal(await text(), 'rgb(230, 233, 237)');
    await page.screenshot({ path: join(SHOTS, 'mailboxes-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await background(), 'rgb(255, 255, 255)');
    assert.equal(await text(), 'rgb(27, 31, 36)');
    await page.close();
  });

  it('every page fits a phone (390 px) without sideways scrolling', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await signInWithToken(page, server);
    const first = (((await api(server, 'GET', '/api/v1/mailboxes/bob/messages')).json as { messages: { id: string }[] }).messages[0]?.id) ?? '';
    const pages: [string, string][] = [
      ['mailboxes', '#mailboxes'],
      ['mailbox/bob', 'table.messages td.subject'],
      [`mailbox/bob/${encodeURIComponent(first)}`, 'dl.envelope'],
      ['users', '#users'],
      ['sessions', '#sessions'],
      ['server', '#ports'],
      ['chaos', 'textarea.code'],
    ];
    for (const [route, ready] of pages) {
      await page.goto(`${server.http.url}/#/${route}`);
      await page.waitForSelector(ready);
      const widths = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
      assert.ok(widths[0] <= widths[1], `${route}: page ${widths[0]} px wide in a ${widths[1]} px window`);
      await page.screenshot({ path: join(SHOTS, `phone-${route.split('/')[0]}.png`) });
    }
    await page.close();
  });
});
