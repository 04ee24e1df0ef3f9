// The wasm half of `tanglelab bench study --wasm` (a benchmark, not a test): serves ../../dist on
// 127.0.0.1, opens the page in headless Chromium with no GPU API, and runs the study of the
// protocol in PROTOCOL_JSON (a file) on the page's Web Workers (`wasmBindings.studyBench`,
// src/web/study_workers.rs: the study cell's code path) with the shipped Walker2D policy, once
// per worker count; prints one JSON line per run {"workers", "secs", "checksum"}.
// Usage: node bench_wasm_study.mjs PROTOCOL_JSON [workers=1,2]   (after `trunk build --release --offline`)
import fs from 'node:fs';
import { openBenchPage } from './browser.mjs';

const [protocolFile, workerList = '1,2'] = process.argv.slice(2);
const workerCounts = workerList.split(',').map(Number);
if (!protocolFile || !workerCounts.every((n) => Number.isInteger(n) && n > 0 && n <= 8)) {
  console.error('usage: node bench_wasm_study.mjs PROTOCOL_JSON [workers=1,2]');
  process.exit(2);
}
const protocol = fs.readFileSync(protocolFile, 'utf8');
const { server, browser, page, errors } = await openBenchPage('studyBench');
try {
  for (const workers of workerCounts) {
    const result = await page.evaluate(async ([protocol, workers]) => {
      const weights = new Uint8Array(await (await fetch('models/walker2d-lstm.safetensors')).arrayBuffer());
      return JSON.parse(await window.wasmBindings.studyBench(protocol, weights, workers));
    }, [protocol, workers]);
    if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
    console.log(JSON.stringify(result));
  }
} finally {
  await browser.close();
  server.close();
}
