// Browser end-to-end tests of the notebook: serves ../../dist on 127.0.0.1, drives Debian's
// Chromium (SwiftShader WebGPU) with playwright-core, and fails on any console error.
// Usage: node run.mjs   (after `trunk build --release --offline`)
import { PNG } from 'pngjs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { serve, launch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
fs.mkdirSync(artifacts, { recursive: true });

/** Fraction of pixels that differ from the top-left (background) pixel, and distinct colours. */
function pixelStats(pngBuffer) {
  const png = PNG.sync.read(pngBuffer);
  const bg = png.data.slice(0, 4).join(',');
  let differing = 0;
  const colours = new Set();
  for (let i = 0; i < png.data.length; i += 4) {
    const c = png.data.slice(i, i + 4).join(',');
    if (c !== bg) differing++;
    if (colours.size < 1000) colours.add(c);
  }
  return { differingFraction: differing / (png.width * png.height), colours: colours.size };
}

/**
 * Pixels of a labelled 3D export by region: its title band (the top 30 CSS px at the export's
 * 2× scale) and its colour-bar band (the right 110 CSS px, when there is one): dark (text)
 * pixels, and viridis's two ends (dark purple, yellow) in the bar band.
 */
function labelBands(pngBuffer, withBar) {
  const png = PNG.sync.read(pngBuffer);
  const px = (x, y) => png.data.slice((y * png.width + x) * 4, (y * png.width + x) * 4 + 3);
  let titleDark = 0, purple = 0, yellow = 0;
  for (let y = 0; y < 60; y++) for (let x = 0; x < png.width; x++) { const [r, g, b] = px(x, y); if (r < 90 && g < 90 && b < 90) titleDark++; }
  if (withBar) {
    for (let y = 60; y < png.height; y++) for (let x = png.width - 220; x < png.width; x++) {
      const [r, g, b] = px(x, y);
      if (r < 90 && g < 40 && b > 60) purple++;
      if (r > 200 && g > 200 && b < 80) yellow++;
    }
  }
  return { width: png.width, height: png.height, titleDark, purple, yellow };
}

const results = [];
/** `node run.mjs PATTERN` runs only the tests whose name contains PATTERN. */
const only = process.argv[2];
async function test(name, fn) {
  if (only && !name.includes(only)) return;
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n${e.stack ?? e}`);
  }
}

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}/`;
let browser = await launch(['--enable-unsafe-webgpu']);

/**
 * A fresh page that records console errors and uncaught exceptions; `setup(page)` runs before
 * the page loads (e.g. to route requests).
 */
async function openPage(url, setup = async () => {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') page.errors.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => page.errors.push(`pageerror: ${err.message}`));
  await setup(page);
  await page.goto(url);
  await page.waitForSelector('#q-max', { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('.plot3d-status')?.textContent.trim() !== 'starting graphics…', null, { timeout: 60_000 });
  return page;
}
const qMax = async (page) => Number(await page.textContent('#q-max'));

/**
 * The 3D figure as the page renders it, through its "save PNG" button (an offscreen render with
 * the same renderer and camera, read back from the GPU). Headless Chromium does not composite
 * WebGPU canvases into screenshots, so this is how the test sees what WebGPU drew.
 */
async function exportFigure(page, name, button = '#lissajous-3d-png') {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  const file = path.join(artifacts, name);
  await download.saveAs(file);
  return fs.readFileSync(file);
}

/** The text of the file a click on `button` downloads. */
async function downloadedText(page, button) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return fs.readFileSync(await download.path(), 'utf8');
}

/** A downloaded CSV read by Python's csv module: [header, ...rows] (every cell a string). */
function pythonCsv(text) {
  return JSON.parse(execFileSync('python3', ['-c', 'import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))'], { input: text }));
}

/** Sets the policy cell's parameters through its controls. */
async function setPolicy(page, { agents, steps, net, backends }) {
  for (const [id, v] of [['#policy-agents', agents], ['#policy-steps', steps]]) {
    if (v !== undefined) { await page.locator(id).fill(String(v)); await page.locator(id).press('Enter'); }
  }
  if (net) await page.selectOption('#policy-net', net);
  if (backends) await page.selectOption('#policy-backends', backends);
}
/** Clicks Run once the WebGPU probe is done, waits for the run to end, returns the cell's numbers. */
async function runPolicy(page, timeout = 120_000) {
  await page.waitForFunction(() => !document.querySelector('#policy-run').disabled, null, { timeout: 60_000 });
  await page.click('#policy-run');
  await page.waitForFunction(() => document.querySelector('#policy-state').dataset.state === 'done', null, { timeout });
  const num = async (id) => Number(await page.textContent(id));
  return {
    cpu: await num('#policy-cpu-rate'), gpu: await num('#policy-gpu-rate'),
    actions: await num('#policy-diff-actions'), h: await num('#policy-diff-h'), c: await num('#policy-diff-c'),
    gpuText: await page.textContent('#policy-gpu-rate'), diffText: await page.textContent('#policy-diff-h'),
    summary: await page.textContent('#policy-state'), notes: await page.textContent('#policy-notes'),
    status: await page.textContent('#policy-gpu-status'),
  };
}
/**
 * Waits until the 3D view on canvas `canvasSelector` is ready to draw, or has said why it cannot;
 * fails with the view's own status line in the latter case or after `timeout` ms.
 */
async function viewReady(page, canvasSelector, timeout = 90_000) {
  const state = () => page.evaluate((sel) => {
    const status = document.querySelector(sel)?.closest('figure, .plot3d')?.querySelector('.plot3d-status');
    return { ready: status?.dataset.ready, failed: status?.classList.contains('error'), text: status?.textContent };
  }, canvasSelector);
  try {
    await page.waitForFunction((sel) => {
      const status = document.querySelector(sel)?.closest('figure, .plot3d')?.querySelector('.plot3d-status');
      return status?.dataset.ready === 'true' || status?.classList.contains('error');
    }, canvasSelector, { timeout });
  } catch (error) {
    throw new Error(`the view ${canvasSelector} is not ready after ${timeout} ms: ${JSON.stringify(await state())}`);
  }
  const now = await state();
  assert.equal(now.ready, 'true', `the view ${canvasSelector} cannot draw: ${now.text}`);
}

function assertNoErrors(page) { assert.deepEqual(page.errors, [], 'console errors'); }

await test('the page says it is loading until the notebook mounts, and has a no-script message', async () => {
  const html = await (await fetch(base)).text();
  assert.match(html, /<noscript>.*needs JavaScript and WebAssembly/s);
  assert.match(html, /id="boot"[^>]*>Loading TangleLab/);
  const page = await openPage(base);
  await page.waitForSelector('#cell-lissajous');
  assert.equal(await page.locator('#boot').count(), 0, 'the loading line stays after the notebook mounted');
  assertNoErrors(page);
  await page.close();
});

await test('the Lissajous cell renders a non-blank 3D figure through WebGPU', async () => {
  const page = await openPage(base);
  const status = await page.textContent('.plot3d-status');
  assert.match(status, /WebGPU/, `graphics status: ${status}`);
  assert.equal(await page.getAttribute('.plot3d-status', 'data-ready'), 'true');
  const exported = await exportFigure(page, 'lissajous-3d.png');
  const stats = pixelStats(exported);
  assert.ok(stats.differingFraction > 0.005 && stats.differingFraction < 0.5, `drawn fraction ${stats.differingFraction}`);
  // The export is a figure: a title band above the picture and a colour bar beside it.
  const canvas = await page.evaluate(() => { const c = document.querySelector('#lissajous-3d'); return { width: c.clientWidth, height: c.clientHeight }; });
  const bands = labelBands(exported, true);
  assert.equal(bands.width, canvas.width * 2 + 220, 'picture + colour-bar band');
  assert.equal(bands.height, canvas.height * 2 + 60, 'title band + picture');
  assert.ok(bands.titleDark > 200, `no title text drawn (${bands.titleDark} dark pixels)`);
  assert.ok(bands.purple > 100 && bands.yellow > 100, `no viridis colour bar (${bands.purple} purple, ${bands.yellow} yellow)`);
  assert.ok(stats.colours > 20, `only ${stats.colours} colours: the curve is not coloured by Q`);
  assert.ok(Number.isFinite(await qMax(page)));
  assert.match(await page.innerHTML('#q-plot'), /<path d="M/);
  // The cells cite the papers they replicate, with a link to find each.
  for (const [cell, title] of [['#cell-study', 'From Data-Fitting to Discovery'], ['#cell-lissajous', 'untangled population response'], ['#cell-brainiarb', 'BRAINIARB']]) {
    const link = page.locator(`${cell} .cites a`).filter({ hasText: title });
    assert.equal(await link.count(), 1, `${cell} does not cite ${title}`);
    assert.match(await link.getAttribute('href'), /^https:\/\/scholar\.google\.com\/scholar\?q=%22/);
  }
  // The figures' numbers as CSV and NPY (numpy reads the same values) and the Q(t) plot as SVG.
  const [header, ...rows] = pythonCsv(await downloadedText(page, '#lissajous-data-csv'));
  assert.deepEqual(header, ['t_rad', 'sin_t', 'beta_cos_t', 'cos_2t', 'q']);
  assert.equal(rows.length, Number(await page.inputValue('#samples')));
  const qs = rows.map((r) => Number(r[4]));
  assert.equal(Math.max(...qs).toFixed(3), (await page.textContent('#q-max')).trim());
  const [npyDownload] = await Promise.all([page.waitForEvent('download'), page.click('#lissajous-data-npy')]);
  const fromNumpy = JSON.parse(execFileSync('python3', ['-c', 'import numpy, json, sys; a = numpy.load(sys.argv[1]); print(json.dumps([list(a.shape), a.ravel().tolist()]))', await npyDownload.path()]));
  assert.deepEqual(fromNumpy[0], [rows.length, 5]);
  assert.deepEqual(fromNumpy[1], rows.flat().map(Number), 'the NPY holds the CSV\'s numbers');
  assert.match(await downloadedText(page, '#lissajous-data-svg'), /^<svg[^>]*>[\s\S]*<path d="M/);
  await page.screenshot({ path: path.join(artifacts, 'notebook.png'), fullPage: true });
  // For the README: the page with the 3D panel showing the page's own PNG export of the same view
  // (headless Chromium leaves WebGPU canvases out of screenshots).
  const figure = fs.readFileSync(path.join(artifacts, 'lissajous-3d.png')).toString('base64');
  await page.evaluate((src) => {
    const canvas = document.querySelector('#lissajous-3d');
    canvas.style.background = `center / 100% 100% no-repeat url(data:image/png;base64,${src})`;
  }, figure);
  await page.screenshot({ path: path.join(artifacts, 'readme-screenshot.png'), clip: { x: 0, y: 0, width: 1280, height: 860 } });
  assertNoErrors(page);
  await page.close();
});

await test('raising β lowers tangling; lowering it raises tangling', async () => {
  const page = await openPage(base);
  await page.locator('#beta').fill('0');
  await page.waitForFunction(() => document.querySelector('#beta-value').textContent === '0.00');
  const q0 = await qMax(page);
  await page.locator('#beta').fill('1');
  await page.waitForFunction(() => document.querySelector('#beta-value').textContent === '1.00');
  const q1 = await qMax(page);
  await page.locator('#beta').fill('0.5');
  await page.waitForFunction(() => document.querySelector('#beta-value').textContent === '0.50');
  const qHalf = await qMax(page);
  assert.ok(q0 > qHalf && qHalf > q1, `max Q at β = 0, 0.5, 1: ${q0}, ${qHalf}, ${q1}`);
  await page.screenshot({ path: path.join(artifacts, 'beta-0.5.png'), fullPage: true });
  assertNoErrors(page);
  await page.close();
});

await test('drag orbits the view and double-click resets it', async () => {
  const page = await openPage(base);
  const before = await exportFigure(page, 'view-before.png');
  const box = await page.locator('#lissajous-3d').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 40, { steps: 6 });
  await page.mouse.up();
  const orbited = await exportFigure(page, 'view-orbited.png');
  assert.notDeepEqual(orbited, before, 'dragging did not change the view');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 400);
  const zoomed = await exportFigure(page, 'view-zoomed.png');
  assert.ok(pixelStats(zoomed).differingFraction < pixelStats(orbited).differingFraction, 'zooming out did not shrink the figure');
  // The turned view is in the link: a new tab opens it as it was seen, to the pixel.
  const camera = await page.getAttribute('#lissajous-3d', 'data-camera');
  await page.click('#permalink');
  const link = await page.inputValue('#permalink-url');
  const linkDoc = JSON.parse(Buffer.from(link.split('#nb=')[1], 'base64url').toString());
  assert.deepEqual(Object.keys(linkDoc.views ?? {}), ['lissajous-3d'], 'the link records the turned view only');
  const reopened = await openPage(link);
  await reopened.waitForFunction(() => document.querySelector('.plot3d-status')?.dataset.ready === 'true');
  assert.equal(await reopened.getAttribute('#lissajous-3d', 'data-camera'), camera);
  assert.deepEqual(await exportFigure(reopened, 'view-reopened.png'), zoomed, 'the link did not restore the view');
  assertNoErrors(reopened);
  await reopened.close();
  await page.locator('#lissajous-3d').dblclick();
  const reset = await exportFigure(page, 'view-reset.png');
  assert.deepEqual(reset, before, 'double-click did not restore the view exactly');
  // A reset view is no longer recorded: the address bar's document has no views left.
  await page.waitForFunction(() => !JSON.parse(atob(location.hash.split('#nb=')[1].replace(/-/g, '+').replace(/_/g, '/'))).views);
  assertNoErrors(page);
  await page.close();
});

await test('a permalink restores the state in a new tab', async () => {
  const page = await openPage(base);
  await page.locator('#beta').fill('0.73');
  await page.locator('#samples').fill('250');
  await page.locator('#samples').press('Enter');
  await page.waitForFunction(() => document.querySelector('#beta-value').textContent === '0.73');
  const q = await qMax(page);
  await page.click('#permalink');
  const link = await page.inputValue('#permalink-url');
  assert.match(link, /#nb=/);
  const restored = await openPage(link);
  assert.equal(await restored.inputValue('#beta'), '0.73');
  assert.equal(await restored.inputValue('#samples'), '250');
  assert.equal(await qMax(restored), q, 'same link, same numbers');
  // The link names the build that made it (dist/version.json); the same build says nothing.
  const thisBuild = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'dist', 'version.json'), 'utf8'));
  const linkDoc = JSON.parse(Buffer.from(link.split('#nb=')[1], 'base64url').toString());
  assert.deepEqual(linkDoc.made_by, thisBuild);
  assert.equal(await restored.locator('#link-provenance').count(), 0, 'a link of this build needs no note');
  // A link of another build, and one that does not say, are opened with a note.
  const other = { ...linkDoc, made_by: { version: '0.0.9', commit: '000000000000' } };
  const elsewhere = await openPage(`${base}#nb=${Buffer.from(JSON.stringify(other)).toString('base64url')}`);
  await elsewhere.waitForSelector('#link-provenance');
  assert.match(await elsewhere.textContent('#link-provenance'), new RegExp(`made by TangleLab 0\\.0\\.9 \\(commit 000000000000\\); this page is TangleLab ${thisBuild.version} \\(commit ${thisBuild.commit.replace('+', '\\+')}\\)`));
  assert.equal(await elsewhere.inputValue('#beta'), '0.73', 'the settings are restored');
  const { made_by: _, ...unsigned } = linkDoc;
  const older = await openPage(`${base}#nb=${Buffer.from(JSON.stringify(unsigned)).toString('base64url')}`);
  await older.waitForSelector('#link-provenance');
  assert.match(await older.textContent('#link-provenance'), /does not say which TangleLab made it/);
  for (const p of [page, restored, elsewhere, older]) {
    assertNoErrors(p);
    await p.close();
  }
});

