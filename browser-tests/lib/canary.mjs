// The canary: the canary video's top-left block is an exact, rare pixel
// pattern (grey (x, y) = "PARTERRE-CANARY!"[(x + 3y) % 16], see
// xtask/src/fixtures.rs). A test learns which RGBA bytes that block becomes
// in this browser (Chromium's camera path converts YUV to RGB its own way),
// then searches the worker's WebAssembly memory for them: any hit is a frame
// that was not wiped.
import assert from "node:assert/strict";

/** The pattern's 16 grey levels, in order. */
export const CANARY_TEXT = "PARTERRE-CANARY!";
/** Side of the canary block. */
export const CANARY_BLOCK_PX = 64;
/** Bytes in one needle of the RGBA form: 8 pixels. */
const RGBA_NEEDLE_BYTES = 32;
/** Pixels left out at each side of the block, where scaling or chroma might blur its edge. */
const MARGIN_PX = 4;

/**
 * Grabs one frame of the fake camera in `page` (any page of a secure origin in the browser playing the canary
 * video), copies it to RGBA with `VideoFrame.copyTo` as the viewer's worker does (`colorSpace`: the copy's
 * target colour space, or the browser's default when undefined), and resolves to the top-left block's rows:
 * `CANARY_BLOCK_PX` arrays of `CANARY_BLOCK_PX * 4` bytes.
 */
export async function grabCanaryBlock(page, colorSpace = undefined) {
  return page.evaluate(
    async ([side, colorSpace]) => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      const [track] = stream.getVideoTracks();
      try {
        const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
        const { value: frame } = await reader.read();
        await reader.cancel();
        try {
          const options = colorSpace ? { format: "RGBA", colorSpace } : { format: "RGBA" };
          const rgba = new Uint8Array(frame.allocationSize(options));
          const [layout] = await frame.copyTo(rgba, options);
          const rows = [];
          for (let y = 0; y < side; y += 1) {
            const start = layout.offset + y * layout.stride;
            rows.push(Array.from(rgba.subarray(start, start + side * 4)));
          }
          return rows;
        } finally {
          frame.close();
        }
      } finally {
        track.stop();
      }
    },
    [CANARY_BLOCK_PX, colorSpace],
  );
}

/**
 * The needles to search for, from the grabbed block: `rgba`, every 32-byte window (at every byte offset) of the
 * block's inner rows, and `grey`, every 16-byte rotation of the raw pattern (the form a grey plane would hold).
 * Searching aligned words for windows at every offset finds a copy at any alignment. Fails, with the reason,
 * when the block is not the canary: it must be grey and follow the pattern.
 */
export function canaryNeedles(rows) {
  assert.equal(rows.length, CANARY_BLOCK_PX, "the grabbed block's row count");
  checkIsCanary(rows);
  const rgba = new Map();
  for (let y = MARGIN_PX; y < CANARY_BLOCK_PX - MARGIN_PX; y += 1) {
    const inner = rows[y].slice(MARGIN_PX * 4, (CANARY_BLOCK_PX - MARGIN_PX) * 4);
    for (let start = 0; start + RGBA_NEEDLE_BYTES <= inner.length; start += 1) {
      const needle = inner.slice(start, start + RGBA_NEEDLE_BYTES);
      rgba.set(needle.join(","), needle);
    }
  }
  const text = [...Buffer.from(CANARY_TEXT, "latin1")];
  const grey = text.map((_, shift) => [...text.slice(shift), ...text.slice(0, shift)]);
  const distinct = new Set([...rgba.values()].flat()).size;
  // A signature of few byte values (a flat grey, a black frame) would match unrelated memory.
  assert.ok(distinct >= 8, `the canary's RGBA signature has only ${distinct} distinct byte values`);
  return { rgba: [...rgba.values()], grey, distinct };
}

/** Asserts the grabbed block is the pattern: grey pixels whose level orders as the pattern's bytes do. */
function checkIsCanary(rows) {
  const levelOf = new Map();
  for (let y = MARGIN_PX; y < CANARY_BLOCK_PX - MARGIN_PX; y += 1) {
    for (let x = MARGIN_PX; x < CANARY_BLOCK_PX - MARGIN_PX; x += 1) {
      const [r, g, b] = rows[y].slice(x * 4, x * 4 + 3);
      assert.ok(Math.max(r, g, b) - Math.min(r, g, b) <= 6, `canary pixel (${x}, ${y}) is not grey: ${[r, g, b]}`);
      const expected = CANARY_TEXT.charCodeAt((x + 3 * y) % 16);
      const seen = levelOf.get(expected) ?? [];
      seen.push(g);
      levelOf.set(expected, seen);
    }
  }
  // Each pattern byte maps to one level (within rounding), and a higher byte to a higher level.
  const levels = [...levelOf.entries()].sort(([a], [b]) => a - b);
  let previous = -Infinity;
  for (const [expected, greens] of levels) {
    const [low, high] = [Math.min(...greens), Math.max(...greens)];
    assert.ok(high - low <= 4, `pattern byte ${expected} shows as levels ${low}..${high}`);
    assert.ok(low >= previous, `pattern byte ${expected} (level ${low}) is darker than a lower byte (${previous})`);
    previous = high;
  }
}

