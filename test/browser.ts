/** Debian's headless Chromium through playwright-core, as the e2e tests and bench/pwa.ts launch it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, tmp } from './helpers.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** Where e2e tests and benches save screenshots (page.screenshot makes the folder). */
export const SHOTS = join(ROOT, 'test/.build/screens');
/** The background-networking flags matter here: without them Chromium dials out and is refused. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
/** Browser tests need the browser and a built PWA (npm test builds it first). */
export const HAVE_BROWSER = existsSync(CHROMIUM) && existsSync(join(ROOT, 'dist/web/index.html'));

/** A persistent context (service workers and installability need one) in a fresh or given profile dir. */
export function launchBrowser(profileDir = tmp('gpulse-browser-'), opts: Parameters<typeof chromium.launchPersistentContext>[1] = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true, ...opts });
}

/** The pairing link a user opens for agent `a`, on the agent's own copy of the app or on the copy another agent at `app` serves. */
export const pairingLink = (a: { url: string; token: string }, app = a.url) => `${app}/#/add?url=${encodeURIComponent(a.url)}&token=${a.token}`;

/** A fresh browser whose one page opened agent `a`'s pairing link and shows it live; `watch` sees the page first. */
export async function openPaired(
  a: { url: string; token: string },
  viewport: { width: number; height: number },
  watch?: (p: Page) => void,
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await launchBrowser(tmp('gpulse-paired-'), { viewport });
  const page = await ctx.newPage();
  watch?.(page);
  await page.goto(pairingLink(a));
  await page.waitForSelector('[data-status="live"]');
  return { ctx, page };
}

/** Waits until the app's notice says `what` (a pairing link first says "Checking the agent at …"). */
export function waitForNotice(page: Page, what: RegExp | string, timeout = 15_000) {
  const src = typeof what === 'string' ? what.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : what.source;
  return page.waitForFunction((re) => new RegExp(re).test(document.querySelector('.notice')?.textContent ?? ''), src, { timeout });
}