await test('a malformed link shows a clear message and loads the defaults', async () => {
  const page = await openPage(`${base}#nb=this-is-not-a-notebook`);
  const message = await page.textContent('#link-error');
  assert.match(message, /This link is damaged or incomplete/);
  assert.ok((await page.textContent('#link-error-detail')).length > 0, 'the technical reason is there, folded');
  const defaults = await openPage(base);
  assert.equal(await page.inputValue('#beta'), await defaults.inputValue('#beta'));
  assert.equal(await qMax(page), await qMax(defaults));
  await page.screenshot({ path: path.join(artifacts, 'malformed-link.png') });
  // The refused link stays in the address bar until the user changes something; then the
  // message goes and the URL follows the page again (issue 16: the work was lost on reload).
  assert.equal(new URL(page.url()).hash, '#nb=this-is-not-a-notebook');
  await page.locator('#beta').fill('0.3');
  await page.waitForFunction(() => document.querySelector('#link-error') === null, null, { timeout: 10_000 });
  await page.waitForFunction(() => location.hash.startsWith('#nb=') && location.hash !== '#nb=this-is-not-a-notebook', null, { timeout: 10_000 });
  const followed = await openPage(page.url());
  assert.equal(await followed.inputValue('#beta'), '0.3', 'a reload keeps the change');
  await followed.close();
  assertNoErrors(page);
  await page.close();
  await defaults.close();
});

await test('the policy cell: WebGPU matches the CPU on a small batch', async () => {
  const page = await openPage(base);
  await setPolicy(page, { agents: 16, steps: 50, net: 'small' });
  const r = await runPolicy(page);
  assert.match(r.status, /WebGPU/, `GPU status: ${r.status}`);
  assert.match(r.summary, /ran 50 of 50 steps × 16 agents, network 18-64-32-LSTM16-6/);
  assert.ok(r.cpu > 0 && r.gpu > 0, `throughput cpu ${r.cpu}, gpu ${r.gpu}`);
  for (const k of ['actions', 'h', 'c']) assert.ok(r[k] >= 0 && r[k] <= 1e-4, `max |Δ| ${k} = ${r[k]}`);
  assert.equal(r.notes, '', `notes: ${r.notes}`);
  console.log(`     measured (small net, 16 × 50): CPU wasm ${r.cpu} agent-steps/s, WebGPU ${r.gpu} agent-steps/s; max |Δ| actions ${r.actions}, h ${r.h}, c ${r.c}`);
  assertNoErrors(page);
  await page.close();
});

await test('the policy cell: paper network, default batch (64 agents × 100 steps) on both backends', async () => {
  const page = await openPage(base);
  const r = await runPolicy(page, 300_000);
  assert.match(r.summary, /ran 100 of 100 steps × 64 agents, network 18-512-256-LSTM128-6/);
  assert.ok(r.cpu > 0 && r.gpu > 0, `throughput cpu ${r.cpu}, gpu ${r.gpu}`);
  for (const k of ['actions', 'h', 'c']) assert.ok(r[k] >= 0 && r[k] <= 1e-4, `max |Δ| ${k} = ${r[k]}`);
  console.log(`     measured: CPU wasm ${r.cpu} agent-steps/s, ${r.status} ${r.gpu} agent-steps/s; max |Δ| actions ${r.actions}, h ${r.h}, c ${r.c}`);
  assertNoErrors(page);
  await page.close();
});

await test('the policy cell shows progress and can be cancelled; its parameters go in the permalink', async () => {
  const page = await openPage(base);
  await setPolicy(page, { agents: 256, steps: 2000, backends: 'cpu' });
  await page.waitForFunction(() => !document.querySelector('#policy-run').disabled, null, { timeout: 60_000 });
  await page.click('#policy-run');
  await page.waitForFunction(() => /step [1-9]\d* of 2000/.test(document.querySelector('#policy-progress-text').textContent), null, { timeout: 60_000 });
  await page.click('#policy-cancel');
  await page.waitForFunction(() => document.querySelector('#policy-state').dataset.state === 'done', null, { timeout: 60_000 });
  const summary = await page.textContent('#policy-state');
  const m = summary.match(/cancelled after (\d+) of 2000 steps/);
  assert.ok(m && Number(m[1]) > 0 && Number(m[1]) < 2000, `summary: ${summary}`);
  assert.ok(Number(await page.textContent('#policy-cpu-rate')) > 0);
  assert.equal(await page.textContent('#policy-gpu-rate'), 'not run');
  await page.click('#permalink');
  const restored = await openPage(await page.inputValue('#permalink-url'));
  assert.equal(await restored.inputValue('#policy-agents'), '256');
  assert.equal(await restored.inputValue('#policy-steps'), '2000');
  assert.equal(await restored.inputValue('#policy-backends'), 'cpu');
  assertNoErrors(page);
  assertNoErrors(restored);
  await page.close();
  await restored.close();
});

/**
 * The walker cell's canvas: its PNG, pixel statistics and how many pixels have each leg's colour
 * (outside the legend, in the top-left 200 × 60 px). Headless Chromium sometimes takes a 2D
 * canvas's surface away for half a second while the page's WebGPU devices start (`contextlost`),
 * and gives it back blank: the picture is read once the surface is back and the cell says so
 * (`data-surface`), which it sets after redrawing (that redraw has its own test below).
 */
async function walkerCanvas(page) {
  const url = await page.evaluate(() => new Promise((resolve, reject) => {
    const canvas = document.querySelector('#walker-canvas');
    const until = performance.now() + 5000;
    const poll = () => {
      if (canvas.dataset.surface === 'ok' && !canvas.getContext('2d').isContextLost()) resolve(canvas.toDataURL('image/png'));
      else if (performance.now() > until) reject(new Error(`the walker's canvas surface stayed lost (data-surface=${canvas.dataset.surface})`));
      else setTimeout(poll, 20);
    };
    poll();
  }));
  const buffer = Buffer.from(url.split(',')[1], 'base64');
  const png = PNG.sync.read(buffer);
  const near = (i, [r, g, b]) => Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) + Math.abs(png.data[i + 2] - b) < 12;
  let right = 0, left = 0;
  for (let y = 0; y < png.height; y++) {
    for (let x = y < 60 ? 200 : 0; x < png.width; x++) {
      const i = 4 * (y * png.width + x);
      if (near(i, [0xd9, 0x5f, 0x02])) right++;
      if (near(i, [0x1b, 0x9e, 0x77])) left++;
    }
  }
  return { url, stats: pixelStats(buffer), right, left };
}
const walkerReady = (page) => page.waitForFunction(
  () => document.querySelector('#walker-status')?.dataset.state === 'ready', null, { timeout: 60_000 });
