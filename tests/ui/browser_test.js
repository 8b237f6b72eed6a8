#!/usr/bin/env node
// Browser test of the web UI (ctest -L ui): Debian's headless Chromium,
// driven by playwright-core, against ui_harness (the real web service on a
// real store). Logs in, sees an alert arrive without reloading, acknowledges
// it, switches to English, and saves PNG screenshots of the dashboard,
// alerts and links pages in <build>/ui-screenshots/.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const SKIP = 77;
const source = process.env.RAMPART_SOURCE_DIR || path.resolve(__dirname, '../..');
const binary = process.env.RAMPART_BINARY_DIR || path.join(source, 'build/release');
let chromium;
try {
  ({ chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core')));
} catch (e) {
  console.log('SKIP: playwright-core is not installed; run `npm ci` in tests/ui (deploy/run-tests.sh does)');
  process.exit(SKIP);
}
if (!fs.existsSync('/usr/bin/chromium')) {
  console.log('SKIP: /usr/bin/chromium is missing; deploy/install-deps.sh installs it');
  process.exit(SKIP);
}

const deadline = setTimeout(() => { console.error('FAIL: the test took longer than 180 s'); process.exit(1); }, 180000);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-ui-'));
const shots = path.join(binary, 'ui-screenshots');
fs.mkdirSync(shots, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function main() {
  // A CA and a server certificate for localhost, from rampartctl itself.
  execFileSync(path.join(binary, 'bin/rampartctl'), ['pki', 'init', '--dir', path.join(work, 'pki'), '--host', 'localhost'],
    { stdio: 'ignore' });
  const harness = spawn(path.join(binary, 'bin/ui_harness'),
    [path.join(work, 'data'), path.join(work, 'pki/server.crt'), path.join(work, 'pki/server.key'),
      path.join(binary, 'share/rampart/ui'), '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: harness.stdout });
  const waiting = [];
  lines.on('line', (line) => { const w = waiting.shift(); if (w) w(line); });
  const nextLine = () => new Promise((resolve) => waiting.push(resolve));
  const ready = await nextLine();
  check(ready.startsWith('ready '), 'harness serving (' + ready + ')');
  const url = 'https://localhost:' + ready.split(' ')[1];
  const command = async (text) => { harness.stdin.write(text + '\n'); return nextLine(); };

  // A fresh profile directory each run (playwright passes it as --user-data-dir).
  // The test's own CA is not in the browser's trust store, hence
  // ignoreHTTPSErrors; the certificate chain is checked by testssl and the API tests.
  const context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    viewport: { width: 1440, height: 900 },
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

    await page.goto(url + '/');
    await page.waitForSelector('#login-form:not(.hidden)', { state: 'visible' });
    check((await page.textContent('#login-submit')) === 'Đăng nhập', 'login page is in Vietnamese by default');
    await page.fill('#login-user', 'ana');
    await page.fill('#login-password', 'analyst password 1');
    await page.click('#login-submit');
    await page.waitForSelector('#main[data-ready="dashboard"]');
    await page.waitForSelector('#live.live-on');
    check(true, 'logged in; dashboard shown; live feed connected');

    // Alerts page; a new alert must appear without reloading.
    await page.click('nav a[data-page="alerts"]');
    await page.waitForSelector('#main[data-ready="alerts"]');
    const before = await page.$$eval('#alert-rows tr', (rows) => rows.length);
    check(before === 50, 'alert list shows a first page of 50 rows');
    const loads = [];
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) loads.push(f.url()); });
    const stored = await command('alert so-y-te 1 ET EXPLOIT Live test alert from the browser test');
    const id = stored.split(' ')[1];
    const row = await page.waitForSelector(`#alert-rows tr[data-id="${id}"]`, { timeout: 15000 });
    check(row !== null, 'the new alert ' + id + ' arrived in the list without a reload');
    check(loads.length === 0, 'the page was not reloaded');
    check((await row.textContent()).includes('Mới'), 'the new alert is shown as new (Mới)');

    // Acknowledge it through the bulk bar.
    await row.$eval('input.pick', (b) => b.click());
    await page.click('#bulk-ack');
    await page.waitForSelector(`#alert-rows tr[data-id="${id}"] .status-acknowledged`, { timeout: 15000 });
    check(true, 'acknowledged: the row shows the new status');
    const detail = await page.evaluate(async (alertId) => {
      const r = await fetch('/api/v1/alerts/' + encodeURIComponent(alertId));
      return r.json();
    }, id);
    check(detail.triage.status === 'acknowledged' && detail.triage.updated_by === 'ana', 'the server recorded the acknowledgement by ana');
    await page.screenshot({ path: path.join(shots, 'alerts-vi.png'), fullPage: false });

    // English.
    await page.click('#lang-button');
    await page.waitForSelector('#main[data-ready="alerts"]');
    check((await page.textContent('nav a[data-page="alerts"]')) === 'Alerts', 'switched to English');
    check((await page.textContent(`#alert-rows tr[data-id="${id}"]`)).includes('Acknowledged'), 'statuses are in English');
    await page.screenshot({ path: path.join(shots, 'alerts.png'), fullPage: false });

    // Detail view with the EVE record and flow context.
    await page.click(`#alert-rows tr[data-id="${id}"] a.sig`);
    await page.waitForSelector('#main[data-ready="alerts"] pre.json');
    const text = await page.textContent('#main');
    check(text.includes('"event_type": "alert"') && text.includes('beacon.example.net'), 'detail shows the EVE record and its TLS context');
    await page.screenshot({ path: path.join(shots, 'alert-detail.png'), fullPage: true });

    await page.click('nav a[data-page="dashboard"]');
    await page.waitForSelector('#main[data-ready="dashboard"]');
    await page.waitForTimeout(500);
    check(await page.$('#chart-over-time') !== null, 'dashboard has its alerts-over-time chart');
    await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

    await page.click('nav a[data-page="links"]');
    await page.waitForSelector('#main[data-ready="links"]');
    await page.waitForTimeout(500);
    check((await page.$$('.link-card canvas')).length === 6, 'links page charts every site');
    await page.screenshot({ path: path.join(shots, 'links.png'), fullPage: true });

    check(errors.length === 0, 'no script errors or CSP violations (' + errors.join(' | ') + ')');
    console.log('screenshots in ' + shots);
  } finally {
    await context.close();
    harness.stdin.write('quit\n');
    harness.stdin.end();
    await new Promise((resolve) => harness.on('exit', resolve));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(() => { clearTimeout(deadline); console.log('1 passed, 0 failed'); process.exit(0); })
  .catch((e) => { clearTimeout(deadline); console.error('FAIL: ' + (e && e.stack || e)); console.log('0 passed, 1 failed'); process.exit(1); });
