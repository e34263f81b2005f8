import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from '../support/databases.js';

/** Debian's chromium package (scripts/test-all.sh installs it); playwright-core never downloads a browser. */
export const CHROMIUM = process.env.WEBJOBS_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  /** Folder for this browser's profile and the screenshots. */
  dir: string;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test-all.sh does it)`);
  const dir = tempDir('webjobs-dashboard-browser-');
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1300, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    context,
    dir,
    // The screenshots stay in `dir` for a person to look at; only the browser profile goes.
    close: async () => {
      await context.close();
      fs.rmSync(path.join(dir, 'profile'), { recursive: true, force: true });
    },
  };
}

export interface PageWatch {
  page: Page;
  consoleErrors: string[];
  /** Every URL the page asked for, besides the one it was opened at (if any). */
  requests: string[];
}

/**
 * A new page that records console errors, uncaught errors and every request; any request for
 * something other than a data: or about: URL (or `allow`, the page's own address) is aborted
 * and recorded, so a test can fail on it.
 */
export async function watchedPage(browser: TestBrowser, allow?: string): Promise<PageWatch> {
  const page = await browser.context.newPage();
  const watch: PageWatch = { page, consoleErrors: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') watch.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => watch.consoleErrors.push(e.message));
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (allow !== undefined && url === allow) return route.continue();
    watch.requests.push(url);
    if (/^(data|about):/.test(url)) return route.continue();
    return route.abort('blockedbyclient');
  });
  return watch;
}

/** Requests that left the page (anything but data: and about:). */
export const outgoing = (w: PageWatch) => w.requests.filter((u) => !/^(data|about):/.test(u));
