// Nothing remains (issue 7): the camera plays the canary video, whose corner
// is an exact, rare pixel pattern; the test learns what RGBA bytes it becomes
// in this browser, lets the viewer page analyze it, then reads the worker's
// WebAssembly memory through the DevTools protocol. Right after each frame is
// analyzed and after stop (once the budget has passed) it holds no canary
// byte, in both capture paths (MediaStreamTrackProcessor and the canvas
// fallback), and after the page is hidden; the negative control, a build with
// frame wiping switched off, finds the canary, so the search can see it. The
// wasm memory never changes size.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launchWithCamera } from "./lib/camera.mjs";
import {
  canaryNeedles,
  grabCanaryBlock,
  grabCanaryBlockViaCanvas,
  installCanaryScanner,
  mergeNeedles,
  scanAfterAnalyses,
  scanWorker,
} from "./lib/canary.mjs";
import { startServer } from "./lib/server.mjs";
import {
  accept,
  analysisWorker,
  negativeControlArgs,
  openViewer,
  stop,
  viewerState,
  waitForResults,
  waitForState,
  webinarOf,
} from "./lib/viewer.mjs";

/** How long the page analyzes the canary before it is stopped. */
const ANALYZE_MS = 3_000;
/** Scans right after an analysis, while running. */
const SCANS_WHILE_RUNNING = 2;
/** How long the worker may take to analyze the frames scanned after. */
const SCAN_TIMEOUT_MS = 15_000;
/** Waited past the budget after stop, for a late wipe. */
const AFTER_BUDGET_MS = 200;

let browser;
let wiping;
let notWiping;
let needles;

before(async () => {
  const started = await Promise.allSettled([
    launchWithCamera("canary_640x480"),
    startServer(),
    startServer({ args: negativeControlArgs() }),
  ]);
  [browser, wiping, notWiping] = started.map((result) => result.value);
  const failed = started.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  // The signature, from the same fake camera in a plain page of the same origin.
  const page = await browser.newPage();
  await page.goto(`${wiping.origin}/webinar`);
  // Each path the worker may take: copyTo in the default and the sRGB colour space, and the canvas fallback.
  const blocks = [
    await grabCanaryBlock(page),
    await grabCanaryBlock(page, "srgb"),
    await grabCanaryBlockViaCanvas(page),
  ];
  needles = mergeNeedles(...blocks.map(canaryNeedles));
  await page.close();
});

after(async () => {
  await browser?.close();
  const codes = await Promise.all([wiping?.stop(), notWiping?.stop()]);
  assert.deepEqual(codes, [0, 0], `server exit codes; log:\n${wiping?.log()}`);
});

/** Ends analysis as a viewer does: the stop button. */
async function clickStop(page) {
  await stop(page);
}

/** Ends analysis as a hidden tab does: the page becomes hidden (as when the viewer switches tabs). */
async function hidePage(page) {
  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await waitForState(page, "stopped");
}

/**
 * Runs the viewer page of `server` on the canary with `query`, scanning the worker's memory right after
 * analyses and, once `end(page)` stopped it, after the budget. Resolves to
 * `{ running, stopped, memorySizes, results, observed }`.
 */
