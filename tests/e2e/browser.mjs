// Shared by the browser tests (run.mjs) and the wasm benchmarks (bench_wasm*.mjs): the static server
// for the built page on 127.0.0.1 (scripts/serve_dist.mjs, also `make serve`'s) and Debian's headless
// Chromium, launched so that it calls nowhere.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { dist, serve } from '../../scripts/serve_dist.mjs';

export { dist, serve };

const QUIET = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic'];

/** Headless Chromium ($CHROMIUM or /usr/bin/chromium) with `extraArgs` after the quiet flags. */
export const launch = (extraArgs) => chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [...QUIET, ...extraArgs],
});

/**
 * For the wasm benchmarks: exits with a message if the page is not built, then serves it, opens
 * it in Chromium with no GPU API (only the benchmark runs) and waits until the page's start-up
 * work is done and `window.wasmBindings[exportName]` exists. Resolves to
 * { server, browser, page, errors } (errors: uncaught page errors, collected as they come);
 * the caller closes the browser and the server.
 */
export async function openBenchPage(exportName) {
  if (!fs.existsSync(path.join(dist, 'index.html'))) {
    console.error(`no page in ${dist}: run \`trunk build --release --offline\` first`);
    process.exit(1);
  }
  const server = await serve();
  const browser = await launch(['--disable-3d-apis', '--disable-webgl']);
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  // The page's own start-up work (the first cell's analysis) is done once its result is shown.
  await page.waitForSelector('#q-max', { timeout: 60_000 });
  await page.waitForFunction(() => window.wasmBindings !== undefined, null, { timeout: 60_000 });
  const exported = await page.evaluate((name) => typeof window.wasmBindings[name] === 'function', exportName);
  if (!exported) {
    await browser.close();
    server.close();
    throw new Error(`the page in dist/ does not export ${exportName}: rebuild it with \`trunk build --release --offline\``);
  }
  return { server, browser, page, errors };
}
