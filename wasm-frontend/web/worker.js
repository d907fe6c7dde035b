// The viewer's analysis worker (an ES module worker: new Worker("/web/worker.js",
// {type: "module"})). It loads parterre-wasm and the weights the options need,
// copies each camera frame straight into the frame slot in WebAssembly memory,
// closes the browser's frame at once, analyzes, and posts only the result.
// Frames arriving before the compute governor allows the next analysis are
// closed unread: dropped, never queued. A 30 ms timer sweeps whatever outlives
// its permanence budget.
//
// Messages from the page (server/assets/viewer.js): {type: "start", options,
// capture: "track", track | readable} or {..., capture: "canvas"} then
// {type: "bitmap", bitmap} per frame, and {type: "stop"}. To the page:
// "ready", "result" (the analysis report: traits, timings, settings; never
// pixels), "permanence", "stopped", "error".

import init, { requiredModels, WorkerAnalyzer } from "/web/pkg/parterre_wasm.js";

const SWEEP_EVERY_MS = 30;
const PERMANENCE_EVERY_MS = 5000;

// Test hook: a browser test scans self.parterre.memory for canary bytes.
const state = {
  memory: null,
  analyzer: null,
  running: false,
  reader: null,
  track: null,
  // The copy in flight, if any: stop waits for it, so no late write lands
  // in the slot after the final wipe.
  copying: null,
  canvas: null,
  timers: [],
  results: 0,
};
self.parterre = state;

self.onmessage = async (event) => {
  const message = event.data;
  try {
    switch (message.type) {
      case "start":
        await start(message);
        break;
      case "bitmap":
        await onBitmap(message.bitmap);
        break;
      case "stop":
        await stop();
        self.postMessage({ type: "stopped" });
        break;
      default:
        throw new Error(`unknown message type ${message.type}`);
    }
  } catch (error) {
    await fail(error);
  }
};

async function start(message) {
  if (state.running) throw new Error("already started");
  const response = await fetch("/web/pkg/parterre_wasm_bg.wasm");
  if (!response.ok) throw new Error(`parterre_wasm_bg.wasm: HTTP ${response.status}`);
  const wasmBytes = Number(response.headers.get("content-length")) || 0;
  const exports = await init({ module_or_path: response });
  state.memory = exports.memory;
  const optionsJson = JSON.stringify(message.options ?? {});
  const weights = await Promise.all(requiredModels(optionsJson).map(fetchWeights));
  const weightsBytes = weights.reduce((sum, bytes) => sum + bytes.byteLength, 0);
  // The constructor copies the weights in and grows the memory to its
  // working size once; from here on, memory.buffer never changes.
  state.analyzer = new WorkerAnalyzer(optionsJson, weights);
  state.running = true;
  state.timers.push(setInterval(() => state.analyzer?.sweep(), SWEEP_EVERY_MS));
  state.timers.push(setInterval(postPermanence, PERMANENCE_EVERY_MS));
  self.postMessage({ type: "ready", weights_bytes: weightsBytes, wasm_bytes: wasmBytes });
  if (message.capture === "track") {
    readFrames(videoFrames(message)).catch(fail);
  } else if (message.capture !== "canvas") {
    throw new Error(`unknown capture ${message.capture}`);
  }
}

async function fetchWeights(stem) {
  const response = await fetch(`/models/${stem}.safetensors`);
  if (!response.ok) throw new Error(`model ${stem}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// Whether the governor allows an analysis now; otherwise the frame is dropped.
function due() {
  return state.running && performance.now() >= state.analyzer.nextStartMs();
}

// The camera's frames: the track's own processor when the track could be
// transferred (the standard form), or the stream of a processor the page
// made, transferred instead (Chromium 156 cannot transfer a MediaStreamTrack
// to a worker, but can transfer a ReadableStream).
function videoFrames(message) {
  if (message.readable) return message.readable;
  if (!message.track) throw new Error('capture "track" needs a track or a readable');
  state.track = message.track;
  return new MediaStreamTrackProcessor({ track: message.track }).readable;
}

async function readFrames(readable) {
  state.reader = readable.getReader();
  while (state.running) {
    const { value: frame, done } = await state.reader.read();
    if (done) break;
    if (!due()) {
      frame.close();
      continue;
    }
    state.copying = copyFrame(frame);
    const committed = await state.copying;
    state.copying = null;
    if (committed) analyzeAndPost();
  }
}

// VideoFrame.copyTo writes asynchronously, straight into the open slot; the
// browser's frame is closed as soon as the copy is done.
async function copyFrame(frame) {
  try {
    const { width, height } = frame.visibleRect;
    const ptr = state.analyzer.framePtr(width, height);
    const view = new Uint8Array(state.memory.buffer, ptr, width * height * 4);
    await frame.copyTo(view, { format: "RGBA", colorSpace: "srgb" });
    frame.close();
    return state.analyzer.commitFrame();
  } catch (error) {
    frame.close();
    state.analyzer.abortFrame();
    throw error;
  }
}

// The canvas fallback (Firefox): the page transfers an ImageBitmap; its
// pixels pass through the canvas, whose copies are zeroed at once.
async function onBitmap(bitmap) {
  if (!due()) {
    bitmap.close();
    return;
  }
  const { width, height } = bitmap;
  if (!state.canvas || state.canvas.width !== width || state.canvas.height !== height) {
    state.canvas = new OffscreenCanvas(width, height);
  }
  const context = state.canvas.getContext("2d", { willReadFrequently: true });
  let committed = false;
  try {
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    const image = context.getImageData(0, 0, width, height);
    context.clearRect(0, 0, width, height);
    const ptr = state.analyzer.framePtr(width, height);
    new Uint8Array(state.memory.buffer, ptr, width * height * 4).set(image.data);
    image.data.fill(0);
    committed = state.analyzer.commitFrame();
  } catch (error) {
    bitmap.close();
    state.analyzer.abortFrame();
    throw error;
  }
  if (committed) analyzeAndPost();
}

function analyzeAndPost() {
  const json = state.analyzer.analyze();
  if (json === undefined) return;
  state.results += 1;
  self.postMessage({ type: "result", result: JSON.parse(json), memory_bytes: state.analyzer.memoryBytes() });
}

function postPermanence() {
  if (!state.analyzer) return;
  self.postMessage({ type: "permanence", message: JSON.parse(state.analyzer.permanenceJson()) });
}

async function stop() {
  state.running = false;
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  const reader = state.reader;
  state.reader = null;
  await reader?.cancel().catch(() => {});
  state.track?.stop();
  state.track = null;
  // A copy still in flight would land after the wipe: let it finish first.
  await state.copying?.catch(() => {});
  if (state.analyzer) {
    state.analyzer.wipeAll();
    postPermanence();
  }
}

async function fail(error) {
  self.postMessage({ type: "error", message: String(error?.message ?? error) });
  await stop().catch(() => {});
}
