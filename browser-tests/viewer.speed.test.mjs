// Speed (issue 7), two measurements in headless Chromium on the zoom video
// at 640×480:
// - The camera path: the per-frame latency of the whole analysis in the
//   viewer's worker (wasm with SIMD), paced by the governor, side by side
//   with the reference library, @vladmandic/face-api 1.7.15 on tfjs's WASM
//   backend, in the same browser on the same fake camera. Only "ours is at
//   least as fast as the reference" is asserted, both figures coming from the
//   same run. Figures go to $PARTERRE_BROWSER_OUT/speed.json.
// - Frame by frame: every frame of the video through the worker at fixed
//   detector sizes, the same work `parterre bench` times natively; with
//   PARTERRE_NATIVE_BIN set (`cargo xtask bench-web` sets it) the native
//   figures sit beside ours. Figures go to speed-frame-by-frame.json; the
//   target (within 2.5x of native) is checked by `cargo xtask bench-web`, not
//   asserted here: a timed assertion would flake on a shared machine.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";

import { FIXTURES_VIDEO, launchWithCamera } from "./lib/camera.mjs";
import { OUTPUT_DIR } from "./lib/page.mjs";
import { startServer } from "./lib/server.mjs";
import { startStaticServer } from "./lib/static.mjs";
import { accept, openViewer, stop, waitForResults } from "./lib/viewer.mjs";

const VIDEO = "zoom_640x480";
/** Frames timed, on each side. */
const FRAMES = 60;
/** Analyses left out first: compiling, allocating, the governor settling (by 30 it has settled on one size). */
const WARM_UP = 30;
/** Our frames may take long on a slow shared machine at half its CPU. */
const OURS_TIMEOUT_MS = 90_000;
/** The reference's detector input size, as the issue names it. */
const REFERENCE_SIZE_PX = 320;
const REFERENCE_LIBRARY =
  "@vladmandic/face-api 1.7.15 on tfjs-backend-wasm 4.22.0: TinyFaceDetector + 68 landmarks + expression + age/gender";
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULES = path.join(HERE, "node_modules");

let browser;
let server;
let reference;

before(async () => {
  const started = await Promise.allSettled([
    launchWithCamera(VIDEO),
    startServer(),
    startStaticServer({
      "/reference/": path.join(HERE, "reference"),
      "/face-api/": path.join(MODULES, "@vladmandic", "face-api"),
      "/tfjs-wasm/": path.join(MODULES, "@tensorflow", "tfjs-backend-wasm", "dist"),
      // The frame-by-frame bench: its page and worker, our build, the weights and the test videos.
      "/bench/": path.join(HERE, "bench"),
      "/web/": requiredEnv("PARTERRE_WEB_DIR"),
      "/models/": requiredEnv("PARTERRE_MODELS"),
      "/video/": FIXTURES_VIDEO,
    }),
  ]);
  [browser, server, reference] = started.map((result) => result.value);
  const failed = started.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
});

after(async () => {
  await browser?.close();
  await reference?.close();
  assert.equal(await server?.stop(), 0, `server exit code; log:\n${server?.log()}`);
});

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through \`cargo xtask test\``);
  return value;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** How often each value occurs. */
