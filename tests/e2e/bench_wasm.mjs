// The wasm half of `tanglelab bench sim --wasm` (a benchmark, not a test): serves ../../dist on
// 127.0.0.1, opens the page in headless Chromium with no GPU API (so only the benchmark runs),
// and times the simulator scenario that the page exports as `wasmBindings.SimBenchScenario`
// (src/web/bench_exports.rs; the same Rust code the native benchmark times) with
// performance.now(): rounds of 250 control steps until `seconds` have passed, best of `repeats`.
// Prints one JSON line: {"steps_per_sec", "resets", "runs", "browser"}.
// Usage: node bench_wasm.mjs [seconds=1] [repeats=3]   (after `trunk build --release --offline`)
import fs from 'node:fs';
import path from 'node:path';
import { dist, serve, launch } from './browser.mjs';

const seconds = Number(process.argv[2] ?? 1);
const repeats = Number(process.argv[3] ?? 3);
if (!(seconds > 0) || !(Number.isInteger(repeats) && repeats > 0)) {
  console.error('usage: node bench_wasm.mjs [seconds > 0] [repeats ≥ 1]');
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
  const exported = await page.evaluate(() => typeof window.wasmBindings?.SimBenchScenario === 'function');
  if (!exported) {
    throw new Error('the page in dist/ does not export SimBenchScenario: rebuild it with `trunk build --release --offline`');
  }
  const runs = [];
  for (let r = 0; r < repeats; r++) {
    runs.push(await page.evaluate((seconds) => {
      const scenario = new window.wasmBindings.SimBenchScenario();
      let steps = 0;
      let resets = 0;
      const start = performance.now();
      for (;;) {
        const counts = scenario.run(250);
        steps += counts.physics_steps;
        resets += counts.resets;
        const elapsedSecs = (performance.now() - start) / 1000;
        if (elapsedSecs >= seconds) {
          scenario.free();
          return { steps_per_sec: steps / elapsedSecs, resets };
        }
      }
    }, seconds));
  }
  if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
  console.log(JSON.stringify({
    steps_per_sec: Math.max(...runs.map((run) => run.steps_per_sec)),
    resets: runs[runs.length - 1].resets,
    runs,
    browser: `Chromium ${browser.version()}`,
  }));
} finally {
  await browser.close();
  server.close();
}
