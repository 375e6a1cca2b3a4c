// Drive Debian's firefox-esr for the Python tests over WebDriver BiDi with puppeteer-core (no browser
// download). Started by e2e_tests/engines/firefox.py:
//   node e2e_tests/engines/firefox_bridge.mjs '{"executablePath": "/usr/bin/firefox-esr", "headless": false, "prefs": {...}}'
// It reads one JSON command per line on stdin and answers one JSON line per command on stdout:
//   {"id": 1, "cmd": "open", "url": "..."}            -> {"id": 1, "ok": true, "value": PAGE}
//   {"id": 2, "cmd": "goto", "page": PAGE, "url": "..."}
//   {"id": 2, "cmd": "evaluate", "page": PAGE, "expression": "..."}
//   {"id": 3, "cmd": "click", "page": PAGE, "selector": "#enable-camera"}
//   {"id": 4, "cmd": "screenshot", "page": PAGE, "selector": "#output"} -> base64 PNG of the element
//   {"id": 4, "cmd": "errors", "page": PAGE}           -> console errors and uncaught exceptions so far
//   {"id": 5, "cmd": "close", "page": PAGE}
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const options = JSON.parse(process.argv[2]);
const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: options.executablePath,
  headless: options.headless,
  extraPrefsFirefox: options.prefs,
  defaultViewport: { width: 1280, height: 800 },
  protocolTimeout: 120_000, // ms; software WebGL on a loaded machine answers slowly
});

const pages = new Map(); // id -> {page, context, errors}
let nextPage = 1;

async function open({ url }) {
  const context = await browser.createBrowserContext(); // own storage, like another person's laptop
  const page = await context.newPage();
  const entry = { page, context, errors: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') entry.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => entry.errors.push(`pageerror: ${error.message ?? error}`));
  await page.goto(url, { waitUntil: 'load' });
  const id = nextPage++;
  pages.set(id, entry);
  return id;
}

const commands = {
  open,
  goto: async ({ page, url }) => { await pages.get(page).page.goto(url, { waitUntil: 'load' }); },
  evaluate: ({ page, expression }) => pages.get(page).page.evaluate(expression),
  click: ({ page, selector }) => pages.get(page).page.click(selector),
  screenshot: async ({ page, selector }) => {
    const element = await pages.get(page).page.$(selector);
    return element.screenshot({ encoding: 'base64' });
  },
  errors: ({ page }) => pages.get(page).errors,
  close: async ({ page }) => {
    const entry = pages.get(page);
    pages.delete(page);
    await entry.context.close();
    return null;
  },
  version: () => browser.version(),
};

const input = readline.createInterface({ input: process.stdin });
input.on('line', async (line) => {
  const request = JSON.parse(line);
  try {
    const value = await commands[request.cmd](request);
    process.stdout.write(`${JSON.stringify({ id: request.id, ok: true, value: value ?? null })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ id: request.id, ok: false, error: String(error?.stack ?? error) })}\n`);
  }
});
input.on('close', async () => {
  await browser.close();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ id: 0, ok: true, value: 'ready' })}\n`);