const walkerTime = async (page) => Number(await page.textContent('#walker-time'));

/**
 * The native CLI to compare the page with: $TANGLELAB_BIN, else the newest of the release and
 * debug builds (`cargo test`, which runs before these tests, builds the debug one).
 */
function nativeCli() {
  if (process.env.TANGLELAB_BIN) return process.env.TANGLELAB_BIN;
  const root = path.join(here, '..', '..');
  const builds = ['release', 'debug'].map((p) => path.join(root, 'target', p, 'tanglelab')).filter((f) => fs.existsSync(f));
  if (builds.length === 0) throw new Error('no native tanglelab binary: run `cargo build` (or set TANGLELAB_BIN)');
  return builds.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}

await test('the CPU policy gives the same bits in the page (wasm) as natively', async () => {
  const page = await openPage(base);
  await page.waitForFunction(() => window.wasmBindings?.policyChecksum !== undefined, null, { timeout: 60_000 });
  // 700 agents: groups of eight, a remainder of four, blocks of 256 and a last one of 188.
  const [agents, steps, seed] = [700, 20, 5];
  const wasm = await page.evaluate(async ([agents, steps, seed]) => {
    const bytes = new Uint8Array(await (await fetch('models/walker2d-lstm.safetensors')).arrayBuffer());
    return window.wasmBindings.policyChecksum(bytes, agents, steps, seed);
  }, [agents, steps, seed]);
  const model = path.join(here, '..', '..', 'public', 'models', 'walker2d-lstm.safetensors');
  const native = execFileSync(nativeCli(), ['policy', 'checksum', '--model', model, '--agents', `${agents}`,
    '--steps', `${steps}`, '--seed', `${seed}`]).toString().trim();
  assert.match(wasm, /^[0-9a-f]{64}$/);
  assert.equal(wasm, native, 'the shipped policy\'s actions, h and c over 700 agents × 20 steps differ between wasm and native');
  console.log(`     policy checksum ${native.slice(0, 16)}… in wasm and natively (${nativeCli()})`);
  assertNoErrors(page);
  await page.close();
});

await test('the quadruped cell: the shipped policy follows u*, then v*, in 3D; pushes, reset and the permalink', async () => {
  const page = await openPage(base);
  const num = async (id) => Number(await page.textContent(id));
  await page.waitForFunction(() => document.querySelector('#quadruped-status')?.dataset.state === 'ready', null, { timeout: 60_000 });
  assert.match(await page.textContent('#quadruped-status'), /policy 36-512-256-LSTM128-12 · sha256 [0-9a-f]{12}… · trained here, seed 1/);
  assert.equal(await page.textContent('#quadruped-obs-command'), '(+1.00, +0.00, +0.00)');
  // Walking at u* = 1 m/s: after 4 s the 2-s mean forward speed is within 20 % of it.
  const episode = async (secs) => page.waitForFunction((s) => Number(document.querySelector('#quadruped-time').textContent) >= s, secs, { timeout: 60_000 });
  await episode(4.0);
  const u = await num('#quadruped-measured-u');
  assert.ok(u > 0.8 && u < 1.2, `measured u ${u} m/s at u* = 1`);
  const height = await num('#quadruped-height');
  assert.ok(height > 0.35 && height < 0.7, `base height ${height} m`);
  await page.waitForFunction(() => document.querySelectorAll('.plot3d-status')[1]?.dataset.ready === 'true', null, { timeout: 30_000 });
  const png = PNG.sync.read(await exportFigure(page, 'quadruped-3d.png', '#quadruped-3d-png'));
  let orange = 0, teal = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
    if (r > 120 && r > g + 60 && g > b) orange += 1;
    if (g > 80 && g > r + 40 && g > b) teal += 1;
  }
  assert.ok(orange > 200 && teal > 200, `the right (orange, ${orange} px) and left (teal, ${teal} px) legs are drawn`);
  // Sideways: u* = 0, v* = +1 reach the observation at once; 4 s later v follows.
  await page.locator('#quadruped-u').fill('0');
  await page.locator('#quadruped-v').fill('1');
  await page.waitForFunction(() => document.querySelector('#quadruped-obs-command').textContent === '(+0.00, +1.00, +0.00)', null, { timeout: 10_000 });
  const falls = await num('#quadruped-falls');
  const changed = await num('#quadruped-time');
  await episode(changed + 4.0);
  if (await num('#quadruped-falls') === falls) {
    const v = await num('#quadruped-measured-v');
    assert.ok(v > 0.8 && v < 1.2, `measured v ${v} m/s at v* = 1`);
  }
  // A push of 3 m/s sideways either is survived or ends in a reported fall and a new episode.
  await page.locator('#quadruped-push-size').fill('3');
  const beforePush = await num('#quadruped-time');
  await page.click('#quadruped-push-sideways');
  await page.waitForFunction(([t, f]) => Number(document.querySelector('#quadruped-time').textContent) >= t + 1.5
      || Number(document.querySelector('#quadruped-falls').textContent) > f, [beforePush, falls], { timeout: 30_000 });
  if (await num('#quadruped-falls') > falls) assert.match(await page.textContent('#quadruped-fall-note'), /Fell after [0-9.]+ s \(base, hip or thigh on the ground\)/);
  console.log(`     quadruped: u ${u} m/s at u* = 1; after the 3 m/s push: falls ${await num('#quadruped-falls')}`);
  // The walk's last 10 s (50 Hz): the three command components, twelve actions, four feet.
  const walk = JSON.parse(execFileSync('python3', ['-c', 'import csv, json, sys; r = list(csv.reader(sys.stdin)); print(json.dumps([r[0], len(r) - 1, len({len(x) for x in r})]))'],
    { input: await downloadedText(page, '#quadruped-log-csv') }));
  const [header, rows, widths] = walk;
  assert.deepEqual(header.slice(0, 5), ['episode', 't_s', 'command_forward_speed_mps', 'command_lateral_speed_mps', 'command_yaw_rate_radps']);
  assert.equal(header.filter((c) => c.startsWith('action_')).length, 12);
  assert.equal(header.filter((c) => c.startsWith('contact_')).length, 4);
  assert.ok(rows > 10 && rows <= 500, `${rows} rows`);
  assert.equal(widths, 1, 'every row as wide as the header');
  await page.click('#quadruped-reset');
  await page.waitForFunction((t) => Number(document.querySelector('#quadruped-time').textContent) < t, beforePush, { timeout: 10_000 });
  await page.locator('#cell-quadruped').screenshot({ path: path.join(artifacts, 'quadruped-cell.png') });
  // The command travels in the link.
  await page.locator('#quadruped-r').fill('-0.25');
  await page.click('#permalink');
  const restored = await openPage(await page.inputValue('#permalink-url'));
  await restored.waitForFunction(() => document.querySelector('#quadruped-status')?.dataset.state === 'ready', null, { timeout: 60_000 });
  assert.equal(await restored.textContent('#quadruped-obs-command'), '(+0.00, +1.00, -0.25)');
  assert.equal(await restored.inputValue('#quadruped-v'), '1');
  assertNoErrors(page);
  assertNoErrors(restored);
  await page.close();
  await restored.close();
});

await test('the walker cell loads the shipped policy and walks', async () => {
  const page = await openPage(base);
  await walkerReady(page);
  assert.match(await page.textContent('#walker-status'), /policy 18-.*LSTM\d+-6 · sha256 [0-9a-f]{12}… · trained here, seed \d+, commit \w+/);
  // Five frames over a second: each drawn, each different, both legs seen. The right leg is
  // drawn in front (≈ 0.95 m × 8–10 cm at 150 px/m, over 1500 px); the left one, behind it,
  // may be partly hidden in some frames but not in all.
  const frames = [];
  for (let k = 0; k < 5; k++) {
    if (k) await page.waitForTimeout(250);
    frames.push(await walkerCanvas(page));
  }
  for (let k = 0; k < frames.length; k++) {
    const c = frames[k];
    assert.ok(c.stats.differingFraction > 0.05, `canvas nearly blank: ${JSON.stringify(c.stats)}`);
    assert.ok(c.right > 1000, `right-leg pixels ${c.right}`);
    if (k) assert.notEqual(c.url, frames[k - 1].url, 'the animation did not change the canvas');
  }
  const left = Math.max(...frames.map((c) => c.left));
  assert.ok(left > 800, `left-leg pixels at most ${left}: the left leg is never seen`);
  await page.waitForFunction(() => Number.isFinite(parseFloat(document.querySelector('#walker-measured-speed').textContent)), null, { timeout: 20_000 });
  const measured = Number(await page.textContent('#walker-measured-speed'));
  assert.ok(measured > -1 && measured < 5, `measured speed ${measured}`);
  assert.equal(await page.textContent('#walker-obs-command'), '1.40');
  await page.waitForFunction(() => Number(document.querySelector('#walker-time').textContent) >= 1.0, null, { timeout: 20_000 });
  const gait = await page.textContent('#walker-contact-right');
  assert.ok(Number(gait) >= 0 && Number(gait) <= 1, `contact fraction ${gait}`);
  await page.locator('#cell-walker').screenshot({ path: path.join(artifacts, 'walker-cell.png') });
  // The walk's last 10 s as CSV and NPY, paused so the readouts hold still: numpy reads the
  // same table from both; its time ends at the cell's, and its last 2 s of u are the cell's
  // measured speed (the session's own window), unless the walker fell meanwhile.
  await page.waitForFunction(() => Number(document.querySelector('#walker-time').textContent) >= 2.2, null, { timeout: 30_000 });
  await page.click('#walker-play');
  await page.waitForFunction(() => document.querySelector('#walker-canvas').dataset.playing === 'false');
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#walker-log-csv')]);
  const [npyDownload] = await Promise.all([page.waitForEvent('download'), page.click('#walker-log-npy')]);
  const log = JSON.parse(execFileSync('python3', ['-c', `
import csv, json, sys, numpy
rows = list(csv.reader(open(sys.argv[1])))
header, table = rows[0], numpy.array([[float(x) for x in r] for r in rows[1:]])
npy = numpy.load(sys.argv[2])
ep = table[:, 0] == table[-1, 0]
u = table[ep, header.index('u_mps')]
print(json.dumps({'header': header[:4], 'columns': len(header), 'rows': len(table), 'same': bool(numpy.array_equal(table, npy)),
  'steps': numpy.diff(table[ep, 1]).tolist(), 't_end': table[-1, 1], 'u_2s': float(u[-250:].mean()) if len(u) >= 250 else None,
  'h': 'h_0' in header and 'c_63' in header}))`, await csvDownload.path(), await npyDownload.path()]));
  assert.deepEqual(log.header, ['episode', 't_s', 'command_forward_speed_mps', 'u_mps']);
  assert.ok(log.same, 'the CSV and the NPY hold the same numbers');
  assert.ok(log.rows > 100 && log.rows <= 1250, `${log.rows} rows`);
  assert.ok(log.h, 'the LSTM state columns');
  assert.ok(log.steps.every((d) => Math.abs(d - 0.008) < 1e-9), 'one row per 8 ms control step');
  assert.equal(log.t_end.toFixed(1), await page.textContent('#walker-time'));
  assert.equal(log.u_2s?.toFixed(2), await page.textContent('#walker-measured-speed'), 'the log\'s last 2 s of u are the measured speed');
  console.log(`     walker: measured ${measured} m/s at u* = 1.4; real-time factor ${await page.textContent('#walker-realtime')}; contact R ${gait}, L ${await page.textContent('#walker-contact-left')}`);
  assertNoErrors(page);
  await page.close();
});

