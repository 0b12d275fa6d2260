// A static file server for dist/ on 127.0.0.1 with a random port and the right MIME types
// (application/wasm is required for streaming compilation).
import { createServer } from 'node:http';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const repo = join(here, '../..');
/** The built page the tests load: CONVSCOPE_DIST, or the repository's dist/. */
export const dist = process.env.CONVSCOPE_DIST ?? join(repo, 'dist');
/** Where the tests write screenshots and recorded figures. */
export const artifacts = join(here, 'artifacts');

/**
 * Serve `dist` for the calling test file (node:test hooks: started before its tests, closed after) and
 * make the artefacts folder. Returns an object whose `url` is set once the server is up.
 */
export function serveForTests() {
  const served = {};
  before(async () => {
    Object.assign(served, await serveDist(dist));
    await mkdir(artifacts, { recursive: true });
  });
  after(async () => served.close?.());
  return served;
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

/** Serve `root`; resolves to { url, close }. */
export async function serveDist(root) {
  const base = normalize(root + sep);
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      let file = normalize(join(base, path));
      if (!file.startsWith(base)) {
        res.writeHead(403).end();
        return;
      }
      if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) };
}
