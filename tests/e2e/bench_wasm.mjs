// The wasm half of `tanglelab bench sim --wasm` (a benchmark, not a test): serves ../../dist on
// 127.0.0.1, opens the page in headless Chromium with no GPU API (so only the benchmark runs),
// and times the simulator scenario that the page exports as `wasmBindings.SimBenchScenario`
// (src/web/bench_exports.rs; the same Rust code the native benchmark times) with
// performance.now(): a fresh agent at rest, rounds of 250 control steps until the time is up.
//
// Driven line by line so the caller can interleave native and wasm runs on a busy machine:
// prints {"ready": true, "browser", "check_resets"} once loaded (check_resets: falls in
// `check_steps` control steps from rest, so the caller can see that wasm did the same work), then
// for each line "<seconds>" on stdin one timed run {"steps_per_sec", "resets"}; exits at EOF.
// Usage: node bench_wasm.mjs [check_steps=10000] [robot=walker2d|quadruped]   (after `trunk build --release --offline`)
// By hand: echo 1 | node tests/e2e/bench_wasm.mjs 10000 quadruped
import readline from 'node:readline';
import { openBenchPage } from './browser.mjs';

const checkSteps = Number(process.argv[2] ?? 10000);
const robot = process.argv[3] ?? 'walker2d';
if (!(Number.isInteger(checkSteps) && checkSteps >= 0) || !['walker2d', 'quadruped'].includes(robot)) {
  console.error('usage: node bench_wasm.mjs [check_steps ≥ 0] [walker2d|quadruped]');
  process.exit(2);
}
const { server, browser, page, errors } = await openBenchPage('SimBenchScenario');
try {
  const checkResets = await page.evaluate(([n, robot]) => {
    const scenario = new window.wasmBindings.SimBenchScenario(robot);
    const { resets } = scenario.run(n);
    scenario.free();
    return resets;
  }, [checkSteps, robot]);
  console.log(JSON.stringify({ ready: true, browser: `Chromium ${browser.version().split('.')[0]}`, check_resets: checkResets }));

  for await (const line of readline.createInterface({ input: process.stdin })) {
    const seconds = Number(line);
    if (!(seconds > 0)) throw new Error(`expected seconds > 0 on stdin, got "${line}"`);
    const run = await page.evaluate(([seconds, robot]) => {
      const scenario = new window.wasmBindings.SimBenchScenario(robot);
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
    }, [seconds, robot]);
    if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
    console.log(JSON.stringify(run));
  }
} finally {
  await browser.close();
  server.close();
}