await test('the walker cell: the slider commands the policy live, pause stops it, the permalink keeps both', async () => {
  const page = await openPage(base);
  await walkerReady(page);
  await page.waitForFunction(() => Number(document.querySelector('#walker-time').textContent) >= 0.5, null, { timeout: 20_000 });
  const falls = await page.textContent('#walker-falls');
  const before = await walkerTime(page);
  await page.locator('#walker-speed').fill('1.8');
  await page.waitForFunction(() => document.querySelector('#walker-obs-command').textContent === '1.80', null, { timeout: 10_000 });
  assert.equal(await page.textContent('#walker-command-value'), '1.8 m/s');
  if (await page.textContent('#walker-falls') === falls) {
    assert.ok(await walkerTime(page) >= before, 'changing the command restarted the episode');
  }
  await page.waitForFunction(() => Number(document.querySelector('#walker-time').textContent) >= 2.2, null, { timeout: 30_000 });
  await page.click('#walker-play');
  await page.waitForFunction(() => document.querySelector('#walker-canvas').dataset.playing === 'false');
  assert.equal(await page.textContent('#walker-play'), 'Play');
  await page.waitForTimeout(100);
  const paused = [await walkerCanvas(page), await walkerTime(page)];
  await page.waitForTimeout(500);
  assert.equal((await walkerCanvas(page)).url, paused[0].url, 'the canvas changed while paused');
  assert.equal(await walkerTime(page), paused[1], 'time ran while paused');
  // A surface the browser takes away and gives back blank is redrawn at once, even paused
  // (the events are sent by hand: the canvas is cleared as a real loss would leave it).
  await page.evaluate(() => document.querySelector('#walker-canvas').dispatchEvent(new Event('contextlost')));
  await page.waitForFunction(() => document.querySelector('#walker-canvas').dataset.surface === 'lost');
  assert.match(await page.textContent('#walker-surface-note'), /took this drawing surface away/);
  await page.evaluate(() => {
    const canvas = document.querySelector('#walker-canvas');
    canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
    canvas.dispatchEvent(new Event('contextrestored'));
  });
  const redrawn = await walkerCanvas(page);
  assert.ok(redrawn.url === paused[0].url, 'the paused walker was not redrawn after its surface came back');
  assert.equal(await page.textContent('#walker-surface-note'), '');
  // Seed 1 walks by default; another policy is loaded in place and walks from its own start.
  assert.equal(await page.inputValue('#walker-policy'), 'seed1');
  assert.match(await page.textContent('#walker-status'), /^seed 1 · policy 18-512-256-LSTM128-6/);
  await page.selectOption('#walker-policy', 'seed2');
  await page.waitForFunction(() => /^seed 2 · /.test(document.querySelector('#walker-status').textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent('#walker-status'), /seed 2, commit/);
  assert.equal(await walkerTime(page), 0, 'the new policy starts a new episode (paused: it stays at 0)');
  await page.click('#permalink');
  const restored = await openPage(await page.inputValue('#permalink-url'));
  await walkerReady(restored);
  assert.equal(await restored.inputValue('#walker-policy'), 'seed2');
  assert.match(await restored.textContent('#walker-status'), /^seed 2 · /);
  assert.equal(await restored.inputValue('#walker-speed'), '1.8');
  assert.equal(await restored.textContent('#walker-obs-command'), '1.80');
  assert.equal(await restored.textContent('#walker-play'), 'Play');
  const still = await walkerCanvas(restored);
  assert.ok(still.stats.differingFraction > 0.05, 'a paused walker is still drawn');
  await restored.waitForTimeout(300);
  assert.equal((await walkerCanvas(restored)).url, still.url, 'the restored walker is paused');
  await restored.click('#walker-play');
  await restored.waitForFunction(() => Number(document.querySelector('#walker-time').textContent) > 0.2, null, { timeout: 10_000 });
  assertNoErrors(page);
  assertNoErrors(restored);
  await page.close();
  await restored.close();
});

await test('a missing or corrupt walker model gives a clear message; the other cells keep working', async () => {
  const model = '**/models/walker2d-lstm-seed1.safetensors';
  const cases = [
    [(route) => route.fulfill({ status: 404, body: 'not found' }), /Could not load the walker's policy: models\/walker2d-lstm-seed1\.safetensors: HTTP 404/],
    [(route) => route.fulfill({ status: 200, body: 'not a model' }), /Could not load the walker's policy: .*sha256 mismatch/],
  ];
  for (const [handler, message] of cases) {
    const page = await openPage(base, (p) => p.route(model, handler));
    await page.waitForFunction(() => document.querySelector('#walker-status')?.dataset.state === 'failed', null, { timeout: 60_000 });
    assert.match(await page.textContent('#walker-error'), message);
    assert.ok(await page.isDisabled('#walker-play'), 'play is offered without a model');
    // The Lissajous cell still computes.
    const q0 = await qMax(page);
    await page.locator('#beta').fill('1');
    await page.waitForFunction(() => document.querySelector('#beta-value').textContent === '1.00');
    assert.ok(Number.isFinite(q0) && (await qMax(page)) < q0, 'the Lissajous cell stopped working');
    // The browser reports the failed request itself; nothing else may be logged.
    const others = page.errors.filter((e) => !/Failed to load resource: the server responded with a status of 404/.test(e));
    assert.deepEqual(others, [], 'console errors');
    await page.close();
  }
});

await test('the study cell runs the single protocol with the CLI\'s bits, the quadruped\'s opposing motions, and cancels a sweep', async () => {
  const page = await openPage(base);
  await page.locator('#study-agents').fill('4');
  await page.locator('#study-agents').dispatchEvent('change');
  await page.locator('#study-seconds').fill('4');
  await page.locator('#study-seconds').dispatchEvent('change');
  await page.click('#study-run');
  await page.waitForFunction(() => document.querySelectorAll('#study-findings tbody tr').length === 5, null, { timeout: 120_000 });
  const rows = await page.locator('#study-table tbody tr').count();
  assert.equal(rows, 1);
  const cells = await page.locator('#study-table tbody tr td').allTextContents();
  assert.equal(cells[0], '[2.0]');
  assert.ok(Number(cells[1]) >= 0 && Number(cells[1]) <= 4, `fell ${cells[1]}`);
  const verdict = async (row) => (await page.locator(`#study-findings tbody tr:nth-child(${row}) td`).allTextContents()).slice(0, 2).join(' ');
  assert.match(await verdict(1), /^F1 (holds|does-not-hold|not-measurable)$/);
  assert.match(await verdict(3), /^F3 not-measurable$/);
  assert.match(await page.textContent('#study-diagnostics'), /Diagnostics over 1 conditions and 4 agent runs: \d+ fell/);
  assert.match(await page.textContent('#study-status'), /ran in [\d.]+ s on \d Web Workers?$/, 'the study runs in Web Workers');
  console.log(`     study: ${await page.textContent('#study-status')}`);
  assert.equal(await page.isDisabled('#study-export'), false);
  // The same protocol natively: the same findings, bit for bit.
  const studyFindings = async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#study-export')]);
    return JSON.parse(fs.readFileSync(await download.path()));
  };
  const nativeFindings = (robot, model, protocol, agents, seconds) => {
    const dir = fs.mkdtempSync(path.join(artifacts, 'study-'));
    execFileSync(nativeCli(), ['study', 'run', '--robot', robot, '--model', path.join(here, '..', '..', 'public', 'models', model),
      '--protocol', protocol, '--agents', `${agents}`, '--seconds', `${seconds}`,
      // The cell's warm-up: the paper's 2 s, at most half the run.
      '--warmup-secs', `${Math.min(2, seconds / 2)}`, '--out-dir', dir], { stdio: 'ignore' });
    const bytes = fs.readFileSync(path.join(dir, 'findings.json'));
    const files = Object.fromEntries(['findings.json', 'cycles/cell.npy', 'cycles/hidden.npy', 'cycles/actions.npy']
      .map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));
    fs.rmSync(dir, { recursive: true });
    // The page shows the first 12 hex digits of findings.json's sha256, as the CLI prints them.
    return { findings: JSON.parse(bytes), checksum: crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 12), files };
  };
  // study.zip holds the CLI's out-dir files byte for byte (read by Python's zipfile, and the
  // NPYs by numpy).
  const zipSameAsCli = async (native) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#study-export-zip')]);
    const zipPath = path.join(artifacts, 'study.zip');
    await download.saveAs(zipPath);
    const listing = JSON.parse(execFileSync('python3', ['-c', `
import base64, io, json, sys, zipfile
import numpy as np
z = zipfile.ZipFile(sys.argv[1])
out = {}
for name in z.namelist():
    data = z.read(name)
    out[name] = {"b64": base64.b64encode(data).decode(), "shape": list(np.load(io.BytesIO(data)).shape) if name.endswith(".npy") else None}
print(json.dumps(out))`, zipPath], { maxBuffer: 256 << 20 }));
    assert.deepEqual(Object.keys(listing).sort(), Object.keys(native.files).sort());
    for (const [name, b64] of Object.entries(native.files)) assert.equal(listing[name].b64, b64, `study.zip's ${name} differs from the CLI's`);
    return listing;
  };
  const sameAsCli = async (native, what) => {
    assert.deepEqual(await studyFindings(), native.findings, `${what} in the tab differs from tanglelab study run`);
    assert.equal(await page.textContent('#study-checksum'), native.checksum, `${what}: the page's checksum`);
  };
  // The default Walker2D policy is seed 1.
  assert.equal(await page.inputValue('#study-walker-policy'), 'seed1');
  await sameAsCli(nativeFindings('walker2d', 'walker2d-lstm-seed1.safetensors', 'single', 4, 4), 'the single protocol');
  // Fig. 2: the cycle averages of c and of the actions in 3D, coloured by Q, and Q over the cycle.
  assert.match(await page.textContent('#study-fig2-title'), /Fig. 2 at \[2\.0\]/);
  assert.equal(await page.locator('#study-fig2-q path').count() >= 2, true);
  const [figData] = await Promise.all([page.waitForEvent('download'), page.click('#study-export-fig2')]);
  const fig2 = JSON.parse(fs.readFileSync(await figData.path()));
  for (const signal of ['cell', 'hidden', 'actions']) {
    assert.ok(fig2[signal].q.length > 10, `${signal}: a cycle of ${fig2[signal].q.length} samples`);
    assert.equal(fig2[signal].pc_scores.length, fig2[signal].q.length);
    assert.equal(fig2[signal].pc_scores[0].length, 3);
  }
  await page.waitForFunction(() => [...document.querySelectorAll('.plot3d-status')].some((el) => el.closest('#cell-study') && el.dataset.ready === 'true'), null, { timeout: 30_000 });
  const colours = pixelStats(await exportFigure(page, 'study-fig2-cell.png', '#study-fig2-cell-png')).colours;
  assert.ok(colours > 12, `the Fig. 2 view has ${colours} colours: blank or one-coloured`);
  await page.locator('#study-fig2-title ~ div.figures').first().screenshot({ path: path.join(artifacts, 'readme-study-fig2.png') });
  // Changing a setting marks the results as the last run's; running again clears them first.
  assert.equal(await page.locator('#study-stale').count(), 0);
  await page.locator('#study-seed').fill('5');
  await page.locator('#study-seed').dispatchEvent('change');
  assert.match(await page.textContent('#study-stale'), /last run's settings \(walker2d seed 1, single, 4 agents × 4 s, seed 0\)/);
  await page.locator('#study-seed').fill('0');
  await page.locator('#study-seed').dispatchEvent('change');
  assert.equal(await page.locator('#study-stale').count(), 0, 'back to the run\'s settings: not stale');
  // Another seed's policy is another study: the results are marked as the last run's.
  await page.selectOption('#study-walker-policy', 'seed2');
  assert.match(await page.textContent('#study-stale'), /last run's settings/);
  await page.selectOption('#study-walker-policy', 'seed1');
  assert.equal(await page.locator('#study-stale').count(), 0, 'back to seed 1: not stale');
  // Q(t) as CSV (Python's csv reads it; numbers round-trip) and the plot as SVG.
  const fig2Csv = pythonCsv(await downloadedText(page, '#study-export-fig2-csv'));
  assert.deepEqual(fig2Csv[0], ['cycle_percent', 'q_cell', 'q_hidden', 'q_actions']);
  assert.equal(fig2Csv.length - 1, fig2.cell.q.length);
  assert.equal(Number(fig2Csv[1][1]), fig2.cell.q[0]);
  assert.match(await downloadedText(page, '#study-export-fig2-svg'), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  // The toggle shows h instead of c.
  const qWithC = await page.innerHTML('#study-fig2-q');
  await page.check('#study-fig2-h');
  assert.match(await page.textContent('#study-fig2-title'), /hidden state/);
  assert.notEqual(await page.innerHTML('#study-fig2-q'), qWithC, 'Q(t) did not change with h');
  await page.uncheck('#study-fig2-h');
  // Another seed's policy runs with the CLI's bits too.
  await page.selectOption('#study-walker-policy', 'seed2');
  await page.click('#study-run');
  await page.waitForFunction(() => /ran in/.test(document.querySelector('#study-status').textContent)
      && !document.querySelector('#study-stale'), null, { timeout: 120_000 });
  await sameAsCli(nativeFindings('walker2d', 'walker2d-lstm-seed2.safetensors', 'single', 4, 4), 'seed 2\'s single protocol');
  await page.selectOption('#study-walker-policy', 'seed1');
  // Fig. 3: the push protocol, the pushed agent beside the nominal cycle, a time scrubber.
  await page.selectOption('#study-protocol', 'push');
  await page.click('#study-run');
  await page.waitForFunction(() => /ran in/.test(document.querySelector('#study-status').textContent)
      && document.querySelector('#study-fig3-title'), null, { timeout: 120_000 });
  const nativePush = nativeFindings('walker2d', 'walker2d-lstm-seed1.safetensors', 'push', 4, 4);
  await sameAsCli(nativePush, 'the push protocol');
  const pushZip = await zipSameAsCli(nativePush);
  assert.equal(pushZip['cycles/cell.npy'].shape.length, 3);
  assert.equal(pushZip['cycles/cell.npy'].shape[0], 2, 'the unpushed twin and the pushed run');
  assert.match(await page.textContent('#study-fig3-title'), /Fig. 3: agent \d pushed by Δv = [+-]\d\.\d\d m\/s/);
  assert.match(await page.textContent('#study-fig3-at'), /t − t_push = \+0\.00 s/);
  // The pushed walker at the scrubbed moment: drawn, and drawn anew when the scrubber moves.
  const walkerAt = () => page.evaluate(() => {
    const c = document.querySelector('#study-fig3-walker');
    const blank = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
    return { url: c.toDataURL(), blank: blank.toDataURL() };
  });
  const atPush = await walkerAt();
  assert.notEqual(atPush.url, atPush.blank, 'the walker at the push is not drawn');
  await page.locator('#study-fig3-scrub').evaluate((el) => { el.value = '10'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  assert.match(await page.textContent('#study-fig3-at'), /t − t_push = -\d\.\d\d s/, 'the scrubber moves the time');
  assert.notEqual((await walkerAt()).url, atPush.url, 'the walker did not move with the scrubber');
  await page.locator('#study-fig3-walker').screenshot({ path: path.join(artifacts, 'study-fig3-walker.png') });
  assert.ok(await page.locator('#study-fig3-distance path').count() >= 3, 'the distance plot has no lines');
  assert.match(await page.textContent('#study-fig3-summary'), /Cycles to return \(median over 4 standing agents\)/);
  const [fig3Data] = await Promise.all([page.waitForEvent('download'), page.click('#study-export-fig3')]);
  const fig3 = JSON.parse(fs.readFileSync(await fig3Data.path()));
  assert.equal(fig3.nominal_pcs_1_3[0].length, 3);
  assert.ok(fig3.agent_pcs_1_3.length > fig3.push_row && fig3.push_row > 0, `push row ${fig3.push_row} of ${fig3.agent_pcs_1_3.length}`);
  const fig3Csv = pythonCsv(await downloadedText(page, '#study-export-fig3-csv'));
  assert.deepEqual(fig3Csv[0], ['cycle_after_push', 'agent_distance', 'median_distance', 'unpushed_spread_p95']);
  assert.equal(Number(fig3Csv[1][1]), fig3.agent.distances[0]);
  assert.match(await downloadedText(page, '#study-export-fig3-svg'), /^<svg/);
  await viewReady(page, '#study-fig3-pcs');
  const fig3Colours = pixelStats(await exportFigure(page, 'study-fig3.png', '#study-fig3-pcs-png')).colours;
  assert.ok(fig3Colours > 8, `the Fig. 3 view has ${fig3Colours} colours`);
  await page.locator('#study-fig3-title ~ div.figures').first().screenshot({ path: path.join(artifacts, 'readme-study-fig3.png') });
  // The walker has no opposing motions: a clear message naming the missing range.
  await page.selectOption('#study-protocol', 'opposing');
  await page.click('#study-run');
  await page.waitForSelector('#study-error');
  assert.match(await page.textContent('#study-error'), /walker2d|Walker2D/i);
  console.log(`     study: walker opposing → ${await page.textContent('#study-error')}`);
  // The quadruped's six opposing motions, 2 agents × 3 s, against the CLI; the link keeps the settings.
  await page.selectOption('#study-robot', 'quadruped');
  await page.locator('#study-agents').fill('2');
  await page.locator('#study-agents').dispatchEvent('change');
  await page.locator('#study-seconds').fill('3');
  await page.locator('#study-seconds').dispatchEvent('change');
  await page.click('#study-run');
  await page.waitForFunction(() => /ran in/.test(document.querySelector('#study-status').textContent)
      && document.querySelectorAll('#study-table tbody tr').length === 6, null, { timeout: 180_000 });
  // The quadruped's findings equal the CLI's bit for bit too (fmath::FloatExt gives every build
  // the same signed zeros; f64::max did not).
  await sameAsCli(nativeFindings('quadruped', 'quadruped-lstm-seed1.safetensors', 'opposing', 2, 3), 'the quadruped\'s opposing motions');
  // Fig. 4: each signal's six cycles in their global PCs, one colour per motion, and the table.
  assert.match(await page.textContent('#study-fig4-title'), /Fig. 4: 6 opposing motions/);
  assert.equal(await page.locator('#study-fig4-table tbody tr').count(), 7);
  assert.match(await page.textContent('#study-fig4-table'), /sideways left \(v\* = \+2\).*turning right \(r\* = -0.25\)/s);
  const [fig4Data] = await Promise.all([page.waitForEvent('download'), page.click('#study-export-fig4')]);
  const fig4 = JSON.parse(fs.readFileSync(await fig4Data.path()));
  assert.equal(fig4.cell_global_pcs_1_3.length, 6);
  assert.equal(fig4.actions_global_pcs_1_3[5][0].length, 3);
  const fig4Csv = pythonCsv(await downloadedText(page, '#study-export-fig4-csv'));
  assert.equal(fig4Csv.length, 8, 'header, six motions, all conditions');
  assert.equal(fig4Csv[3][0], 'sideways left (v* = +2)');
  await viewReady(page, '#study-fig4-cell');
  const fig4Colours = pixelStats(await exportFigure(page, 'study-fig4-cell.png', '#study-fig4-cell-png')).colours;
  assert.ok(fig4Colours > 6, `the Fig. 4 view has ${fig4Colours} colours`);
  await page.locator('#study-fig4-title ~ div.figures').first().screenshot({ path: path.join(artifacts, 'readme-study-fig4.png') });
  // The quadruped's speed sweep: Figs. 5–6 and the frequency per speed, and the CLI's bits again.
  await page.selectOption('#study-protocol', 'speed-sweep');
  await page.click('#study-run');
  await page.waitForFunction(() => /ran in/.test(document.querySelector('#study-status').textContent)
      && document.querySelector('#study-sweep-title'), null, { timeout: 180_000 });
  assert.match(await page.textContent('#study-sweep-title'), /at 7 speeds/);
  assert.ok(await page.locator('#study-sweep-hz path').count() >= 3, 'the frequency plot has no lines');
  const sweepCsv = pythonCsv(await downloadedText(page, '#study-export-sweep-csv'));
  assert.equal(sweepCsv.length, 8, 'header and seven speeds');
  assert.equal(Number(sweepCsv[1][0]), 0.8);
  assert.match(await downloadedText(page, '#study-export-sweep-svg'), /^<svg/);
  // The README's Fig. 5 picture, when the view's renderer is up (it can lag on a loaded machine;
  // the picture is documentation, not a check: the sweep's numbers are checked below).
  try {
    await page.waitForSelector('#study-sweep-pcs-png', { timeout: 20_000 });
    await page.locator('#study-sweep-title ~ div.figures').first().screenshot({ path: path.join(artifacts, 'readme-study-fig5-6.png') });
    await exportFigure(page, 'study-fig5.png', '#study-sweep-pcs-png');
  } catch (error) {
    console.log(`     study: no Fig. 5 picture this run (${error.message.split('\n')[0]})`);
  }
  await sameAsCli(nativeFindings('quadruped', 'quadruped-lstm-seed1.safetensors', 'speed-sweep', 2, 3), 'the quadruped\'s speed sweep');
  const [sweepData] = await Promise.all([page.waitForEvent('download'), page.click('#study-export-sweep')]);
  const sweepJson = JSON.parse(fs.readFileSync(await sweepData.path()));
  assert.equal(sweepJson.speeds.length, 7);
  assert.equal(sweepJson.global_pcs_1_3.length, 7);
  assert.equal(sweepJson.global_pcs_1_3[0][0].length, 3);
  await page.selectOption('#study-protocol', 'opposing');
  await page.click('#permalink');
  const restored = await openPage(await page.inputValue('#permalink-url'));
  assert.equal(await restored.inputValue('#study-robot'), 'quadruped');
  assert.equal(await restored.inputValue('#study-protocol'), 'opposing');
  assert.equal(await restored.inputValue('#study-agents'), '2');
  await restored.close();
  await page.selectOption('#study-robot', 'walker2d');
  // A speed sweep long enough to be cancelled after its first group (28 groups of 25 agents × 10 s).
  await page.locator('#study-agents').fill('100');
  await page.locator('#study-agents').dispatchEvent('change');
  await page.locator('#study-seconds').fill('10');
  await page.locator('#study-seconds').dispatchEvent('change');
  await page.selectOption('#study-protocol', 'speed-sweep');
  await page.click('#study-run');
  await page.waitForFunction(() => /group [1-9]/.test(document.querySelector('#study-status').textContent), null, { timeout: 60_000 });
  // Long work says how long it has left.
  await page.waitForFunction(() => /^ · about \d+ (s|min) left$/.test(document.querySelector('#study-eta').textContent), null, { timeout: 60_000 });
  // A group holds the page's thread for seconds (no worker yet): Playwright's click waits for
  // animation frames, so the button is clicked from the page, between two groups.
  await page.evaluate(() => document.querySelector('#study-cancel').click());
  await page.waitForFunction(() => document.querySelector('#study-status').textContent === 'cancelled', null, { timeout: 60_000 });
  await page.locator('#cell-study').screenshot({ path: path.join(artifacts, 'study-cell.png') });
  console.log(`     study: ${cells.join(' | ')}`);
  assertNoErrors(page);
  await page.close();
});

await test('the reaching grid cell trains Q-learning in the tab with the native bits, and a link carries its settings', async () => {
  const page = await openPage(base);
  await page.waitForSelector('#grid-verdict');
  // The defaults: the authors' field run (10⁵ episodes, seed 1).
  assert.equal(await page.textContent('#grid-reached'), '99/99');
  assert.equal(await page.textContent('#grid-verdict'), 'passed');
  assert.equal(await page.locator('#grid-paths-plot circle').count(), 12);
  // Without the field, seed 3, 5000 episodes: the exported run equals the CLI's, episode by episode.
  await page.uncheck('#grid-field');
  for (const [id, value] of [['#grid-episodes', '5000'], ['#grid-seed', '3']]) {
    await page.locator(id).fill(value);
    await page.locator(id).dispatchEvent('change');
  }
  await page.waitForFunction(() => !document.querySelector('#grid-rule').textContent.includes('every start'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#grid-export')]);
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.report.config.episodes, 5000);
  assert.equal(exported.report.world.field, null);
  const dir = fs.mkdtempSync(path.join(artifacts, 'grid-'));
  execFileSync(nativeCli(), ['reaching', 'grid', '--episodes', '5000', '--seed', '3', '--out-dir', dir], { stdio: 'ignore' });
  const native = JSON.parse(fs.readFileSync(path.join(dir, 'grid-run.json'), 'utf8'));
  assert.deepEqual(exported.report, native, 'the page\'s report differs from tanglelab reaching grid\'s');
  const npy = fs.readFileSync(path.join(dir, 'steps-per-episode.npy'));
  const headerLen = npy.readUInt16LE(8);
  const steps = new Float64Array(npy.buffer.slice(npy.byteOffset + 10 + headerLen, npy.byteOffset + npy.length));
  assert.deepEqual(exported.steps_per_episode, Array.from(steps));
  // The learning curve's numbers as the page offers them (NPY [episodes, 2]: episode, moves).
  const [curveNpy] = await Promise.all([page.waitForEvent('download'), page.click('#grid-curve-data-npy')]);
  const curve = npyValues(fs.readFileSync(await curveNpy.path()));
  assert.deepEqual(curve.filter((_, k) => k % 2 === 1), Array.from(steps), 'the curve\'s NPY holds the moves per episode');
  fs.rmSync(dir, { recursive: true });
  // The settings travel in the URL: a fresh page from it shows the same numbers.
  const url = page.url();
  const shortest = await page.textContent('#grid-shortest');
  const again = await openPage(url);
  await again.waitForSelector('#grid-verdict');
  assert.equal(await again.textContent('#grid-shortest'), shortest);
  assert.equal(await again.isChecked('#grid-field'), false);
  // Out-of-range input is refused with a message and changes nothing.
  await again.locator('#grid-episodes').fill('99999999');
  await again.locator('#grid-episodes').dispatchEvent('change');
  assert.match(await again.textContent('#cell-reaching-grid .error'), /Episodes must be a whole number from 1 to 300000/);
  assert.equal(await again.textContent('#grid-shortest'), shortest);
  await page.locator('#cell-reaching-grid').screenshot({ path: path.join(artifacts, 'reaching-grid-cell.png') });
  console.log(`     grid: no field, seed 3, 5000 episodes: shortest ${shortest}; ${await page.textContent('#grid-millis')}`);
  assertNoErrors(page);
  assertNoErrors(again);
  await page.close();
  await again.close();
});

await test('the reaching RNN cell trains in the tab with the native bits, draws its figures, and cancels', async () => {
  const page = await openPage(base);
  await page.waitForSelector('#rnn-train');
  await page.selectOption('#rnn-model', 'standard');
  await page.locator('#rnn-batches').fill('4');
  await page.locator('#rnn-batches').dispatchEvent('change');
  await page.click('#rnn-train');
  await page.waitForFunction(() => /trained 12 batches/.test(document.querySelector('#rnn-status').textContent), null, { timeout: 120_000 });
  assert.equal(await page.locator('#rnn-phases tbody tr').count(), 3);
  assert.equal(await page.locator('#rnn-reaches-on rect[fill="#f4d03f"]').count(), 1);
  assert.equal(await page.locator('#rnn-reaches-off path[stroke-dasharray]').count(), 8);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#rnn-export-weights')]);
  const wasm = fs.readFileSync(await download.path());
  const dir = fs.mkdtempSync(path.join(artifacts, 'rnn-'));
  execFileSync(nativeCli(), ['reaching', 'train', '--model', 'standard', '--batches-per-phase', '4', '--seed', '1',
    '--test-trials', '8', '--out-dir', dir], { stdio: 'ignore' });
  const native = fs.readFileSync(path.join(dir, 'model.safetensors'));
  assert.ok(wasm.equals(native), 'the weights trained in the tab differ from tanglelab reaching train\'s');
  fs.rmSync(dir, { recursive: true });
  await page.locator('#cell-reaching-rnn').screenshot({ path: path.join(artifacts, 'reaching-rnn-cell.png') });
  // A long run of the buffer model, cancelled after its first batches.
  await page.selectOption('#rnn-model', 'buffer');
  await page.locator('#rnn-batches').fill('2000');
  await page.locator('#rnn-batches').dispatchEvent('change');
  await page.click('#rnn-train');
  await page.waitForFunction(() => /batch [1-9]/.test(document.querySelector('#rnn-status').textContent), null, { timeout: 60_000 });
  await page.evaluate(() => document.querySelector('#rnn-cancel').click());
  await page.waitForFunction(() => /cancelled after/.test(document.querySelector('#rnn-status').textContent), null, { timeout: 60_000 });
  console.log(`     rnn: ${await page.textContent('#rnn-status')}`);
  assertNoErrors(page);
  await page.close();
});

await test('the DQN cell trains in the tab with the native bits and evaluation, cancels, and loads the shipped DQN', async () => {
  const page = await openPage(base);
  await page.waitForSelector('#dqn-train');
  const set = async (id, v) => { await page.locator(id).fill(v); await page.locator(id).dispatchEvent('change'); };
  // 1050 frames: the replay starts learning after 1000, so 50 updates run.
  await set('#dqn-frames', '1050');
  await set('#dqn-trials', '20');
  await page.click('#dqn-train');
  await page.waitForFunction(() => document.querySelector('#dqn-status').dataset.running === 'false'
      && document.querySelectorAll('#dqn-evaluation tbody tr').length === 2, null, { timeout: 180_000 });
  assert.match(await page.textContent('#dqn-status'), /the DQN trained in this tab \(seed 1, 1050 frames/);
  assert.equal(await page.locator('#dqn-paths circle').count(), 8);
  const [weights] = await Promise.all([page.waitForEvent('download'), page.click('#dqn-export-weights')]);
  const [run] = await Promise.all([page.waitForEvent('download'), page.click('#dqn-export-json')]);
  const tab = JSON.parse(fs.readFileSync(await run.path()));
  const dir = fs.mkdtempSync(path.join(artifacts, 'dqn-'));
  execFileSync(nativeCli(), ['reaching', 'dqn', '--frames', '1050', '--seed', '1', '--eval-trials', '20', '--out-dir', dir], { stdio: 'ignore' });
  assert.ok(fs.readFileSync(await weights.path()).equals(fs.readFileSync(path.join(dir, 'model.safetensors'))),
    'the DQN trained in the tab differs from tanglelab reaching dqn\'s');
  const native = JSON.parse(fs.readFileSync(path.join(dir, 'dqn-run.json')));
  assert.deepEqual(tab.evaluation, [native.radius_1, native.exact_hit], 'the tab\'s evaluation differs from the CLI\'s');
  assert.equal(tab.moves_per_episode.length, native.episodes);
  fs.rmSync(dir, { recursive: true });
  // A full-budget run, cancelled during training.
  await set('#dqn-frames', '100000');
  await page.click('#dqn-train');
  await page.waitForFunction(() => /frame [1-9]\d* of 100000/.test(document.querySelector('#dqn-status').textContent), null, { timeout: 60_000 });
  await page.click('#dqn-cancel');
  await page.waitForFunction(() => document.querySelector('#dqn-status').dataset.running === 'false', null, { timeout: 60_000 });
  assert.match(await page.textContent('#dqn-status'), /cancelled/);
  // The shipped DQN: the card's 1000-trial evaluation beside the tab's own.
  await page.click('#dqn-load-shipped');
  await page.waitForFunction(() => document.querySelector('#dqn-status').dataset.running === 'false'
      && document.querySelectorAll('#dqn-evaluation tbody tr').length === 4, null, { timeout: 120_000 });
  const card = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'public', 'models', 'reaching-dqn-seed1.card.json')));
  const rows = await page.locator('#dqn-evaluation tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.equal(rows[2][2], `${card.radius_1.hits}/${card.radius_1.trials}`);
  assert.equal(rows[3][2], `${card.exact_hit.hits}/${card.exact_hit.trials}`);
  assert.match(rows[0][2], /^\d+\/20$/);
  await page.locator('#cell-reaching-dqn').screenshot({ path: path.join(artifacts, 'reaching-dqn-cell.png') });
  console.log(`     dqn: shipped, tab 20 trials ${rows[0][2]} at radius 1 (card ${rows[2][2]})`);
  assertNoErrors(page);
  await page.close();
});

/** Cell 10 on 2 episodes of 400 steps and 400 CKA rows (the expert and students a = 0, 0.8): its checksum. */
async function runSmallBrainiarb(page, set) {
  await set('#brainiarb-episodes', '2');
  await set('#brainiarb-steps', '400');
  await set('#brainiarb-rows', '400');
  await page.click('#brainiarb-run');
  await page.waitForFunction(() => document.querySelector('#brainiarb-status').dataset.running === 'false'
      && document.querySelector('#brainiarb-checksum').textContent.length === 16, null, { timeout: 240_000 });
  assert.equal(await page.locator('#brainiarb-agents tbody tr').count(), 3);
  return page.textContent('#brainiarb-checksum');
}

await test('the behaviour-cloning cell compares the shipped students with the CLI\'s numbers, cancels and keeps its settings in the link', async () => {
  const page = await openPage(base);
  const set = async (id, v) => { await page.locator(id).fill(v); await page.locator(id).press('Enter'); };
  const checksum = await runSmallBrainiarb(page, set);
  // Heat maps: coloured cells (viridis), not blank.
  const fills = await page.locator('#brainiarb-heatmaps rect').evaluateAll((rs) => new Set(rs.map((r) => r.getAttribute('fill'))).size);
  assert.ok(fills > 10, `heat maps use ${fills} colours`);
  assert.ok(await page.locator('#brainiarb-same-a0 svg').count() === 1);
  assert.match(await page.innerHTML('#brainiarb-spectra'), /<path d="M/);
  assert.equal(await page.locator('#brainiarb-checks li').count(), 5);
  // The same numbers from the CLI on the same files.
  const cliLine = await page.textContent('#brainiarb-cli');
  assert.match(cliLine, /--levels 0,0.8 --episodes 2 --steps 400 --seed 7 --max-rows 400 --rbf-rows 400 --no-tsne/);
  const dir = fs.mkdtempSync(path.join(artifacts, 'brainiarb-'));
  const stdout = execFileSync(nativeCli(), ['brainiarb', 'compare', '--students', path.join(here, '..', '..', 'public', 'models', 'brainiarb'),
    '--levels', '0,0.8', '--episodes', '2', '--steps', '400', '--seed', '7', '--max-rows', '400', '--rbf-rows', '400', '--no-tsne', '--out-dir', dir]).toString();
  const native = stdout.match(/checksum ([0-9a-f]{16})/)[1];
  // The export is the CLI's brainiarb.json but for the file names, and the checksums agree.
  const tab = JSON.parse(await downloadedText(page, '#brainiarb-export-json'));
  const cli = JSON.parse(fs.readFileSync(path.join(dir, 'brainiarb.json')));
  for (const r of [tab, cli]) { delete r.protocol.expert; delete r.protocol.students; }
  assert.deepEqual(tab, cli);
  assert.equal(checksum, native, 'the tab\'s comparison differs from tanglelab brainiarb compare\'s');
  // The heat maps' numbers as CSV: the expert's own matrix first (level empty, protocol 0).
  const [ckaHeader, ...ckaRows] = pythonCsv(await downloadedText(page, '#brainiarb-cka-data-csv'));
  assert.deepEqual(ckaHeader, ['level', 'protocol', 'row_layer', 'column_layer', 'cka']);
  const within = tab.expert.within;
  const expertRows = ckaRows.filter((r) => r[1] === '0.0');
  assert.equal(expertRows.length, within.length * within.length);
  for (const [, , i, j, v] of expertRows) assert.equal(Number(v), within[Number(i)][Number(j)]);
  fs.rmSync(dir, { recursive: true });
  // With t-SNE maps: one map per agent the checks read (the expert, a = 0 and a = 0.8).
  await set('#brainiarb-episodes', '1');
  await page.check('#brainiarb-tsne');
  await page.click('#brainiarb-run');
  await page.waitForFunction((before) => document.querySelector('#brainiarb-status').dataset.running === 'false'
      && document.querySelector('#brainiarb-checksum').textContent !== before, checksum, { timeout: 240_000 });
  assert.equal(await page.locator('#brainiarb-maps svg').count(), 3);
  // 300 samples (400 steps after the first 100), spread over the map (the authors' fixed KDE
  // bandwidth may see one cluster in so short a run: the number of colours is not asserted).
  assert.equal(await page.locator('#brainiarb-tsne-expert circle').count(), 300);
  const spots = await page.locator('#brainiarb-tsne-expert circle').evaluateAll((cs) => new Set(cs.map((c) => `${c.getAttribute('cx')},${c.getAttribute('cy')}`)).size);
  assert.ok(spots > 250, `the expert's map puts 300 samples on ${spots} spots`);
  await page.locator('#cell-brainiarb').screenshot({ path: path.join(artifacts, 'brainiarb-cell.png') });
  const shown = await page.textContent('#brainiarb-checksum');
  await page.uncheck('#brainiarb-tsne');
  // A long run, cancelled: the shown results stay.
  await set('#brainiarb-episodes', '20');
  await page.click('#brainiarb-run');
  await page.waitForFunction(() => /episode [2-9] of 20/.test(document.querySelector('#brainiarb-status').textContent), null, { timeout: 60_000 });
  const cancelledAt = Date.now();
  await page.click('#brainiarb-cancel');
  await page.waitForFunction(() => document.querySelector('#brainiarb-status').dataset.running === 'false', null, { timeout: 10_000 });
  assert.ok(Date.now() - cancelledAt < 5000, `cancel took ${Date.now() - cancelledAt} ms`);
  assert.match(await page.textContent('#brainiarb-status'), /cancelled/);
  assert.equal(await page.textContent('#brainiarb-checksum'), shown);
  // The settings travel in the permalink.
  await page.click('#permalink');
  const restored = await openPage(await page.inputValue('#permalink-url'));
  assert.equal(await restored.inputValue('#brainiarb-episodes'), '20');
  assert.equal(await restored.inputValue('#brainiarb-steps'), '400');
  assert.ok(await restored.isChecked('#brainiarb-level-a0_8'));
  console.log(`     brainiarb: checksum ${checksum} in the tab and natively`);
  assertNoErrors(page);
  assertNoErrors(restored);
  await page.close();
  await restored.close();
});

await test('variant (b) of the behaviour-cloning cell compares the shipped SAC expert and MLP students with the CLI\'s numbers', async () => {
  const page = await openPage(base);
  const set = async (id, v) => { await page.locator(id).fill(v); await page.locator(id).press('Enter'); };
  await page.selectOption('#brainiarb-variant', 'b');
  const checksum = await runSmallBrainiarb(page, set);
  const cliLine = await page.textContent('#brainiarb-cli');
  assert.match(cliLine, /--expert public\/models\/brainiarb-sac\/sac-expert.safetensors --students public\/models\/brainiarb-sac/);
  const models = path.join(here, '..', '..', 'public', 'models', 'brainiarb-sac');
  const dir = fs.mkdtempSync(path.join(artifacts, 'brainiarb-sac-'));
  const stdout = execFileSync(nativeCli(), ['brainiarb', 'compare', '--expert', path.join(models, 'sac-expert.safetensors'),
    '--students', models, '--levels', '0,0.8', '--episodes', '2', '--steps', '400', '--seed', '7', '--max-rows', '400',
    '--rbf-rows', '400', '--no-tsne', '--out-dir', dir]).toString();
  const native = stdout.match(/checksum ([0-9a-f]{16})/)[1];
  const tab = JSON.parse(await downloadedText(page, '#brainiarb-export-json'));
  const cli = JSON.parse(fs.readFileSync(path.join(dir, 'brainiarb.json')));
  for (const r of [tab, cli]) { delete r.protocol.expert; delete r.protocol.students; }
  assert.deepEqual(tab, cli);
  assert.deepEqual(tab.protocol.layers, ['linear1', 'linear2', 'mean', 'log_std']);
  assert.equal(checksum, native, 'the tab\'s variant (b) differs from tanglelab brainiarb compare\'s');
  fs.rmSync(dir, { recursive: true });
  // The variant travels in the permalink.
  await page.click('#permalink');
  const restored = await openPage(await page.inputValue('#permalink-url'));
  assert.equal(await restored.inputValue('#brainiarb-variant'), 'b');
  console.log(`     brainiarb variant (b): checksum ${checksum} in the tab and natively`);
  assertNoErrors(page);
  assertNoErrors(restored);
  await page.close();
  await restored.close();
});

await test('the shipped reaching model loads into cell 7 and cell 8 analyses its units with the native numbers', async () => {
  const page = await openPage(base);
  await page.waitForSelector('#rnn-load-shipped');
  assert.equal(await page.getAttribute('#units-status', 'data-state'), 'empty');
  await page.selectOption('#rnn-model', 'buffer');
  await page.click('#rnn-load-shipped');
  await page.waitForFunction(() => /loaded the shipped Buffer model/.test(document.querySelector('#rnn-status').textContent), null, { timeout: 60_000 });
  // The phase table is the card's evaluation.
  const card = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'public', 'models', 'reaching-buffer-gru-seed1.card.json')));
  const cells = await page.locator('#rnn-phases tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.equal(cells.length, 3);
  card.phase_ends.forEach((end, k) => {
    assert.equal(cells[k][0], end.phase);
    assert.equal(cells[k][1], end.no_field.pooled_relative_position_rmse.toFixed(4));
    assert.equal(cells[k][2], end.field.pooled_relative_position_rmse.toFixed(4));
  });
  assert.equal(await page.locator('#rnn-reaches-off path[stroke-dasharray]').count(), 8);
  // Cell 8 analyses it; its units.json equals `tanglelab reaching units` on the same file.
  await page.waitForFunction(() => document.querySelector('#units-status')?.dataset.state === 'ready', null, { timeout: 60_000 });
  assert.match(await page.textContent('#units-tuning'), /\d+\/128 units change by more than 2 SD/);
  assert.equal(await page.locator('#units-populations tbody tr').count(), 2);
  assert.equal(await page.locator('#units-psth-off path').count() >= 8, true);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#units-export-json')]);
  const wasm = JSON.parse(fs.readFileSync(await download.path()));
  const dir = fs.mkdtempSync(path.join(artifacts, 'units-'));
  const model = path.join(here, '..', '..', 'public', 'models', 'reaching-buffer-gru-seed1.safetensors');
  execFileSync(nativeCli(), ['reaching', 'units', '--model', model, '--out-dir', dir], { stdio: 'ignore' });
  const native = JSON.parse(fs.readFileSync(path.join(dir, 'units.json')));
  assert.deepEqual(wasm, native, 'the units analysis in the tab differs from tanglelab reaching units');
  fs.rmSync(dir, { recursive: true });
  // Another unit's PSTH; a unit that does not exist is refused with a message.
  await page.locator('#units-unit').fill('5');
  await page.locator('#units-unit').dispatchEvent('change');
  await page.waitForFunction(() => /unit 5 \(h\)/.test(document.querySelector('#units-psth-on').textContent), null, { timeout: 10_000 });
  await page.locator('#units-unit').fill('128');
  await page.locator('#units-unit').dispatchEvent('change');
  assert.match(await page.textContent('#cell-reaching-units .error'), /from 0 to 127/);
  await page.selectOption('#units-condition', 'field');
  await page.locator('#cell-reaching-units').screenshot({ path: path.join(artifacts, 'reaching-units-cell.png') });
  const p = native.populations;
  console.log(`     units (shipped buffer GRU): jPCA R² rotational ${p.no_field.jpca_r2_skew.toFixed(3)} / ${p.field.jpca_r2_skew.toFixed(3)}, max Q ${p.no_field.tangling_max.toFixed(2)} / ${p.field.tangling_max.toFixed(2)} (field off / on)`);
  assertNoErrors(page);
  await page.close();
});


/** An NPY v1 file of little-endian float64 values with `shape` (C order). */
function npyBytes(shape, values) {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93]).copy(head, 0);
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1; head[7] = 0; head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(8 * values.length);
  values.forEach((v, k) => data.writeDoubleLE(v, 8 * k));
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}
/** The float64 values of an NPY v1 file. */
function npyValues(buffer) {
  const headerLen = buffer.readUInt16LE(8);
  const data = buffer.subarray(10 + headerLen);
  return Array.from({ length: data.length / 8 }, (_, k) => data.readDoubleLE(8 * k));
}

await test('the data cell analyses a user\'s .npy as tanglelab analyze does and refuses bad files clearly', async () => {
  const page = await openPage(base);
  const dir = fs.mkdtempSync(path.join(artifacts, 'data-'));
  const [C, T, D] = [2, 60, 6];
  const values = [];
  for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) {
    const phase = 2 * Math.PI * t / T + 0.4 * c;
    values.push(d % 2 === 0 ? Math.cos(phase * (1 + (d >> 1))) : Math.sin(phase * (1 + (d >> 1))) * (1 + 0.1 * d));
  }
  const file = path.join(dir, 'rotation.npy');
  fs.writeFileSync(file, npyBytes([C, T, D], values));
  await page.locator('#data-dt').fill('0.01');
  await page.locator('#data-dt').dispatchEvent('change');
  await page.check('#data-cyclic');
  await page.setInputFiles('#data-file', file);
  await page.waitForFunction(() => /2 conditions × 60 samples × 6 dimensions/.test(document.querySelector('#data-summary').textContent), null, { timeout: 30_000 });
  assert.match(await page.textContent('#data-summary'), /jPCA R² rotational/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#data-export')]);
  const tab = JSON.parse(fs.readFileSync(await download.path()));
  const qFile = path.join(dir, 'q.npy');
  execFileSync(nativeCli(), ['analyze', 'tangling', '--input', file, '--dt', '0.01', '--cyclic', '--out', qFile], { stdio: 'ignore' });
  assert.deepEqual(tab.analysis.q.flat(), npyValues(fs.readFileSync(qFile)), 'Q in the tab differs from tanglelab analyze tangling');
  // Bad files: the reader's message, and the last good result stays.
  const bad = [
    ['nan.npy', npyBytes([T, D], values.slice(0, T * D).map((v, k) => (k === 7 ? NaN : v))), /non-finite/],
    ['lying.npy', npyBytes([1000000000, 3], [1, 2, 3]), /truncated or its header is wrong/],
    ['text.npy', Buffer.from('not an array'), /not a readable NPY/],
  ];
  for (const [name, bytes, message] of bad) {
    fs.writeFileSync(path.join(dir, name), bytes);
    await page.setInputFiles('#data-file', path.join(dir, name));
    await page.waitForFunction((n) => document.querySelector('#cell-data .error')?.textContent.startsWith(n), name, { timeout: 10_000 });
    assert.match(await page.textContent('#cell-data .error'), message);
    assert.match(await page.textContent('#data-summary'), /rotation\.npy: 2 conditions/);
  }
  // The same recording as a CSV table (a condition column, numbers as JavaScript prints them,
  // which round-trip): the tab's Q equals the NPY's and the CLI's on the CSV; a ragged table is
  // refused with its line.
  const rows = ['condition,' + Array.from({ length: D }, (_, d) => `d${d}`).join(',')];
  for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) {
    rows.push([`c${c}`, ...values.slice((c * T + t) * D, (c * T + t + 1) * D)].join(','));
  }
  const csvFile = path.join(dir, 'rotation.csv');
  fs.writeFileSync(csvFile, rows.join('\r\n') + '\r\n');
  await page.setInputFiles('#data-file', csvFile);
  await page.waitForFunction(() => /rotation\.csv: 2 conditions × 60 samples × 6 dimensions/.test(document.querySelector('#data-summary').textContent), null, { timeout: 30_000 });
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#data-export')]);
  const fromCsv = JSON.parse(fs.readFileSync(await csvDownload.path()));
  assert.deepEqual(fromCsv.analysis, tab.analysis, 'the CSV of the same numbers gave other results');
  // The figures' numbers: a row per condition and sample (condition, t, Q, PC1–3), in numpy too.
  const [figNpy] = await Promise.all([page.waitForEvent('download'), page.click('#data-figures-npy')]);
  const figure = JSON.parse(execFileSync('python3', ['-c', 'import numpy, json, sys; a = numpy.load(sys.argv[1]); print(json.dumps([list(a.shape), a[:, 2].tolist(), a[:, 1].tolist()]))', await figNpy.path()]));
  assert.deepEqual(figure[0], [C * T, 6]);
  assert.deepEqual(figure[1], tab.analysis.q.flat(), 'the figure data\'s Q is the analysis\'s');
  assert.equal(figure[2][T - 1], (T - 1) * 0.01);
  const [figHeader] = pythonCsv(await downloadedText(page, '#data-figures-csv'));
  assert.deepEqual(figHeader, ['condition', 't_secs', 'q', 'pc1', 'pc2', 'pc3']);
  const qCsvFile = path.join(dir, 'q-csv.npy');
  execFileSync(nativeCli(), ['analyze', 'tangling', '--input', csvFile, '--dt', '0.01', '--cyclic', '--out', qCsvFile], { stdio: 'ignore' });
  assert.deepEqual(npyValues(fs.readFileSync(qCsvFile)), npyValues(fs.readFileSync(qFile)), 'tanglelab analyze reads the CSV as the NPY');
  fs.writeFileSync(path.join(dir, 'ragged.csv'), '1,2,3\n4,5\n');
  await page.setInputFiles('#data-file', path.join(dir, 'ragged.csv'));
  await page.waitForFunction(() => document.querySelector('#cell-data .error')?.textContent.startsWith('ragged.csv'), null, { timeout: 10_000 });
  assert.match(await page.textContent('#cell-data .error'), /line 2 has 2 fields; the first row has 3/);
  assert.match(await page.textContent('#data-summary'), /rotation\.csv: 2 conditions/);
  await page.locator('#cell-data').screenshot({ path: path.join(artifacts, 'data-cell.png') });
  fs.rmSync(dir, { recursive: true });
  assertNoErrors(page);
  await page.close();
});


