// A static server for the built page (`dist/`, written by `trunk build --release --offline`) on
// 127.0.0.1, with no file watcher: `make serve` runs it (`node scripts/serve_dist.mjs 8080`), and
// the browser tests and wasm benchmarks import `serve` from here (tests/e2e/browser.mjs). Trunk's
// own `trunk serve` watches files and its watcher can panic on a fresh clone (notify-debouncer
// "index out of bounds", seen on cold builds here), so the main job does not use it; `make dev`
// does, for rebuild-on-change while developing. No npm packages: Node's standard library only.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page that `trunk build --release --offline` writes. */
export const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

/** Serves `dist` on 127.0.0.1 on `port` (0: a free one) under the URL path `prefix` (e.g.
 * '/lab/tanglelab/', as a static host serves a project page; anything outside it is 404);
 * resolves to the http.Server. */
export function serve(port = 0, prefix = '/') {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const pathname = decodeURIComponent(url.pathname);
    if (!pathname.startsWith(prefix)) { res.writeHead(404).end('not found'); return; }
    let file = path.join(dist, pathname.slice(prefix.length - 1));
    if (!file.startsWith(dist)) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  // An optional sub-path, e.g. /lab/tanglelab/, to try the page as a static host would serve it.
  const prefix = `/${(process.argv[3] ?? '').replace(/^\/+|\/+$/g, '')}/`.replace('//', '/');
  if (!fs.existsSync(path.join(dist, 'index.html'))) {
    console.error(`${dist}/index.html is missing: build the page first (trunk build --release --offline)`);
    process.exit(1);
  }
  serve(port, prefix).then(
    (server) => console.log(`serving ${dist} on http://127.0.0.1:${server.address().port}${prefix} (Ctrl-C stops)`),
    (e) => { console.error(`cannot serve on 127.0.0.1:${port}: ${e.message}`); process.exit(1); },
  );
}
