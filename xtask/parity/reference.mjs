// Reference outputs of @vladmandic/face-api (TensorFlow.js) for the Rust vision parity tests.
//
// Run through `cargo xtask parity` (which runs `npm ci` first), or here as `node reference.mjs [options]`:
//   --backend wasm|cpu   TF.js backend (default wasm; the committed fixtures come from wasm)
//   --out DIR            where the JSON goes (default vision/tests/fixtures/reference)
//   --images DIR         where the PNG inputs are (default vision/tests/fixtures/images)
//   --timing-runs N      timed calls per call type, after 2 warm-ups (default 7; 0 skips timing)
//   --timing-only        write no fixture: time the reference on the Rust benchmarks' input (benches/: a synthetic
//                        640x480 gradient, one 200x200 face box) and write the times to --timing-out FILE;
//                        run so by `cargo xtask bench`
//   --timing-out FILE    where --timing-only writes its JSON
//
// Inputs: the package's demo/sampleN.jpg are decoded ONCE with jpeg-js and written as RGB PNGs (only when the PNG is
// missing); the reference then runs on the pixels read back from the PNG, the same pixels the Rust side reads.
// Everything is loaded from node_modules through file paths: no network.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const pkgDir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const { tf } = faceapi;

const IMAGES = [1, 2, 3, 4, 5, 6].map((i) => `sample${i}`);
const TINY_OPTIONS = { inputSize: 416, scoreThreshold: 0.5 };
const SSD_OPTIONS = { minConfidence: 0.5, maxResults: 100 };
const TINY_MEAN_RGB = [117.001, 114.697, 97.404];
const FACE_MEAN_RGB = [122.782, 117.001, 104.298];
const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];
const WARMUPS = 2;