await test('on a phone-sized screen (390 px) nothing is wider than the page', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(base);
  await page.waitForFunction(() => document.querySelector('#walker-status')?.dataset.state === 'ready'
      && document.querySelector('#quadruped-status')?.dataset.state === 'ready', null, { timeout: 60_000 });
  const wide = await page.evaluate(() => {
    const limit = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > limit + 1 && !el.closest('table'))
      .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
  });
  assert.deepEqual(wide, [], `elements wider than the 390 px screen: ${wide.join('; ')}`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1), 'the page scrolls sideways');
  await page.screenshot({ path: path.join(artifacts, 'phone.png') });
  assertNoErrors(page);
  await page.close();
});

await test('the built page works from a sub-path of a static host (relative asset and model URLs)', async () => {
  const sub = await serve(0, '/lab/tanglelab/');
  try {
    const url = `http://127.0.0.1:${sub.address().port}/lab/tanglelab/`;
    const page = await openPage(url);
    await page.waitForFunction(() => Number.isFinite(parseFloat(document.querySelector('#q-max')?.textContent)), null, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('#walker-status')?.dataset.state === 'ready', null, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('#quadruped-status')?.dataset.state === 'ready', null, { timeout: 60_000 });
    // Nothing is fetched from the host's root.
    const rootless = await fetch(`http://127.0.0.1:${sub.address().port}/index.html`);
    assert.equal(rootless.status, 404);
    assertNoErrors(page);
    await page.close();
  } finally {
    sub.close();
  }
});