/**
 * Defines `self.parterreCanaryScan(needles)` in the worker (a closure, as the worker's CSP allows no eval): it
 * searches the worker's WebAssembly memory (`self.parterre.memory`) and returns
 * `{ memory_bytes, rgba: { hits, offsets }, grey: { hits, offsets } }` (at most 8 offsets each).
 */
export function installCanaryScanner(worker) {
  return worker.evaluate(() => {
    function index(needles) {
      const byFirstWord = new Map();
      const filter = new Uint8Array(65_536);
      for (const needle of needles) {
        const bytes = Uint8Array.from(needle);
        const first = new Uint32Array(bytes.buffer, 0, 1)[0];
        filter[(first ^ (first >>> 16)) & 0xffff] = 1;
        const list = byFirstWord.get(first) ?? [];
        list.push(bytes);
        byFirstWord.set(first, list);
      }
      return { byFirstWord, filter };
    }
    function search(memory, { byFirstWord, filter }) {
      const words = new Uint32Array(memory.buffer, 0, memory.length >>> 2);
      const offsets = [];
      let hits = 0;
      for (let i = 0; i < words.length; i += 1) {
        const word = words[i];
        if (filter[(word ^ (word >>> 16)) & 0xffff] === 0) continue;
        const candidates = byFirstWord.get(word);
        if (!candidates) continue;
        const at = i * 4;
        if (candidates.some((needle) => needle.every((byte, k) => memory[at + k] === byte))) {
          hits += 1;
          if (offsets.length < 8) offsets.push(at);
        }
      }
      return { hits, offsets };
    }
    self.parterreCanaryScan = (needles) => {
      const memory = new Uint8Array(self.parterre.memory.buffer);
      return {
        memory_bytes: memory.length,
        rgba: search(memory, index(needles.rgba)),
        grey: search(memory, index(needles.grey)),
      };
    };
  });
}

/** Scans the worker's memory now (the scanner must be installed). */
export function scanWorker(worker, needles) {
  return worker.evaluate((n) => self.parterreCanaryScan(n), needles);
}

/**
 * Also grabs the block the way the canvas fallback sees it (an ImageBitmap of the camera's video drawn on an
 * OffscreenCanvas, read back with getImageData): its YUV-to-RGB conversion may differ from copyTo's.
 */
export async function grabCanaryBlockViaCanvas(page) {
  return page.evaluate(async (side) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    const video = document.createElement("video");
    video.muted = true;
    video.srcObject = stream;
    try {
      await video.play();
      await new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
      const bitmap = await createImageBitmap(video);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(bitmap, 0, 0);
      bitmap.close();
      const { data } = context.getImageData(0, 0, side, side);
      const rows = [];
      for (let y = 0; y < side; y += 1) rows.push(Array.from(data.subarray(y * side * 4, (y + 1) * side * 4)));
      return rows;
    } finally {
      for (const track of stream.getTracks()) track.stop();
    }
  }, CANARY_BLOCK_PX);
}

/** The union of needle sets (e.g. the copyTo form and the canvas form). */
export function mergeNeedles(...sets) {
  const rgba = new Map(sets.flatMap((set) => set.rgba.map((needle) => [needle.join(","), needle])));
  return { rgba: [...rgba.values()], grey: sets[0].grey, distinct: Math.min(...sets.map((set) => set.distinct)) };
}

/**
 * Makes the worker scan its memory right after each of its next `count` calls of
 * `self.parterre.analyzer.analyze()` returns (the frame was analyzed and must be wiped by then); the results
 * collect in `self.parterreAfterAnalyze` as `{ hits, memory_bytes }`. The scanner must be installed.
 */
export function scanAfterAnalyses(worker, needles, count) {
  return worker.evaluate(
    ([n, limit]) => {
      const analyzer = self.parterre.analyzer;
      const analyze = analyzer.analyze;
      self.parterreAfterAnalyze = [];
      analyzer.analyze = function scanned(...args) {
        const result = analyze.apply(this, args);
        if (self.parterreAfterAnalyze.length < limit) {
          const scan = self.parterreCanaryScan(n);
          self.parterreAfterAnalyze.push({ hits: scan.rgba.hits + scan.grey.hits, memory_bytes: scan.memory_bytes });
        }
        return result;
      };
    },
    [needles, count],
  );
}
