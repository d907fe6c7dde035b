// No frame leaves the viewer's device (issue 7): over 20 s of analysis of the
// zoom video in headless Chromium, every request the page and its worker make
// and every WebSocket frame the page sends is logged through the DevTools
// protocol. The requests only fetch the page, its code and the weights; each
// frame is a viewer message that passes the schema and fits in 640 bytes;
// the upstream bytes per minute are far below one camera frame.
import assert from "node:assert/strict";
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";

import { launchWithCamera } from "./lib/camera.mjs";
import { OUTPUT_DIR } from "./lib/page.mjs";
import { startServer } from "./lib/server.mjs";
import { accept, openViewer, sentFrames, waitForResults } from "./lib/viewer.mjs";
import { checkViewerMessage, MAX_MESSAGE_BYTES } from "./lib/wire.mjs";

/** How long the analysis is watched. */
const WATCH_MS = 20_000;
/** One 640×480 RGBA frame. */
const FRAME_BYTES = 640 * 480 * 4;
/** The most a minute of upstream traffic may weigh, as a share of one frame. */
const MAX_SHARE_OF_FRAME_PER_MINUTE = 0.1;
/** The only paths a viewer's page may request (all GET, no body): the page, its code, the wasm build, weights. */
const ALLOWED_PATHS = [
  /^\/$/,
  /^\/assets\/[\w.-]+$/,
  /^\/web\/[\w./-]+$/,
  /^\/models\/[\w.-]+$/,
  /^\/webinar$/,
  /^\/favicon\.ico$/,
];

let browser;
let server;

before(async () => {
  const started = await Promise.allSettled([launchWithCamera("zoom_640x480"), startServer()]);
  [browser, server] = started.map((result) => result.value);
  const failed = started.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
});

after(async () => {
  await browser?.close();
  assert.equal(await server?.stop(), 0, `server exit code; log:\n${server?.log()}`);
});

test("no frame leaves: only GETs of code and weights, and small schema-valid messages", async () => {
  const { page, context, errors, traffic } = await openViewer(browser, server);
  await accept(page);
  await waitForResults(page, 1);
  const watchStart = Date.now();
  await page.waitForTimeout(WATCH_MS);
  const watchEnd = Date.now();
  const { results } = await page.evaluate(() => window.parterreViewer);
  await context.close();

  // Requests: the page's and the worker's (the worker fetches the weights: seeing them proves the log covers it).
  const origin = new URL(server.origin);
  for (const { method, url, postData } of traffic.requests) {
    const parsed = new URL(url);
    if (parsed.protocol === "data:" || parsed.protocol === "blob:") continue;
    assert.equal(parsed.host, origin.host, `a request to another host: ${url}`);
    assert.equal(method, "GET", `${method} ${url}`);
    assert.equal(postData, null, `${url} carries a body`);
    assert.ok(
      ALLOWED_PATHS.some((allowed) => allowed.test(parsed.pathname)),
      `an unexpected request: GET ${parsed.pathname}`,
    );
  }
  const paths = traffic.requests.map(({ url }) => new URL(url).pathname);
  assert.ok(
    paths.some((p) => p.startsWith("/models/")),
    `the worker's weight requests are logged: ${paths.join(" ")}`,
  );
  assert.ok(
    paths.some((p) => p.startsWith("/web/")),
    `the wasm build's requests are logged: ${paths.join(" ")}`,
  );

  // WebSocket: one, to the viewer endpoint, carrying only valid viewer messages.
  assert.deepEqual(
    traffic.sockets.map(({ url }) => new URL(url).pathname),
    ["/ws/viewer"],
    "the page's WebSockets",
  );
  const frames = sentFrames(traffic);
  const counts = { traits: 0, permanence: 0 };
  let largest = 0;
  for (const [i, { payload }] of frames.entries()) {
    let message;
    try {
      message = checkViewerMessage(payload);
    } catch (error) {
      assert.fail(`WebSocket frame ${i} breaks the viewer schema (${error.message}): ${String(payload).slice(0, 200)}`);
    }
    counts[message.type] += 1;
    largest = Math.max(largest, Buffer.byteLength(payload));
  }
  assert.ok(
    counts.traits >= WATCH_MS / 1_000,
    `${counts.traits} traits messages in ${WATCH_MS} ms (about 2 a second expected)`,
  );
  assert.ok(
    counts.permanence >= 1,
    `${counts.permanence} permanence reports in ${WATCH_MS} ms (one every 10 s expected)`,
  );
  assert.ok(largest <= MAX_MESSAGE_BYTES, `largest frame ${largest} bytes`);

  // Upstream: WebSocket payloads and request URLs (the only parts a page chooses) inside the watched window.
  const inWindow = ({ at_ms }) => at_ms >= watchStart && at_ms <= watchEnd;
  const frameBytes = frames.filter(inWindow).reduce((sum, { payload }) => sum + Buffer.byteLength(payload), 0);
  const urlBytes = traffic.requests.filter(inWindow).reduce((sum, { url }) => sum + Buffer.byteLength(url), 0);
  const perMinute = ((frameBytes + urlBytes) * 60_000) / (watchEnd - watchStart);
  // What a viewer downloads to analyze (for the README): the wasm build and the weights, as transferred.
  const downloads = await Promise.all(traffic.downloads);
  const downloaded = (prefix) =>
    downloads.filter(({ url }) => new URL(url).pathname.startsWith(prefix)).reduce((sum, { bytes }) => sum + bytes, 0);
  const figures = {
    transferred_body_bytes: { web: downloaded("/web/"), models: downloaded("/models/") },
    watched_ms: watchEnd - watchStart,
    results,
    messages: counts,
    largest_message_bytes: largest,
    upstream_bytes_per_minute: Math.round(perMinute),
    share_of_one_frame: perMinute / FRAME_BYTES,
  };
  console.log(`upstream traffic: ${JSON.stringify(figures)}`);
  await mkdir(OUTPUT_DIR, { recursive: true });
  await writeFile(path.join(OUTPUT_DIR, "traffic.json"), `${JSON.stringify(figures, null, 2)}\n`);
  assert.ok(
    perMinute < MAX_SHARE_OF_FRAME_PER_MINUTE * FRAME_BYTES,
    `${Math.round(perMinute)} upstream bytes per minute, not below ${MAX_SHARE_OF_FRAME_PER_MINUTE * 100} % of one frame (${FRAME_BYTES} bytes)`,
  );
  assert.deepEqual(errors, []);
});
