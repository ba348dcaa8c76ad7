import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when Debian's chromium is installed. */
export function chromiumUnavailable(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (Debian package chromium; npm test installs it when run as root)`;
}

/** Headless Debian chromium through playwright-core, on a fresh profile that close() removes. */
export async function launchChromium(options: { downloadsPath: string }): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'postel-chromium-'));
  // A new empty profile (--user-data-dir, which playwright takes as this argument).
  const context = await chromium.launchPersistentContext(profile, {
    acceptDownloads: true,
    downloadsPath: options.downloadsPath,
    viewport: { width: 1280, height: 800 },
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
