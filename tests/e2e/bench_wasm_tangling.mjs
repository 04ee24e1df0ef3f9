// The wasm half of `tanglelab bench analysis --wasm` (a benchmark, not a test): serves ../../dist
// on 127.0.0.1, opens the page in headless Chromium with no GPU API, and times the tangling
// scenario that the page exports as `wasmBindings.TanglingBenchScenario`
// (src/web/bench_exports.rs: the same Rust code and data the native benchmark times) with
// performance.now(), `repeats` times in a row after one untimed warm-up run.
// Prints one line {"browser", "times_ms": [...], "checksum"} (checksum: of Q's bits, to compare
// with the native result).
// Usage: node bench_wasm_tangling.mjs [repeats=5]   (after `trunk build --release --offline`)
import fs from 'node:fs';
import path from 'node:path';
import { dist, serve, launch } from './browser.mjs';

const repeats = Number(process.argv[2] ?? 5);
if (!(Number.isInteger(repeats) && repeats >= 1)) {
  console.error('usage: node bench_wasm_tangling.mjs [repeats ≥ 1]');
  process.exit(2);
}
if (!fs.existsSync(path.join(dist, 'index.html'))) {
  console.error(`no page in ${dist}: run \`trunk build --release --offline\` first`);
  process.exit(1);
}

const server = await serve();
const browser = await launch(['--disable-3d-apis', '--disable-webgl']);
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  // The page's own start-up work (the first cell's analysis) is done once its result is shown.
  await page.waitForSelector('#q-max', { timeout: 60_000 });
  await page.waitForFunction(() => window.wasmBindings !== undefined, null, { timeout: 60_000 });
  const exported = await page.evaluate(() => typeof window.wasmBindings.TanglingBenchScenario === 'function');
  if (!exported) {
    throw new Error('the page in dist/ does not export TanglingBenchScenario: rebuild it with `trunk build --release --offline`');
  }
  const run = await page.evaluate((repeats) => {
    const scenario = new window.wasmBindings.TanglingBenchScenario();
    let checksum = scenario.run();
    const times = [];
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      checksum = scenario.run();
      times.push(performance.now() - start);
    }
    scenario.free();
    return { times_ms: times, checksum };
  }, repeats);
  if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({ browser: `Chromium ${browser.version().split('.')[0]}`, ...run }));
} finally {
  await browser.close();
  server.close();
}