function parseArgs(argv) {
  const args = {
    backend: 'wasm',
    out: path.join(root, 'vision/tests/fixtures/reference'),
    images: path.join(root, 'vision/tests/fixtures/images'),
    timingRuns: 7,
    timingOnly: false,
    timingOut: null,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${argv[i - 1]} needs a value`);
      return argv[i];
    };
    switch (argv[i]) {
      case '--backend': args.backend = value(); break;
      case '--out': args.out = path.resolve(value()); break;
      case '--images': args.images = path.resolve(value()); break;
      case '--timing-runs': args.timingRuns = Number.parseInt(value(), 10); break;
      case '--timing-only': args.timingOnly = true; break;
      case '--timing-out': args.timingOut = path.resolve(value()); break;
      default: throw new Error(`unknown option ${argv[i]} (options: --backend wasm|cpu, --out DIR, --images DIR, --timing-runs N, `
        + '--timing-only, --timing-out FILE)');
    }
  }
  if (args.timingOnly && (!args.timingOut || !(args.timingRuns > 0))) throw new Error('--timing-only needs --timing-out FILE and --timing-runs N > 0');
  if (!['wasm', 'cpu'].includes(args.backend)) throw new Error(`--backend must be wasm or cpu, not ${args.backend}`);
  if (!(args.timingRuns >= 0)) throw new Error('--timing-runs must be a number >= 0');
  return args;
}

const log = (msg) => process.stderr.write(`parity: ${msg}\n`);

// Rounding to `digits` significant digits keeps the fixtures small; the backends themselves agree to ~1e-4 relative.
const round = (x, digits = 7) => (Number.isFinite(x) ? Number(x.toPrecision(digits)) : x);
const roundAll = (xs, digits = 7) => Array.from(xs, (x) => round(x, digits));
// Image-pixel coordinates (up to ~2000) keep 4 decimals: 7 significant digits would quantize them to 1e-3 px,
// more than the backends differ by.
const px = (x) => Number(x.toFixed(4));
const boxArray = (b) => [b.x, b.y, b.width, b.height].map(px);
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

// JSON with objects spread over lines down to `depth`, everything deeper (arrays, faces) on one line each.
function stringify(value, depth = 3, indent = '') {
  if (depth <= 0 || value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0 || value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value);
    return `[\n${value.map((v) => inner + stringify(v, depth - 1, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringify(v, depth - 1, inner)}`).join(',\n')}\n${indent}}`;
}

function writeJson(file, value, depth) {
  fs.writeFileSync(file, `${stringify(value, depth)}\n`);
  log(`wrote ${path.relative(root, file)} (${fs.statSync(file).size} bytes)`);
}

// Decodes demo/NAME.jpg with jpeg-js into an RGB PNG, unless the PNG is already there; returns the PNG's RGB pixels.
function loadImage(name, imagesDir) {
  const jpgPath = path.join(pkgDir, 'demo', `${name}.jpg`);
  const pngPath = path.join(imagesDir, `${name}.png`);
  const jpg = fs.readFileSync(jpgPath);
  if (!fs.existsSync(pngPath)) {
    const decoded = jpeg.decode(jpg, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    const png = new PNG({ width: decoded.width, height: decoded.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
    png.data = Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
    fs.mkdirSync(imagesDir, { recursive: true });
    fs.writeFileSync(pngPath, PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 9 }));
    log(`decoded ${name}.jpg with jpeg-js into ${path.relative(root, pngPath)} (${fs.statSync(pngPath).size} bytes)`);
  }
  const png = PNG.sync.read(fs.readFileSync(pngPath)); // pngjs always hands back RGBA
  const { width, height } = png;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = png.data[j];
    rgb[i + 1] = png.data[j + 1];
    rgb[i + 2] = png.data[j + 2];
  }
  return {
    width,
    height,
    rgb,
    source: { jpeg: `@vladmandic/face-api/demo/${name}.jpg`, jpegSha256: sha256(jpg), decoder: 'jpeg-js', png: `images/${name}.png`, rgbSha256: sha256(rgb) },
  };
}

// Sums and a few sample values of a [1, H, W, C] tensor, enough to check a port's preprocessing.
function tensorChecksum(t) {
  const [, , w, c] = t.shape;
  const data = t.dataSync();
  let sum = 0;
  let absSum = 0;
  let sqSum = 0;
  let weightedSum = 0; // weights 1..97 by flat index, so a permutation or a shifted row shows
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i += 1) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    absSum += Math.abs(v);
    sqSum += v * v;
    weightedSum += v * ((i % 97) + 1);
  }
  // 32 positions from a fixed linear congruential sequence: spread over the tensor, the same on every run.
  const samples = [];
  let state = 12345;
  for (let k = 0; k < 32; k += 1) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const i = state % data.length;
    const ch = i % c;
    const x = Math.floor(i / c) % w;
    const y = Math.floor(i / (c * w));
    samples.push([y, x, ch, round(data[i])]);
  }
  return {
    shape: t.shape,
    layout: 'NHWC, float32; sums in float64 over the float32 values in flat (row-major) order',
    sum: round(sum, 10),
    absSum: round(absSum, 10),
    sqSum: round(sqSum, 10),
    weightedSum: round(weightedSum, 10),
    weights: 'weightedSum = sum of value[i] * (i % 97 + 1) over the flat index i',
    min: round(min),
    max: round(max),
    samples,
    samplesLayout: '[y, x, channel, value]',
  };
}

async function loadModels(nets = ['tinyFaceDetector', 'ssdMobilenetv1', 'faceLandmark68Net', 'faceLandmark68TinyNet', 'faceExpressionNet', 'ageGenderNet']) {
  const modelDir = path.join(pkgDir, 'model');
  for (const net of nets) await faceapi.nets[net].loadFromDisk(modelDir); // eslint-disable-line no-await-in-loop
}

const detectorOptions = (detector) => (detector === 'tiny'
  ? new faceapi.TinyFaceDetectorOptions(TINY_OPTIONS)
  : new faceapi.SsdMobilenetv1Options(SSD_OPTIONS));

// The library's own chain from given detections: landmarks on the detection box crop, then expressions and age/gender
// on the crop of the box aligned to those landmarks (`landmarks.align()`).
async function chainFromDetections(input, detections, useTinyLandmarkNet) {
  const withDetection = Promise.resolve(detections.map((d) => faceapi.extendWithFaceDetection({}, d)));
  return new faceapi.DetectAllFaceLandmarksTask(withDetection, input, useTinyLandmarkNet).withFaceExpressions().withAgeAndGender();
}

function faceRecord(det, full, tiny, imgWidth, imgHeight) {
  const landmarks = (r) => r.landmarks.positions.map((p) => [px(p.x), px(p.y)]);
  const aligned = (r) => ({
    box: boxArray(r.alignedRect.box),
    crop: boxArray(r.alignedRect.box.clipAtImageBorders(imgWidth, imgHeight)),
    expressions: Object.fromEntries(EXPRESSIONS.map((e) => [e, round(r.expressions[e])])),
    age: round(r.age),
    gender: r.gender,
    genderProbability: round(r.genderProbability),
  });
  return {
    box: boxArray(det.box),
    score: round(det.score),
    crop: boxArray(det.box.clipAtImageBorders(imgWidth, imgHeight)),
    landmarks: { full: landmarks(full), tiny: landmarks(tiny) },
    angle: { full: full.angle, tiny: tiny.angle },
    aligned: { full: aligned(full), tiny: aligned(tiny) },
  };
}

async function analyzeImage(input, width, height) {
  const detectors = {};
  for (const detector of ['tiny', 'ssd']) {
    const detections = await faceapi.detectAllFaces(input, detectorOptions(detector)); // eslint-disable-line no-await-in-loop
    const full = await chainFromDetections(input, detections, false); // eslint-disable-line no-await-in-loop
    const tiny = await chainFromDetections(input, detections, true); // eslint-disable-line no-await-in-loop
    if (full.length !== detections.length || tiny.length !== detections.length) throw new Error('a face lost its landmarks');
    detectors[detector] = {
      options: detector === 'tiny' ? { ...TINY_OPTIONS, iouThreshold: 0.4 } : { ...SSD_OPTIONS, inputSize: 512, iouThreshold: 0.5 },
      faces: detections.map((det, i) => faceRecord(det, full[i], tiny[i], width, height)),
    };
  }
  return detectors;
}

// Checks once that the chain built from given detections equals the library's public chain.
async function checkAgainstPublicChain(input, detectors) {
  const chain = await faceapi.detectAllFaces(input, detectorOptions('tiny')).withFaceLandmarks().withFaceExpressions().withAgeAndGender();
  const ours = detectors.tiny.faces;
  const same = chain.length === ours.length && chain.every((r, i) => round(r.age) === ours[i].aligned.full.age
    && r.genderProbability !== undefined && round(r.genderProbability) === ours[i].aligned.full.genderProbability
    && r.landmarks.positions.every((p, k) => px(p.x) === ours[i].landmarks.full[k][0] && px(p.y) === ours[i].landmarks.full[k][1])
    && EXPRESSIONS.every((e) => round(r.expressions[e]) === ours[i].aligned.full.expressions[e]));
  if (!same) throw new Error('the public chain detectAllFaces().withFaceLandmarks()... disagrees with the harness');
  log('checked: the public chain detectAllFaces(tiny).withFaceLandmarks().withFaceExpressions().withAgeAndGender() gives the same numbers');
}

// The raw TinyFaceDetector grid and the preprocessed inputs, for sample1.
async function rawDump(input, detectors) {
  const net = faceapi.nets.tinyFaceDetector;
  const netInput = await faceapi.toNetInput(input);
  const { inputSize } = TINY_OPTIONS;
  const resized = tf.tidy(() => tf.cast(netInput.toBatchTensor(inputSize, false), 'float32'));
  const normalized = tf.tidy(() => faceapi.normalize(resized, TINY_MEAN_RGB).div(255));
  const grid = await net.forward(input, inputSize);
  const regrid = tf.tidy(() => net.runMobilenet(normalized, net.params));
  const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(grid, regrid))).dataSync()[0]);
  if (maxDiff !== 0) throw new Error(`the reproduced tiny preprocessing differs from the library's (${maxDiff})`);
  const ssdInput = tf.tidy(() => tf.sub(tf.div(tf.cast(netInput.toBatchTensor(512, false), 'float32'), 127.5), 1));

  const face = detectors.tiny.faces[0];
  const det = (await faceapi.detectAllFaces(input, detectorOptions('tiny')))[0];
  const [crop] = await faceapi.extractFaceTensors(input, [det]);
  const faceInput = await faceapi.toNetInput(crop);
  const faceResized = tf.tidy(() => tf.cast(faceInput.toBatchTensor(112, true), 'float32'));
  const faceNormalized = tf.tidy(() => faceapi.normalize(faceResized, FACE_MEAN_RGB).div(255));
  const rawLandmarks = (landmarkNet) => tf.tidy(() => Array.from(landmarkNet.runNet(faceInput).dataSync()));
  const raw = {
    image: 'sample1',
    tinyDetector: {
      options: TINY_OPTIONS,
      preprocessing: 'zero-pad bottom/right to a square, resizeBilinear(alignCorners=false, halfPixelCenters=false) to 416, (x - meanRgb) / 255',
      meanRgb: TINY_MEAN_RGB,
      resizedInput: tensorChecksum(resized),
      input: tensorChecksum(normalized),
      output: {
        shape: grid.shape,
        layout: 'NHWC: [1, row, col, anchor * 5 + k], k = 0..4: tx, ty, tw, th, score logit (before sigmoid/exp); rounded to 6 significant digits',
        anchors: net.anchors.map((p) => [p.x, p.y]),
        data: roundAll(grid.dataSync(), 6),
      },
    },
    ssdInput: {
      preprocessing: 'zero-pad bottom/right to a square, resizeBilinear(alignCorners=false, halfPixelCenters=false) to 512, x / 127.5 - 1',
      ...tensorChecksum(ssdInput),
    },
    landmarkInput: {
      face: 'detectors.tiny.faces[0] of sample1.json',
      box: face.box,
      crop: face.crop,
      preprocessing: 'crop box.clipAtImageBorders() (floored), zero-pad centred to a square, resizeBilinear(alignCorners=false, halfPixelCenters=false) to 112, (x - meanRgb) / 255',
      meanRgb: FACE_MEAN_RGB,
      resizedInput: tensorChecksum(faceResized),
      input: tensorChecksum(faceNormalized),
      rawOutput: {
        layout: '136 values x0, y0, x1, y1, ... in [0, 1] of the padded 112x112 input, before postprocessing',
        full: roundAll(rawLandmarks(faceapi.nets.faceLandmark68Net), 7),
        tiny: roundAll(rawLandmarks(faceapi.nets.faceLandmark68TinyNet), 7),
      },
    },
  };
  tf.dispose([resized, normalized, grid, regrid, ssdInput, crop, faceResized, faceNormalized]);
  return raw;
}

