// The wasm half of `tanglelab bench analysis --wasm` (a benchmark, not a test): serves ../../dist
// on 127.0.0.1, opens the page in headless Chromium with no GPU API, and times the tangling
// scenario that the page exports as `wasmBindings.TanglingBenchScenario`
// (src/web/bench_exports.rs: the same Rust code and data the native benchmark times) with
// performance.now(), `repeats` times in a row after one untimed warm-up run.
// Prints one line {"browser", "times_ms": [...], "checksum"} (checksum: of Q's bits, to compare
// with the native result).
// Usage: node bench_wasm_tangling.mjs [repeats=5]   (after `trunk build --release --offline`)
import { openBenchPage } from './browser.mjs';

const repeats = Number(process.argv[2] ?? 5);
if (!(Number.isInteger(repeats) && repeats >= 1)) {
  console.error('usage: node bench_wasm_tangling.mjs [repeats ≥ 1]');
  process.exit(2);
}
const { server, browser, page, errors } = await openBenchPage('TanglingBenchScenario');
try {
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
