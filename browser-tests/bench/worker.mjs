// The browser's counterpart of `parterre bench`'s stage-by-stage run, in a
// worker like the viewer's: every frame of a test video through parterre-wasm's
// WorkerAnalyzer, one after another, each copied into the frame slot and
// analyzed. Frames come from the Y4M file `cargo xtask fixtures` wrote, the
// file the native bench reads, converted to RGB exactly as the native Y4M
// source converts it (BT.601 in integers, limited range unless the header
// says XCOLORRANGE=FULL, nearest chroma), so
// both sides analyze the same pixels with the same configuration. Posts each
// frame's report (timings, faces; never pixels).
//
// Request: {video: URL of the .y4m, options: the analyzer's options (a fixed
// `detector_input_px`), passes: how often to run the video (the last pass is
// the timed one; the first ones compile and warm up)}.
import init, { requiredModels, WorkerAnalyzer } from "/web/pkg/parterre_wasm.js";

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ type: "done", ...(await bench(data)) });
  } catch (error) {
    self.postMessage({ type: "error", message: String(error?.stack ?? error) });
  }
};

async function bench({ video, options, passes }) {
  const { memory } = await init({ module_or_path: "/web/pkg/parterre_wasm_bg.wasm" });
  const optionsJson = JSON.stringify(options);
  const weights = await Promise.all(requiredModels(optionsJson).map((stem) => fetchBytes(`/models/${stem}.safetensors`)));
  const analyzer = new WorkerAnalyzer(optionsJson, weights);
  const { width, height, fullRange, frames: planes } = parseY4m(await fetchBytes(video));
  const frames = planes.map((frame) => i420ToRgba(frame, width, height, fullRange));
  const results = [];
  try {
    for (let pass = 0; pass < passes; pass++) {
      for (const [index, rgba] of frames.entries()) {
        new Uint8Array(memory.buffer, analyzer.framePtr(width, height), rgba.length).set(rgba);
        if (!analyzer.commitFrame()) throw new Error(`frame ${index} outlived its budget while being copied`);
        const json = analyzer.analyze();
        if (json === undefined) throw new Error(`frame ${index} of pass ${pass} was not analyzed`);
        const { total_ms, timing_ms, faces, skipped } = JSON.parse(json);
        results.push({ pass, index, total_ms, timing_ms, faces, skipped });
      }
    }
  } finally {
    analyzer.wipeAll();
    analyzer.free();
  }
  return { width, height, frames: frames.length, passes, results };
}

/** Native's `yuv::planar_to_rgb` and `yuv_to_rgb` for 4:2:0, as RGBA. */
function i420ToRgba(frame, width, height, fullRange) {
  const chromaWidth = width >> 1;
  const uPlane = width * height;
  const vPlane = uPlane + chromaWidth * (height >> 1);
  const clamp = (value) => (value < 0 ? 0 : value > 255 ? 255 : value);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y >> 1) * chromaWidth + (x >> 1);
      const d = frame[uPlane + at] - 128;
      const e = frame[vPlane + at] - 128;
      const luma = frame[y * width + x];
      const out = 4 * (y * width + x);
      if (fullRange) {
        rgba[out] = clamp(luma + ((91_881 * e + 32_768) >> 16));
        rgba[out + 1] = clamp(luma + ((-22_554 * d - 46_802 * e + 32_768) >> 16));
        rgba[out + 2] = clamp(luma + ((116_130 * d + 32_768) >> 16));
      } else {
        const c = 298 * (luma - 16);
        rgba[out] = clamp((c + 409 * e + 128) >> 8);
        rgba[out + 1] = clamp((c - 100 * d - 208 * e + 128) >> 8);
        rgba[out + 2] = clamp((c + 516 * d + 128) >> 8);
      }
      rgba[out + 3] = 255;
    }
  }
  return rgba;
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The frames of a 4:2:0 Y4M file, each as a view of its I420 planes. */
function parseY4m(bytes) {
  const headerEnd = bytes.indexOf(0x0a);
  const header = new TextDecoder().decode(bytes.subarray(0, headerEnd)).split(" ");
  if (header[0] !== "YUV4MPEG2") throw new Error("not a Y4M file");
  const field = (tag) => header.find((token) => token.startsWith(tag))?.slice(1);
  const width = Number(field("W"));
  const height = Number(field("H"));
  const chroma = field("C") ?? "420jpeg";
  if (!chroma.startsWith("420")) throw new Error(`Y4M chroma ${chroma}: only 4:2:0 is read`);
  const frameBytes = width * height + 2 * (width / 2) * (height / 2);
  const frames = [];
  let at = headerEnd + 1;
  while (at < bytes.length) {
    const lineEnd = bytes.indexOf(0x0a, at);
    if (lineEnd < 0 || !new TextDecoder().decode(bytes.subarray(at, at + 5)).startsWith("FRAME")) {
      throw new Error(`no FRAME marker at byte ${at}`);
    }
    at = lineEnd + 1;
    if (at + frameBytes > bytes.length) throw new Error(`frame ${frames.length} is cut short`);
    frames.push(bytes.subarray(at, at + frameBytes));
    at += frameBytes;
  }
  return { width, height, fullRange: header.some((token) => token.toUpperCase() === "XCOLORRANGE=FULL"), frames };
}