// Median wall time of `runs` calls after WARMUPS warm-ups, in ms.
async function median(runs, call) {
  for (let i = 0; i < WARMUPS; i += 1) await call(); // eslint-disable-line no-await-in-loop
  const times = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    await call(); // eslint-disable-line no-await-in-loop
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  const med = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { medianMs: round(med, 4), minMs: round(times[0], 4), maxMs: round(times[times.length - 1], 4), runs };
}

async function timings(input, width, height, runs) {
  const det = (await faceapi.detectAllFaces(input, detectorOptions('tiny')))[0];
  const [crop] = await faceapi.extractFaceTensors(input, [det]);
  const faces = (await faceapi.detectAllFaces(input, detectorOptions('tiny'))).length;
  const result = {
    image: `sample1 (${width}x${height}, ${faces} faces with the tiny detector)`,
    method: `wall time of one awaited call, median of ${runs} after ${WARMUPS} warm-ups; face nets on one face crop (${crop.shape[1]}x${crop.shape[0]})`,
    calls: {
      tinyDetector416: await median(runs, () => faceapi.detectAllFaces(input, detectorOptions('tiny'))),
      ssdMobilenetv1: await median(runs, () => faceapi.detectAllFaces(input, detectorOptions('ssd'))),
      landmarks68Tiny: await median(runs, () => faceapi.nets.faceLandmark68TinyNet.detectLandmarks(crop)),
      landmarks68: await median(runs, () => faceapi.nets.faceLandmark68Net.detectLandmarks(crop)),
      expression: await median(runs, () => faceapi.nets.faceExpressionNet.predictExpressions(crop)),
      ageGender: await median(runs, () => faceapi.nets.ageGenderNet.predictAgeAndGender(crop)),
      chainTiny416Landmarks68TinyExpressionAgeGender: await median(runs, () => faceapi.detectAllFaces(input, detectorOptions('tiny'))
        .withFaceLandmarks(true).withFaceExpressions().withAgeAndGender()),
      chainTiny416Landmarks68ExpressionAgeGender: await median(runs, () => faceapi.detectAllFaces(input, detectorOptions('tiny'))
        .withFaceLandmarks().withFaceExpressions().withAgeAndGender()),
    },
  };
  tf.dispose(crop);
  return result;
}

