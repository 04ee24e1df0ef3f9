// The wasm half of `tanglelab bench policy --wasm` (a benchmark, not a test): serves ../../dist on
// 127.0.0.1, opens the page in headless Chromium with no GPU API, and times the CPU policy step
// that the page exports as `wasmBindings.PolicyBenchScenario` (src/web/bench_exports.rs: the
// native benchmark's network and weights) with performance.now(), one thread.
//
// Driven line by line so the caller can interleave native and wasm runs on a busy machine:
// prints {"ready": true, "browser", "checksum"} once loaded (checksum: the policy's outputs over
// `check_agents` × `check_steps` of the seeded stream, which the caller compares with the
// native one: the same work, the same bits), then for each line "<seconds>" on stdin one timed
// run {"agent_steps_per_sec"} of `agents` agents; exits at EOF.
// Usage: node bench_wasm_policy.mjs [agents=64] [check_agents=8] [check_steps=20]
// By hand: echo 2 | node tests/e2e/bench_wasm_policy.mjs 64
import readline from 'node:readline';
import { openBenchPage } from './browser.mjs';

const [agents, checkAgents, checkSteps] = [2, 3, 4].map((k, i) => Number(process.argv[k] ?? [64, 8, 20][i]));
if (![agents, checkAgents, checkSteps].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('usage: node bench_wasm_policy.mjs [agents > 0] [check_agents > 0] [check_steps > 0]');
  process.exit(2);
}
const { server, browser, page, errors } = await openBenchPage('PolicyBenchScenario');
try {
  const checksum = await page.evaluate(([a, s]) => window.wasmBindings.PolicyBenchScenario.checksum(a, s), [checkAgents, checkSteps]);
  console.log(JSON.stringify({ ready: true, browser: `Chromium ${browser.version().split('.')[0]}`, checksum }));

  for await (const line of readline.createInterface({ input: process.stdin })) {
    const seconds = Number(line);
    if (!(seconds > 0)) throw new Error(`expected seconds > 0 on stdin, got "${line}"`);
    const run = await page.evaluate(([seconds, agents]) => {
      const scenario = new window.wasmBindings.PolicyBenchScenario(agents);
      scenario.run(2); // warm-up
      let steps = 0;
      const start = performance.now();
      for (;;) {
        scenario.run(4);
        steps += 4;
        const elapsedSecs = (performance.now() - start) / 1000;
        if (elapsedSecs >= seconds) {
          scenario.free();
          return { agent_steps_per_sec: (steps * agents) / elapsedSecs };
        }
      }
    }, [seconds, agents]);
    if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
    console.log(JSON.stringify(run));
  }
} finally {
  await browser.close();
  server.close();
}