await browser.close();

// Without --enable-unsafe-webgpu this Chromium has no WebGPU adapter: the 3D views are drawn by the
// software renderer (plot::raster) on a 2D canvas.
browser = await launch([]);
await test('without WebGPU the 3D figure is drawn in software, turns with the mouse and exports', async () => {
  const page = await openPage(base);
  const status = await page.textContent('.plot3d-status');
  assert.match(status, /software renderer/, `graphics status: ${status}`);
  const canvas = page.locator('#lissajous-3d');
  const before = await canvas.screenshot();
  const shown = pixelStats(before);
  assert.ok(shown.differingFraction > 0.005 && shown.colours > 20, `on-screen view: ${JSON.stringify(shown)}`);
  // A drag orbits the camera and the picture follows.
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 20, { steps: 4 });
  await page.mouse.up();
  const after = await canvas.screenshot();
  assert.ok(!before.equals(after), 'the view changed after a drag');
  const stats = pixelStats(await exportFigure(page, 'lissajous-3d-software.png'));
  assert.ok(stats.differingFraction > 0.005 && stats.colours > 20, `software figure: ${JSON.stringify(stats)}`);
  assertNoErrors(page);
  await page.close();
});
await test('without WebGPU the policy cell says the GPU is unavailable and runs on the CPU', async () => {
  const page = await openPage(base);
  await setPolicy(page, { agents: 16, steps: 50, net: 'small' });
  const r = await runPolicy(page);
  assert.match(r.status, /GPU unavailable/, `GPU status: ${r.status}`);
  assert.match(r.summary, /ran 50 of 50 steps × 16 agents/);
  assert.ok(r.cpu > 0, `cpu throughput ${r.cpu}`);
  assert.equal(r.gpuText, 'not run');
  assert.equal(r.diffText, '—');
  assert.match(r.notes, /GPU unavailable .*ran on the CPU only/);
  assertNoErrors(page);
  await page.close();
});
await browser.close();

// With no GPU API at all (no WebGPU, no WebGL) the 3D views are still drawn, in software, and the
// numbers and the 2D plot work as before.
browser = await launch(['--disable-3d-apis', '--disable-webgl']);
await test('without any GPU API the 3D views are drawn in software and the numbers and 2D plot work', async () => {
  const page = await openPage(base);
  const status = await page.textContent('.plot3d-status');
  assert.match(status, /software renderer/, `graphics status: ${status}`);
  const shown = pixelStats(await page.locator('#lissajous-3d').screenshot());
  assert.ok(shown.differingFraction > 0.005 && shown.colours > 20, `on-screen view: ${JSON.stringify(shown)}`);
  assert.ok(Number.isFinite(await qMax(page)));
  assert.match(await page.innerHTML('#q-plot'), /<path d="M/);
  await page.locator('#beta').fill('1');
  await page.waitForFunction(() => document.querySelector('#beta-value').textContent === '1.00');
  await page.screenshot({ path: path.join(artifacts, 'no-gpu.png') });
  assertNoErrors(page);
  await page.close();
});
await browser.close();
server.close();
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed; screenshots in ${artifacts}`);
process.exit(failed.length ? 1 : 0);
