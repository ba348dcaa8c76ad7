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

/** STAT over POP3 (the console's API reads take no maildrop lock, so a login is never refused for them). */
async function pop3Stat(server: TestServer, user: string, password: string): Promise<number> {
  const client = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
  try {
    await client.login(user, password);
    const { count } = await client.stat();
    await client.quit();
    return count;
  } catch (err) {
    await client.quit().catch(() => undefined);
    throw err;
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
    const remote: Server = createServer((req, res) => {
      remoteHits++;
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
      assert.equal(remoteHits, 0, 'no request reached the remote host');
      assert.deepEqual(completed.filter((u) => u.startsWith(remoteUrl)), [], 'no request to the remote host completed');
      // Asked for: now the image loads.
      const asked = page.waitForEvent('request', { predicate: (r) => r.url() === `${remoteUrl}/pixel.png` });
      await page.click('button:has-text("Load remote images")');
      await Promise.all([asked, firstHit]);
      assert.ok(!requests.some((u) => u.startsWith(`${remoteUrl}/form`)), 'the form was not submitted');
      await page.close();
    } finally {
      await new Promise((resolve) => remote.close(resolve));
    }
  });

  it('the users, sessions, server and chaos pages render for the admin (screenshots) and at phone width', async () => {
    const page = await context.newPage();
    await signInWithToken(page, server);
    await page.goto(`${server.http.url}/#/users`);
    await page.waitForSelector('#users tr[data-user=ann]');
    await page.fill('input[name=new-user]', 'carol');
    await page.fill('input[name=new-password]', 'carol-pw');
    await page.click('button:text("Add user")');
    await page.waitForSelector('#users tr[data-user=carol]');
    assert.equal(await pop3Stat(server, 'carol', 'carol-pw'), 0, 'the new user logs in over POP3');
    await page.screenshot({ path: join(SHOTS, 'users.png') });
    // A POP3 session holding bob's lock shows on the sessions and mailboxes pages.
    const client = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
    await client.login('bob', 'bob-pw');
    await page.goto(`${server.http.url}/#/sessions`);
    await page.waitForSelector('#sessions td:text("bob")');
    await page.screenshot({ path: join(SHOTS, 'sessions.png') });
    await page.goto(`${server.http.url}/#/mailboxes`);
    await page.waitForSelector('#mailboxes tr:has-text("bob") td:has-text("127.0.0.1")');
    await page.goto(`${server.http.url}/#/sessions`);
    await page.waitForSelector('#sessions td:text("bob")');
    await page.click('#sessions button:has-text("End")');
    await page.waitForSelector('text=No one is connected.');
    await client.quit().catch(() => undefined);
    await page.goto(`${server.http.url}/#/server`);
    await page.waitForSelector('h1:text("Server")');
    await page.screenshot({ path: join(SHOTS, 'server.png') });
    await page.goto(`${server.http.url}/#/chaos`);
    await page.waitForSelector('textarea.code');
    await page.screenshot({ path: join(SHOTS, 'chaos.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.http.url}/#/mailbox/bob`);
    await page.waitForSelector('table.messages td.subject');
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), 'no sideways scrolling at phone width');
    await page.screenshot({ path: join(SHOTS, 'messages-phone.png') });
    await page.close();
  });
});