async function analyzeCanary(server, { query = "", end = clickStop } = {}) {
  const { budget_ms } = await webinarOf(server);
  const { page, context, errors } = await openViewer(browser, server, { query, holdWorkers: true });
  try {
    await accept(page);
    const worker = await analysisWorker(page);
    await installCanaryScanner(worker);
    const memorySizes = new Set();
    const sampleMemory = async () => {
      const [buffer, reported] = await worker.evaluate(() => [
        self.parterre.memory.buffer.byteLength,
        self.parterre.analyzer.memoryBytes(),
      ]);
      memorySizes.add(buffer).add(reported);
    };
    await waitForResults(page, 1);
    const started = Date.now();
    await sampleMemory();
    await scanAfterAnalyses(worker, needles, SCANS_WHILE_RUNNING);
    const scanned = await worker.evaluate(
      ([n, timeout]) =>
        new Promise((resolve) => {
          const since = Date.now();
          const poll = setInterval(() => {
            const done = self.parterreAfterAnalyze.length >= n;
            if (done || Date.now() - since > timeout) {
              clearInterval(poll);
              resolve(done);
            }
          }, 50);
        }),
      [SCANS_WHILE_RUNNING, SCAN_TIMEOUT_MS],
    );
    assert.ok(
      scanned,
      `no analyze() call within ${SCAN_TIMEOUT_MS} ms after the hook (the worker must call self.parterre.analyzer.analyze())`,
    );
    const running = await worker.evaluate(() => self.parterreAfterAnalyze);
    while (Date.now() - started < ANALYZE_MS) {
      await sampleMemory();
      await page.waitForTimeout(250);
    }
    await end(page);
    await page.waitForTimeout(budget_ms + AFTER_BUDGET_MS);
    await sampleMemory();
    const stopped = await scanWorker(worker, needles);
    const { results, observed } = await viewerState(page);
    for (const { memory_bytes } of observed.results) memorySizes.add(memory_bytes);
    assert.deepEqual(errors, []);
    return { running, stopped, memorySizes: [...memorySizes], results, observed };
  } finally {
    await context.close();
  }
}

/** Asserts a run's scans are clean, its memory never grew, and the worker wiped on stop. */
function assertClean(run, what) {
  assert.ok(run.results > 0, `${what}: no frame was analyzed`);
  assert.deepEqual(
    run.running.map(({ hits }) => hits),
    Array(SCANS_WHILE_RUNNING).fill(0),
    `${what}: canary bytes right after analyze()`,
  );
  assert.deepEqual(
    { rgba: run.stopped.rgba, grey: run.stopped.grey },
    { rgba: { hits: 0, offsets: [] }, grey: { hits: 0, offsets: [] } },
    `${what}: canary bytes after stop and the budget`,
  );
  assert.equal(run.memorySizes.length, 1, `${what}: the wasm memory changed size: ${run.memorySizes.join(", ")} bytes`);
  assert.ok(
    run.observed.messages.stopped >= 1,
    `${what}: the worker never reported "stopped" (it wipes before): ${JSON.stringify(run.observed.messages)}`,
  );
}

/** Asserts the negative control found the canary both while running and after stop. */
function assertFound(run, what) {
  assert.ok(run.results > 0, `${what}: no frame was analyzed`);
  assert.ok(
    run.running.every(({ hits }) => hits > 0),
    `${what}: the canary is not found right after analyze() without wiping: ${JSON.stringify(run.running)}`,
  );
  assert.ok(
    run.stopped.rgba.hits > 0,
    `${what}: the canary is not found after stop without wiping: the search cannot see it`,
  );
}

test("no canary byte remains in the worker's memory (track capture), and the unwiped control finds it", async () => {
  assert.ok(needles.distinct >= 8, `the canary signature has ${needles.distinct} distinct bytes`);
  const wiped = await analyzeCanary(wiping);
  console.log(
    `track capture: ${JSON.stringify({ running: wiped.running, stopped: wiped.stopped, memory: wiped.memorySizes, results: wiped.results })}`,
  );
  assertClean(wiped, "track capture");
  const unwiped = await analyzeCanary(notWiping);
  console.log(
    `negative control: ${JSON.stringify({ running: unwiped.running, stopped: unwiped.stopped, results: unwiped.results })}`,
  );
  assertFound(unwiped, "negative control (track capture)");
});

test("the canvas fallback analyzes too and leaves no canary byte; its unwiped control finds it", async () => {
  const wiped = await analyzeCanary(wiping, { query: "?capture=canvas" });
  console.log(
    `canvas capture: ${JSON.stringify({ running: wiped.running, stopped: wiped.stopped, results: wiped.results })}`,
  );
  assertClean(wiped, "canvas capture");
  const unwiped = await analyzeCanary(notWiping, { query: "?capture=canvas" });
  assertFound(unwiped, "negative control (canvas capture)");
});

test("hiding the page stops the analysis and leaves no canary byte", async () => {
  const hidden = await analyzeCanary(wiping, { end: hidePage });
  console.log(`page hidden: ${JSON.stringify({ stopped: hidden.stopped, results: hidden.results })}`);
  assertClean(hidden, "page hidden");
});