// The Rust benchmarks' input (benches/src/lib.rs): `synthetic_rgb_frame(640, 480)`, where every channel of pixel p is
// p % 256, and the face box FACE_BOX_PX. Keep the two in step.
const BENCH_FRAME = { width: 640, height: 480 };
const BENCH_FACE_BOX = { x: 220, y: 140, width: 200, height: 200 };

// The whole-chain benchmark frames (benches/fixtures, crops of demo photos scaled to 640x480), as int32 RGB tensors.
function benchFrame(name) {
  const png = PNG.sync.read(fs.readFileSync(path.join(root, 'benches', 'fixtures', `${name}.png`)));
  const rgb = new Int32Array(png.width * png.height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = png.data[j];
    rgb[i + 1] = png.data[j + 1];
    rgb[i + 2] = png.data[j + 2];
  }
  return tf.tensor3d(rgb, [png.height, png.width, 3], 'int32');
}

// Times the reference's calls that the Rust benchmarks measure, on the same input, and writes them to args.timingOut.
// Every call's output is read back (`data()`) or is plain JS already, and every tensor it made is disposed.
async function timingOnly(args, features) {
  await loadModels();
  const { width, height } = BENCH_FRAME;
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0; i < rgb.length; i += 1) rgb[i] = Math.floor(i / 3) % 256;
  const input = tf.tensor3d(rgb, [height, width, 3], 'int32');
  const netInput = await faceapi.toNetInput(input);
  const faceBox = new faceapi.Rect(BENCH_FACE_BOX.x, BENCH_FACE_BOX.y, BENCH_FACE_BOX.width, BENCH_FACE_BOX.height);
  const [faceCrop] = await faceapi.extractFaceTensors(input, [faceBox]);
  const faceInput = await faceapi.toNetInput(faceCrop);
  const face112 = tf.tidy(() => tf.squeeze(faceInput.toBatchTensor(112, true), [0]));
  const tiny = faceapi.nets.tinyFaceDetector;
  const ssd = faceapi.nets.ssdMobilenetv1;
  const tinyInput416 = tf.tidy(() => faceapi.normalize(tf.cast(netInput.toBatchTensor(416, false), 'float32'), TINY_MEAN_RGB).div(255));
  const ssdInput512 = tf.tidy(() => tf.squeeze(netInput.toBatchTensor(512, false), [0]));
  const tinyOptions = (inputSize) => new faceapi.TinyFaceDetectorOptions({ ...TINY_OPTIONS, inputSize });
  const readAndDispose = async (tensors) => {
    const list = [tensors].flat(2);
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  };
  const landmarks = async (net) => {
    const [crop] = await faceapi.extractFaceTensors(input, [faceBox]);
    const result = await net.detectLandmarks(crop);
    tf.dispose(crop);
    return result.shiftBy(faceBox.x, faceBox.y);
  };
  const network112 = async (net) => readAndDispose(net.runNet(await faceapi.toNetInput(face112)));
  // name: [the call, as written in face-api, and the call itself]
  const calls = {
    tinyDetector416: ['nets.tinyFaceDetector.locateFaces(frame, {inputSize: 416, scoreThreshold: 0.5})', () => tiny.locateFaces(input, tinyOptions(416))],
    tinyDetector320: ['nets.tinyFaceDetector.locateFaces(frame, {inputSize: 320, scoreThreshold: 0.5})', () => tiny.locateFaces(input, tinyOptions(320))],
    tinyPreprocess416: ['normalize(toNetInput(frame).toBatchTensor(416), meanRgb) / 255',
      async () => readAndDispose(tf.tidy(() => faceapi.normalize(tf.cast(netInput.toBatchTensor(416, false), 'float32'), TINY_MEAN_RGB).div(255)))],
    tinyNetwork416: ['nets.tinyFaceDetector.runMobilenet(normalized 416 input)', async () => readAndDispose(tf.tidy(() => tiny.runMobilenet(tinyInput416, tiny.params)))],
    ssdMobilenetv1: ['nets.ssdMobilenetv1.locateFaces(frame, {minConfidence: 0.5, maxResults: 100})', () => ssd.locateFaces(input, SSD_OPTIONS)],
    ssdNetwork512: ['nets.ssdMobilenetv1.forwardInput(512x512 input): also casts and scales it, and decodes boxes and scores',
      async () => { const { boxes, scores } = ssd.forwardInput(await faceapi.toNetInput(ssdInput512)); await readAndDispose([boxes, scores]); }],
    landmarks68: ['extractFaceTensors(frame, [box]), nets.faceLandmark68Net.detectLandmarks(crop).shiftBy(box.x, box.y)', () => landmarks(faceapi.nets.faceLandmark68Net)],
    landmarks68Network: ['nets.faceLandmark68Net.runNet(112x112 crop): also casts and normalizes it', () => network112(faceapi.nets.faceLandmark68Net)],
    landmarks68Tiny: ['extractFaceTensors(frame, [box]), nets.faceLandmark68TinyNet.detectLandmarks(crop).shiftBy(box.x, box.y)',
      () => landmarks(faceapi.nets.faceLandmark68TinyNet)],
    landmarks68TinyNetwork: ['nets.faceLandmark68TinyNet.runNet(112x112 crop): also casts and normalizes it', () => network112(faceapi.nets.faceLandmark68TinyNet)],
  };
  const classify = async (predict) => {
    const [crop] = await faceapi.extractFaceTensors(input, [faceBox]);
    const result = await predict(crop);
    tf.dispose(crop);
    return result;
  };
  calls.expression = ['extractFaceTensors(frame, [box]), nets.faceExpressionNet.predictExpressions(crop)',
    () => classify((crop) => faceapi.nets.faceExpressionNet.predictExpressions(crop))];
  calls.ageGender = ['extractFaceTensors(frame, [box]), nets.ageGenderNet.predictAgeAndGender(crop)',
    () => classify((crop) => faceapi.nets.ageGenderNet.predictAgeAndGender(crop))];
  // The library's full chain on a frame with one face and one with four (benches/benches/analyzer.rs).
  const chainFrames = { OneFace: benchFrame('one_face_640x480'), FourFaces: benchFrame('four_faces_640x480') };
  for (const [label, frame] of Object.entries(chainFrames)) {
    calls[`chainTiny416Landmarks68Tiny${label}`] = ['detectAllFaces(frame, tiny 416).withFaceLandmarks(true).withFaceExpressions().withAgeAndGender()',
      () => faceapi.detectAllFaces(frame, tinyOptions(416)).withFaceLandmarks(true).withFaceExpressions().withAgeAndGender()];
    calls[`chainTiny320Landmarks68${label}`] = ['detectAllFaces(frame, tiny 320).withFaceLandmarks().withFaceExpressions().withAgeAndGender()',
      () => faceapi.detectAllFaces(frame, tinyOptions(320)).withFaceLandmarks().withFaceExpressions().withAgeAndGender()];
  }
  for (const [label, frame] of Object.entries(chainFrames)) {
    const found = (await faceapi.detectAllFaces(frame, tinyOptions(416))).length; // eslint-disable-line no-await-in-loop
    log(`${label}: the tiny detector at 416 finds ${found} faces`);
  }
  const tensorsBefore = tf.memory().numTensors;
  const timed = {};
  for (const [name, [call, fn]] of Object.entries(calls)) {
    timed[name] = { call, ...(await median(args.timingRuns, fn)) }; // eslint-disable-line no-await-in-loop
    log(`${name}: median ${timed[name].medianMs} ms`);
  }
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) log(`warning: the timed calls left ${leaked} tensors undisposed`);
  tf.dispose([input, faceCrop, face112, tinyInput416, ssdInput512, ...Object.values(chainFrames)]);
  fs.mkdirSync(path.dirname(args.timingOut), { recursive: true });
  fs.writeFileSync(args.timingOut, `${stringify({
    reference: '@vladmandic/face-api (dist/face-api.node-wasm.js) on TensorFlow.js, run by xtask/parity/reference.mjs --timing-only',
    versions: { 'face-api': faceapi.version, ...tf.version, node: process.version },
    backend: { name: tf.getBackend(), ...features },
    input: `synthetic ${width}x${height} RGB gradient (every channel of pixel p is p % 256, as benches' synthetic_rgb_frame), `
      + `face box [${BENCH_FACE_BOX.x}, ${BENCH_FACE_BOX.y}, ${BENCH_FACE_BOX.width}, ${BENCH_FACE_BOX.height}]`,
    method: `wall time of one awaited call, median of ${args.timingRuns} after ${WARMUPS} warm-ups`,
    calls: timed,
    machine: { cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown'}`, platform: `${os.platform()} ${os.arch()}` },
  }, 3)}\n`);
  log(`wrote the reference timings to ${args.timingOut}`);
}

async function setBackend(backend) {
  if (backend === 'wasm') tf.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`);
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend failed to start`);
  await tf.ready();
  const features = {};
  if (backend === 'wasm') {
    features.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    features.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  return features;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const features = await setBackend(args.backend);
  log(`face-api ${faceapi.version}, tfjs ${tf.version_core}, backend ${tf.getBackend()} ${JSON.stringify(features)}`);
  if (args.timingOnly) {
    await timingOnly(args, features);
    return;
  }
  await loadModels();
  fs.mkdirSync(args.out, { recursive: true });

  let timing = null;
  for (const name of IMAGES) {
    const t0 = performance.now();
    const { width, height, rgb, source } = loadImage(name, args.images);
    const input = tf.tensor3d(rgb, [height, width, 3], 'int32');
    const detectors = await analyzeImage(input, width, height); // eslint-disable-line no-await-in-loop
    if (name === 'sample1') {
      await checkAgainstPublicChain(input, detectors); // eslint-disable-line no-await-in-loop
      writeJson(path.join(args.out, `${name}-tiny-raw.json`), await rawDump(input, detectors), 3); // eslint-disable-line no-await-in-loop
      if (args.timingRuns > 0) {
        log(`timing the reference calls (${args.timingRuns} runs each)...`);
        timing = await timings(input, width, height, args.timingRuns); // eslint-disable-line no-await-in-loop
      }
    }
    tf.dispose(input);
    writeJson(path.join(args.out, `${name}.json`), {
      image: name,
      width,
      height,
      source,
      backend: tf.getBackend(),
      detectors,
    }, 4);
    const counts = Object.entries(detectors).map(([d, r]) => `${d} ${r.faces.length}`).join(', ');
    log(`${name}: ${width}x${height}, faces: ${counts} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }

  writeJson(path.join(args.out, 'meta.json'), {
    reference: '@vladmandic/face-api (dist/face-api.node-wasm.js) on TensorFlow.js, run by xtask/parity/reference.mjs',
    versions: { 'face-api': faceapi.version, ...tf.version, node: process.version },
    backend: { name: tf.getBackend(), ...features, note: 'the committed fixtures come from the wasm backend (one thread under Node, SIMD)' },
    cpuVsWasm: 'measured on these fixtures (--backend cpu against wasm): same faces and integer crops; boxes within 7e-4 px, '
      + 'landmarks 5e-4 px, raw tiny grid 1e-4, scores 7e-6, expression probabilities 1.1e-5, age 8e-5 years, genderProbability 1e-6',
    models: 'node_modules/@vladmandic/face-api/model (face_recognition not used)',
    inputs: 'demo/sampleN.jpg of the package, decoded once with jpeg-js into images/sampleN.png (RGB); the reference runs on the PNG pixels',
    schema: {
      'box, crop': '[x, y, width, height] in image pixels; crop = box.clipAtImageBorders() (floored), the pixels the face nets see',
      landmarks: '68 [x, y] in image pixels, on the detection box crop: full = face_landmark_68, tiny = face_landmark_68_tiny; '
        + 'position = relative * crop size + detection box x/y (the unfloored box corner, as the library shifts them)',
      aligned: 'the library chain detectAllFaces().withFaceLandmarks(useTiny).withFaceExpressions().withAgeAndGender(): '
        + 'expressions and age/gender run on the crop of alignedRect = landmarks.align() (min bbox of the 68 points padded by 20% of its width/height, '
        + 'centred); aligned.full uses face_landmark_68 (the library default, withFaceLandmarks()), aligned.tiny uses face_landmark_68_tiny (withFaceLandmarks(true))',
      expressions: `softmax probabilities, library names: ${EXPRESSIONS.join(', ')}`,
      'gender, genderProbability': "gender = 'male' when P(male) > 0.5 else 'female'; genderProbability = P(that gender)",
      angle: 'the library\'s roll/pitch/yaw estimate (integer degrees) from the landmarks relative to the crop',
      rounding: 'image-pixel coordinates to 4 decimals; other values to 7 significant digits (raw tiny grid: 6)',
    },
    images: IMAGES,
    timing,
    machine: { cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown'}`, platform: `${os.platform()} ${os.arch()}` },
  }, 3);
}

main().catch((err) => {
  process.stderr.write(`parity: ${err.stack || err}\n`);
  process.exit(1);
});
