// A tiny static file server for pages the tests bring themselves (the
// face-api reference of the speed test, and its frame-by-frame bench): serves mapped folders read-only on
// an ephemeral loopback port, so the browser loads them over http like any
// page, never from file://.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";

/** Content types of the files the tests serve; anything else is refused. */
const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
  ".safetensors": "application/octet-stream",
  ".y4m": "application/octet-stream",
};

/**
 * Serves `mounts` (URL prefix → folder, e.g. `{ "/face-api/": ".../face-api/" }`) on 127.0.0.1.
 * Resolves to `{ origin, requests, close() }`; `requests` lists every path asked for.
 */
export async function startStaticServer(mounts) {
  const requests = [];
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://localhost");
    requests.push(url.pathname);
    const file = resolve(mounts, decodeURIComponent(url.pathname));
    const type = file && CONTENT_TYPES[path.extname(file)];
    if (request.method !== "GET" || !type) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The file `pathname` maps to, or undefined when it lies outside every mount. */
function resolve(mounts, pathname) {
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (!pathname.startsWith(prefix)) continue;
    const root = path.resolve(dir);
    const file = path.resolve(root, `.${pathname.slice(prefix.length - 1)}`);
    if (file.startsWith(root + path.sep)) return file;
  }
  return undefined;
}
