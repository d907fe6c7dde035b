// The reference pipeline the issue compares against: face-api's tiny face
// detector (input size 320 by default), 68-point landmarks, expression and
// age/gender, on tfjs's WASM backend (SIMD, one thread: no cross-origin
// isolation here, as in the viewer's worker).
// `window.faceApiReference.measure(n, inputSize)` times n analyses, each on a
// new camera frame.
import * as faceapi from "/face-api/dist/face-api.esm.js";

const DEFAULT_INPUT_SIZE_PX = 320;
/** Analyses before timing starts: the first ones compile kernels and allocate. */
const WARM_UP_FRAMES = 5;

async function load() {
  faceapi.tf.setWasmPaths("/tfjs-wasm/");
  if (!(await faceapi.tf.setBackend("wasm"))) throw new Error("tfjs refused the wasm backend");
  await faceapi.tf.ready();
  await Promise.all([
    faceapi.nets.tinyFaceDetector.loadFromUri("/face-api/model"),
    faceapi.nets.faceLandmark68Net.loadFromUri("/face-api/model"),
    faceapi.nets.faceExpressionNet.loadFromUri("/face-api/model"),
    faceapi.nets.ageGenderNet.loadFromUri("/face-api/model"),
  ]);
  const video = document.getElementById("camera");
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  return video;
}

/** Resolves at the next frame the video presents. */
function nextFrame(video) {
  return new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
}

/** Analyzes one frame; resolves to the faces found. */
function analyze(video, inputSize) {
  const options = new faceapi.TinyFaceDetectorOptions({ inputSize });
  return faceapi.detectAllFaces(video, options).withFaceLandmarks().withFaceExpressions().withAgeAndGender();
}

async function measure(video, frames, inputSize) {
  for (let i = 0; i < WARM_UP_FRAMES; i += 1) await analyze(video, inputSize);
  const times_ms = [];
  const faces = [];
  for (let i = 0; i < frames; i += 1) {
    await nextFrame(video);
    const start = performance.now();
    const found = await analyze(video, inputSize);
    times_ms.push(performance.now() - start);
    faces.push(found.length);
  }
  return {
    input_size_px: inputSize,
    times_ms,
    faces,
    backend: faceapi.tf.getBackend(),
    simd: await faceapi.tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
    threads: await faceapi.tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
    video_px: [video.videoWidth, video.videoHeight],
  };
}

const ready = load();
window.faceApiReference = {
  ready: ready.then(() => true),
  measure: async (frames, inputSize = DEFAULT_INPUT_SIZE_PX) => measure(await ready, frames, inputSize),
};
