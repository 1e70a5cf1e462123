// Browser test of the web page against the real server: Debian's Chromium driven by
// playwright-core. Uploads case1.txt, renders, checks the pages and the token stats, asks a
// question (streamed) and gets an answer with a citation that highlights its region, queues a
// job and sees it finish. Screenshots land in <build>/web-artifacts/.
//
// Usage: node tests/web/web_page_test.mjs <glyph binary> <shared dir> <artifact dir>
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../../js/package.json'));
const { chromium } = require('playwright-core');

const [binary, sharedDir, artifactDir] = process.argv.slice(2);
if (!binary || !sharedDir || !artifactDir) {
  console.error('usage: web_page_test.mjs <glyph binary> <shared dir> <artifact dir>');
  process.exit(2);
}
mkdirSync(artifactDir, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'glyph-web-'));
const profileDir = mkdtempSync(join(tmpdir(), 'glyph-web-profile-'));

function fail(message) {
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) fail(message);
  console.log(`ok - ${message}`);
}

// Starts `glyph serve` on a free port; resolves with { proc, base } once it listens.
function startServer() {
  return new Promise((resolveStart, rejectStart) => {
    const proc = spawn(binary, ['serve', '--port', '0', '--data', dataDir, '--workers', '1'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => rejectStart(new Error(`server did not start: ${out}`)), 20000);
    proc.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const m = out.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolveStart({ proc, base: m[1] });
      }
    });
    proc.on('exit', (code) => rejectStart(new Error(`server exited with ${code}: ${out}`)));
  });
}

const { proc, base } = await startServer();
let browser;
let exitCode = 0;
try {
  // A fresh profile folder per run (launchPersistentContext is how Playwright takes one).
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
    viewport: { width: 1400, height: 1000 },
  });
  const page = await browser.newPage();
  const outside = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(base) && !req.url().startsWith('data:') && !req.url().startsWith('blob:')) outside.push(req.url());
  });
  const consoleErrors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });

  await page.goto(base + '/');
  check(await page.title() !== '', 'the page loads with a title');

  // Every control has an accessible name; the main buttons are named Render, Ask, Queue.
  const unnamed = await page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      const name = (el.getAttribute('aria-label') || '').trim() ||
        [...(el.labels || [])].map((l) => l.textContent.trim()).join(' ') ||
        (el.tagName === 'BUTTON' ? el.textContent.trim() : '');
      if (!name) bad.push(el.outerHTML.slice(0, 80));
    }
    return bad;
  });
  check(unnamed.length === 0, `every control has an accessible name ${unnamed.join(' | ')}`);
  for (const name of ['Render', 'Ask', 'Queue']) {
    check(await page.getByRole('button', { name, exact: true }).count() === 1, `a button named "${name}"`);
  }

  // Upload case1.txt and render.
  await page.getByLabel('Upload a file (TXT, PDF, DOCX, Markdown)').setInputFiles(join(sharedDir, 'data/examples/case1.txt'));
  await page.getByLabel('Font size (pt)', { exact: true }).fill('9');
  await page.getByRole('button', { name: 'Render', exact: true }).click();
  await page.waitForSelector('#gallery img', { timeout: 60000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#gallery img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 30000 });
  const pages = await page.locator('#gallery img').count();
  check(pages >= 2, `case1.txt renders to ${pages} pages shown in the gallery`);
  const textTokens = Number((await page.locator('#stat-text-tokens').textContent()).replace(/,/g, ''));
  const visualTokens = Number((await page.locator('#stat-visual-tokens').textContent()).replace(/,/g, ''));
  const ratio = await page.locator('#stat-ratio').textContent();
  check(textTokens > 1000 && visualTokens > 0 && textTokens > visualTokens,
    `token stats: ${textTokens} text tokens, ${visualTokens} visual tokens, ratio ${ratio}`);
  await page.screenshot({ path: join(artifactDir, '1-rendered.png'), fullPage: true });

  // Zoom a page.
  await page.locator('#gallery button').first().click();
  await page.waitForSelector('#viewer[open]');
  await page.getByRole('slider', { name: 'Zoom' }).fill('200');
  const zoomed = await page.locator('#viewer-page').evaluate((el) => el.getBoundingClientRect().width);
  check(zoomed > 900, `the viewer zooms the page (${Math.round(zoomed)} px wide)`);
  await page.getByRole('button', { name: 'Close' }).click();

  // Ask now: the answer streams in, with a citation.
  await page.getByLabel('Question', { exact: true }).fill('What did Madame Loisel borrow from her friend?');
  await page.getByRole('button', { name: 'Ask', exact: true }).click();
  await page.waitForFunction(() => document.querySelector('#citations li') ||
    document.querySelector('#ask-error').textContent.trim() !== '', null, { timeout: 120000 });
  const answer = (await page.locator('#answer-text').textContent()).trim();
  check(answer.length > 0, `an answer arrives: "${answer.slice(0, 80)}"`);
  const askError = (await page.locator('#ask-error').textContent()).trim();
  check(askError === '', `no error shown (${askError})`);
  await page.locator('#citations button').first().click();
  await page.waitForSelector('#viewer[open]');
  const highlight = await page.locator('#highlight').evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { hidden: el.hidden, w: r.width, h: r.height };
  });
  check(!highlight.hidden && highlight.w > 5 && highlight.h > 3, `the citation highlights a region (${Math.round(highlight.w)}x${Math.round(highlight.h)} px)`);
  await page.screenshot({ path: join(artifactDir, '2-citation.png') });
  await page.getByRole('button', { name: 'Close' }).click();

  // Queue: a background job listed with its live status, then its result.
  await page.getByLabel('Mode', { exact: true }).selectOption('summary');
  await page.getByRole('button', { name: 'Queue', exact: true }).click();
  await page.waitForSelector('#job-list tr', { timeout: 10000 });
  await page.waitForSelector('#job-list tr[data-state="done"]', { timeout: 120000 });
  const result = (await page.locator('#job-list tr[data-state="done"] .job-result pre').first().textContent()).trim();
  check(result.length > 0, `the queued job finishes with a result: "${result.slice(0, 60)}"`);
  await page.screenshot({ path: join(artifactDir, '3-job-done.png'), fullPage: true });

  check(outside.length === 0, `nothing fetched from outside the server ${outside.join(' ')}`);
  check(consoleErrors.length === 0, `no console errors ${consoleErrors.join(' | ')}`);
} catch (e) {
  console.error(`not ok - ${e.message}`);
  exitCode = 1;
} finally {
  if (browser) await browser.close();
  proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(profileDir, { recursive: true, force: true });
}
process.exit(exitCode);
