// Launches Debian's Chromium headless (never a downloaded browser) and records page errors.
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/** Opens a page that collects console errors, page errors and off-origin requests. */
export async function openPage(browser, url, viewport = { width: 1400, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  const origin = new URL(url).origin;
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
  // Same-origin blob: URLs are the page's own exports (the PNG render).
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:') && !r.url().startsWith(`blob:${origin}`)) problems.push(`off-origin request: ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector('[data-testid="app"]');
  return { page, problems };
}

// Opens the benchmark page (bench.html) with the worker of `build` ('speed', as native, or
// 'app', as the app is built) and waits for it to be ready.
export async function openBenchPage(browser, url, build = 'speed') {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
  await page.goto(`${url}bench.html?build=${build}`);
  await page.waitForSelector('[data-testid="bench-run"]:not([disabled])', { timeout: 20000 });
  return { page, problems };
}

// Opens the scenario library and loads a built-in scenario by id.
export async function loadScenario(page, id) {
  await page.click('[data-testid="library"]');
  await page.click(`[data-testid="load-${id}"]`);
  await page.waitForSelector('[data-testid="library"][aria-expanded="false"]');
}
