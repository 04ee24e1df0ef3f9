// Shared by the browser tests (run.mjs) and the wasm benchmark (bench_wasm.mjs): a static server
// for the built page on 127.0.0.1 and Debian's headless Chromium, launched so that it calls nowhere.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page that `trunk build --release --offline` writes. */
export const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist');

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

/** Serves `dist` on 127.0.0.1 on a free port; resolves to the http.Server. */
export function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = path.join(dist, decodeURIComponent(url.pathname));
    if (!file.startsWith(dist)) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const QUIET = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic'];

/** Headless Chromium ($CHROMIUM or /usr/bin/chromium) with `extraArgs` after the quiet flags. */
export const launch = (extraArgs) => chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [...QUIET, ...extraArgs],
});