function countBy(values) {
  const counts = {};
  for (const value of values) if (value !== undefined) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** The median time of each stage over `results` (analysis reports with `timing_ms`). */
function stageMedians(results) {
  const stages = {};
  for (const stage of Object.keys(results.at(-1)?.timing_ms ?? {})) {
    stages[stage] = median(results.map((r) => r.timing_ms?.[stage] ?? 0));
  }
  return stages;
}

/**
 * Opens `pathname` of the static server in a fresh context, waits for the page's `global` to exist, and resolves
 * to what `use(page)` resolves to; a page error fails the test.
 */
async function onStaticPage(pathname, global, use) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${reference.origin}${pathname}`);
    await page.waitForFunction((name) => window[name], global, { timeout: 30_000 });
    const result = await use(page);
    assert.deepEqual(errors, []);
    return result;
  } finally {
    await context.close();
  }
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Our worker's analyses: the analyzed (not skipped) results after the warm-up. */
async function measureOurs() {
  const { page, context, errors } = await openViewer(browser, server);
  try {
    await accept(page);
    const deadline = Date.now() + OURS_TIMEOUT_MS;
    let analyzed = [];
    while (analyzed.length < WARM_UP + FRAMES) {
      assert.ok(Date.now() < deadline, `only ${analyzed.length} analyzed frames within ${OURS_TIMEOUT_MS} ms`);
      const results = await waitForResults(page, 1);
      analyzed = results.filter((r) => !r.skipped && typeof r.total_ms === "number");
      await page.waitForTimeout(500);
    }
    await stop(page);
    assert.deepEqual(errors, []);
    const timed = analyzed.slice(WARM_UP, WARM_UP + FRAMES);
    return {
      frames: timed.length,
      median_ms: median(timed.map((r) => r.total_ms)),
      p90_ms: quantile(
        timed.map((r) => r.total_ms),
        0.9,
      ),
      stage_median_ms: stageMedians(timed),
      faces_median: median(timed.map((r) => r.faces)),
      detector_sizes_px: countBy(timed.map((r) => detectorSize(r.settings))),
      // Per detector size, so each comparison can be made at one size.
      median_ms_by_size_px: Object.fromEntries(
        [...new Set(timed.map((r) => detectorSize(r.settings)))].map((size) => [
          size,
          median(timed.filter((r) => detectorSize(r.settings) === size).map((r) => r.total_ms)),
        ]),
      ),
      settings: timed.at(-1).settings,
    };
  } finally {
    await context.close();
  }
}

/** The reference's analyses on the same camera, in the same browser, at each detector input size of `sizes`. */
async function measureReference(sizes) {
  return onStaticPage("/reference/face-api.html", "faceApiReference", async (page) => {
    const runs = {};
    for (const size of sizes) {
      const run = await page.evaluate(
        ([n, inputSize]) => window.faceApiReference.measure(n, inputSize),
        [FRAMES, size],
      );
      assert.equal(run.backend, "wasm", "the reference runs on tfjs's WASM backend");
      runs[size] = {
        frames: run.times_ms.length,
        median_ms: median(run.times_ms),
        p90_ms: quantile(run.times_ms, 0.9),
        faces_median: median(run.faces),
        simd: run.simd,
        threads: run.threads,
        video_px: run.video_px,
      };
    }
    return runs;
  });
}

/**
 * The native figure beside ours, when PARTERRE_NATIVE_BIN names a `parterre` binary: `parterre bench` on the
 * same scene with the detector at `inputSize`, its "whole frame" median at 640x480 (one analysis thread).
 */
async function measureNative(inputSize) {
  const bin = process.env.PARTERRE_NATIVE_BIN;
  if (!bin) return undefined;
  const args = [
    "bench",
    "--videos",
    FIXTURES_VIDEO,
    "--scene",
    "zoom",
    "--seconds",
    "1",
    "--input-size",
    String(inputSize),
  ];
  const { stdout } = await promisify(execFile)(bin, args, { cwd: path.join(HERE, ".."), timeout: 120_000 });
  // The stage-by-stage table's rows: "| stage | 640x480 median | 640x480 p99 | ...".
  const stages = {};
  for (const [, stage, medianMs] of stdout.matchAll(/^\| ([a-z ]+) \| ([\d.]+) \|/gm)) stages[stage] = Number(medianMs);
  const { "whole frame": whole, ...perStage } = stages;
  assert.ok(whole !== undefined, `no "whole frame" row in the output of ${bin} ${args.join(" ")}:\n${stdout}`);
  return {
    command: `parterre ${args.join(" ")}`,
    input_size_px: inputSize,
    whole_frame_median_ms: whole,
    stage_median_ms: perStage,
    faces_per_frame: await nativeFaces(bin, inputSize),
  };
}

/** How many faces native finds per frame of the video at `inputSize` (`parterre analyze --json`): the work per frame. */
async function nativeFaces(bin, inputSize) {
  const args = ["analyze", "--json", "--input-size", String(inputSize), path.join(FIXTURES_VIDEO, `${VIDEO}.y4m`)];
  const { stdout } = await promisify(execFile)(bin, args, { timeout: 120_000, maxBuffer: 64 << 20 });
  return countBy(
    stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line).faces.length),
  );
}

/** The tiny detector's input size in a governor settings string ("tiny@224, ..."), if it names one. */
function detectorSize(settings) {
  const found = /@(\d+)/.exec(settings ?? "");
  return found ? Number(found[1]) : undefined;
}

// The governor may shrink our detector's input below face-api's 320 to keep within its CPU share: the
// comparison that is asserted runs the reference at the size ours used most, so both detect at the same size.
test("the worker's per-frame analysis is at least as fast as face-api on tfjs-wasm, same browser and video", async () => {
  const ours = await measureOurs();
  const sizes = Object.entries(ours.detector_sizes_px).sort(([, a], [, b]) => b - a);
  assert.ok(sizes.length > 0, `no detector size in the governor's settings: ${ours.settings}`);
  const matched = Number(sizes[0][0]);
  const runs = await measureReference([...new Set([REFERENCE_SIZE_PX, matched])]);
  // Ours on the frames it analyzed at the matched size: the same work as the reference run.
  const oursAtMatched_ms = ours.median_ms_by_size_px[matched];
  const figures = {
    video: VIDEO,
    browser: browser.version(),
    ours,
    reference: { library: REFERENCE_LIBRARY, by_input_size_px: runs },
    matched_input_size_px: matched,
    ours_at_matched_size_ms: oursAtMatched_ms,
    ratio: oursAtMatched_ms / runs[matched].median_ms,
    ratio_to_reference_at_320: ours.median_ms / runs[REFERENCE_SIZE_PX].median_ms,
  };
  console.log(
    `speed: ours ${oursAtMatched_ms.toFixed(1)} ms per frame at ${matched} (median; ${ours.median_ms.toFixed(1)} over ` +
      `all, detector ${JSON.stringify(ours.detector_sizes_px)}), reference ${runs[matched].median_ms.toFixed(1)} ms at ` +
      `${matched}, ${runs[REFERENCE_SIZE_PX].median_ms.toFixed(1)} ms at ${REFERENCE_SIZE_PX}; ratio ${figures.ratio.toFixed(2)}`,
  );
  await mkdir(OUTPUT_DIR, { recursive: true });
  await writeFile(path.join(OUTPUT_DIR, "speed.json"), `${JSON.stringify(figures, null, 2)}\n`);
  assert.equal(ours.frames, FRAMES);
  for (const run of Object.values(runs)) assert.equal(run.frames, FRAMES);
  assert.ok(
    figures.ratio <= 1,
    `our worker takes ${oursAtMatched_ms.toFixed(1)} ms per frame, the reference ${runs[matched].median_ms.toFixed(1)} ms ` +
      `at the same detector size ${matched} (ratio ${figures.ratio.toFixed(2)} > 1)`,
  );
});

/** The worker's frame-by-frame bench (bench/worker.mjs) at a fixed detector size: the last of `passes` passes. */
async function measureFrameByFrame(inputSize, passes) {
  const run = await onStaticPage("/bench/bench.html", "parterreBench", (page) =>
    page.evaluate((request) => window.parterreBench(request), {
      video: `/video/${VIDEO}.y4m`,
      options: { detector_input_px: inputSize },
      passes,
    }),
  );
  const timed = run.results.filter((r) => r.pass === passes - 1);
  return {
    input_size_px: inputSize,
    frames: timed.length,
    video_frames: run.frames,
    whole_frame_median_ms: median(timed.map((r) => r.total_ms)),
    stage_median_ms: stageMedians(timed),
    faces_per_frame: countBy(timed.map((r) => r.faces)),
  };
}

/** The detector sizes of the frame-by-frame comparison: the governor's pick at half a core here, and the preset's. */
const FRAME_BY_FRAME_SIZES_PX = [224, 320];
/** Passes over the video in the browser: one to compile and warm up, one timed. */
const FRAME_BY_FRAME_PASSES = 2;

// The same work on both sides, as `parterre bench` measures native: every frame of the video, one after
// another, at a fixed detector size, the governor off. The camera test above cannot give that: the governor
// paces which frames it analyzes, and the faces a frame holds and the age/gender net's half-second schedule
// change its cost, so its median is not the same work as native's.
test("frame by frame: the worker analyzes every frame of the video, as `parterre bench` does natively", async () => {
  const sizes = [];
  for (const inputSize of FRAME_BY_FRAME_SIZES_PX) {
    const ours = await measureFrameByFrame(inputSize, FRAME_BY_FRAME_PASSES);
    const native = await measureNative(inputSize);
    sizes.push({ ours, native, ratio_to_native: native && ours.whole_frame_median_ms / native.whole_frame_median_ms });
    console.log(
      `frame by frame at ${inputSize}: ours ${ours.whole_frame_median_ms.toFixed(1)} ms per frame (median of ` +
        `${ours.frames}, stages ${JSON.stringify(ours.stage_median_ms)}, faces ${JSON.stringify(ours.faces_per_frame)})` +
        (native
          ? `; native ${native.whole_frame_median_ms} ms (stages ${JSON.stringify(native.stage_median_ms)}, ` +
            `faces ${JSON.stringify(native.faces_per_frame)}), ` +
            `${(ours.whole_frame_median_ms / native.whole_frame_median_ms).toFixed(2)}x`
          : "; native not measured (PARTERRE_NATIVE_BIN unset)"),
    );
    assert.equal(ours.frames, ours.video_frames, "every frame of the timed pass is analyzed");
    // The same pixels (bench/worker.mjs converts the Y4M as native does) give the same faces: the same work.
    if (native) assert.deepEqual(ours.faces_per_frame, native.faces_per_frame, "faces per frame, ours and native");
    assert.ok(ours.whole_frame_median_ms > 0);
    // The zoom video holds a face in nearly every frame: a bench that found none would time nothing.
    const withFaces = Object.entries(ours.faces_per_frame).filter(([faces]) => Number(faces) > 0);
    assert.ok(
      withFaces.reduce((sum, [, count]) => sum + count, 0) >= ours.frames / 2,
      `faces per frame ${JSON.stringify(ours.faces_per_frame)}`,
    );
  }
  await mkdir(OUTPUT_DIR, { recursive: true });
  await writeFile(
    path.join(OUTPUT_DIR, "speed-frame-by-frame.json"),
    `${JSON.stringify({ video: VIDEO, browser: browser.version(), sizes }, null, 2)}\n`,
  );
});
