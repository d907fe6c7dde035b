// The viewer page: consent first; on consent, a Web Worker analyzes camera
// frames in WebAssembly (/web/worker.js) and this page sends only the
// anonymous traits it returns, at most twice a second, plus the measured
// frame permanence every 10 s. Decisions from the server change the stage.
// Nothing is computed and the camera is not requested before "Start".

const TRAIT_NAMES = ["attention", "expression", "age", "gender", "glasses", "beard", "head_pose"];
// The AnonymousTraits fields each TraitSet switch governs; the rest are always sent.
const TRAIT_FIELDS = {
  attention: "attention",
  expression: "expression",
  age: "age_years",
  gender: "gender_female",
  glasses: "glasses",
  beard: "beard",
  head_pose: "head_pose",
};
const TRAITS_PERIOD_MS = 500;
const PERMANENCE_PERIOD_MS = 10_000;
const CANVAS_FRAME_MS = 1000 / 15;
const STOP_WAIT_MS = 2_000;
const SENT_WINDOW_MS = 60_000;
const MAX_CARDS = 5;

const $ = (id) => document.getElementById(id);

/** The test hook (see the browser frontend's contract). */
const viewer = { state: "consent", sent: [], results: 0, lastResult: null, permanence: null };
window.parterreViewer = viewer;

let webinar = null;
let socket = null;
let session = null; // the running analysis, if any
const sentLog = []; // {at_ms, bytes} of the last minute

function setStatus(text) {
  $("status").textContent = text;
}

function setState(state) {
  viewer.state = state;
  document.body.dataset.state = state;
  $("consent").hidden = state === "running" || state === "declined";
  $("running").hidden = state !== "running";
}

// --- The WebSocket: the only thing this page sends anything on. ---

function send(message) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  const text = JSON.stringify(message);
  socket.send(text);
  viewer.sent.push(text);
  sentLog.push({ at_ms: performance.now(), bytes: new TextEncoder().encode(text).length });
  if (message.type === "traits") $("sent-last").textContent = text;
  showSent();
  return true;
}

function showSent() {
  const since = performance.now() - SENT_WINDOW_MS;
  while (sentLog.length && sentLog[0].at_ms < since) sentLog.shift();
  $("sent-count").textContent = String(sentLog.length);
  $("sent-bytes").textContent = String(sentLog.reduce((sum, entry) => sum + entry.bytes, 0));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/viewer?webinar=${encodeURIComponent(webinar.id)}`);
  socket.onopen = () => setStatus(`Joined webinar ${webinar.id}.`);
  socket.onclose = (event) => {
    setStatus(`Disconnected (${event.code} ${event.reason || ""}). Reload to rejoin.`);
  };
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "decision") showDecision(message);
  };
}

// --- Decisions: cards, layout, effects. ---

function origin(decision) {
  return decision.origin === "host" ? "the host" : `rule “${decision.origin.rule}”`;
}

function showDecision(decision) {
  const [channel, value] = Object.entries(decision.action)[0];
  const item = document.createElement("article");
  item.className = `decision ${channel}`;
  const heading = document.createElement("h3");
  const body = document.createElement("p");
  if (channel === "content" && decision.card) {
    item.classList.add(`kind-${decision.card.kind}`);
    heading.textContent = decision.card.title;
    body.textContent = decision.card.body;
  } else {
    heading.textContent = `${channel}: ${String(value).replace(/_/g, " ")}`;
    body.textContent = `Decided by ${origin(decision)}.`;
  }
  item.dataset.value = value;
  item.append(heading, body);
  $("stage").prepend(item);
  while ($("stage").children.length > MAX_CARDS) $("stage").lastChild.remove();
  if (channel === "layout") applyLayout(value);
  if (channel === "effect") playEffect(value);
}

function applyLayout(value) {
  for (const name of [...document.body.classList]) {
    if (name.startsWith("layout-")) document.body.classList.remove(name);
  }
  document.body.classList.add(`layout-${value}`);
}

const EFFECT_TEXT = {
  poll: "Quick poll: the speaker has a question for you.",
  applause: "Applause!",
  highlight: "Key point on screen now.",
};

function playEffect(value) {
  const effect = $("effect");
  effect.className = "";
  effect.textContent = EFFECT_TEXT[value] || value;
  // Restart the animation even when the same effect plays twice.
  void effect.offsetWidth;
  effect.className = `effect effect-${value}`;
}

// --- Consent. ---

/** The TraitSet the viewer agreed to: enabled by the host and still ticked. */
function chosenTraits() {
  const chosen = {};
  for (const name of TRAIT_NAMES) {
    const box = document.querySelector(`input[name=trait][value=${name}]`);
    chosen[name] = Boolean(webinar.traits[name]) && Boolean(box && box.checked);
  }
  return chosen;
}

/** What every traits message carries, whatever the viewer ticked. */
const ALWAYS_SENT = ["v", "face_present", "motion", "quality"];

/**
 * The traits object restricted to what the viewer agreed to (defence in
 * depth): an allow-list, so a field the worker added by mistake is never sent.
 */
function allowedTraits(traits, chosen) {
  const kept = {};
  for (const field of ALWAYS_SENT) {
    if (field in traits) kept[field] = traits[field];
  }
  for (const [name, field] of Object.entries(TRAIT_FIELDS)) {
    if (chosen[name] && field in traits) kept[field] = traits[field];
  }
  return kept;
}

function showConsent() {
  for (const name of TRAIT_NAMES) {
    const item = document.querySelector(`li[data-trait=${name}]`);
    const enabled = Boolean(webinar.traits[name]);
    item.hidden = !enabled;
    item.querySelector("input").disabled = !enabled;
  }
  for (const id of ["budget-ms", "running-budget-ms"]) $(id).textContent = String(webinar.budget_ms);
  $("unavailable").hidden = webinar.analysis_available;
  $("accept").disabled = !webinar.analysis_available;
}

// --- Analysis. ---

function wantsCanvas() {
  return new URLSearchParams(location.search).get("capture") === "canvas";
}

async function accept() {
  if (session || !webinar || !webinar.analysis_available) return;
  const chosen = chosenTraits();
  const options = {
    traits: chosen,
    preset: webinar.context === "workplace" ? "workplace" : "general",
    budget_ms: webinar.budget_ms,
  };
  setStatus("Asking for the camera…");
  // One request at a time: a second click must not open a second camera.
  $("accept").disabled = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    setStatus(`No camera (${error.name}): nothing was computed. You can still watch.`);
    return;
  } finally {
    $("accept").disabled = false;
  }
  const worker = new Worker("/web/worker.js", { type: "module" });
  session = { worker, stream, chosen, latestTraits: null, timers: [], stopping: null, video: null };
  worker.onmessage = (event) => onWorkerMessage(event.data);
  worker.onerror = (event) => fail(`the analysis worker failed: ${event.message || "could not load"}`);
  const [track] = stream.getVideoTracks();
  let capture = "canvas";
  if (!wantsCanvas()) {
    try {
      worker.postMessage({ type: "start", options, capture: "track", track }, [track]);
      capture = "track";
    } catch {
      // Chromium cannot transfer a MediaStreamTrack, but it can transfer the
      // stream of VideoFrames its processor reads: the frames still reach
      // the worker without a copy on this page.
      if (typeof MediaStreamTrackProcessor !== "undefined") {
        const { readable } = new MediaStreamTrackProcessor({ track });
        worker.postMessage({ type: "start", options, capture: "track", readable }, [readable]);
        capture = "track";
      }
    }
  }
  if (capture === "canvas") {
    worker.postMessage({ type: "start", options, capture: "canvas" });
    startCanvasCapture(session, track);
  }
  session.timers.push(setInterval(sendTraits, TRAITS_PERIOD_MS));
  session.timers.push(setInterval(sendPermanence, PERMANENCE_PERIOD_MS));
  setState("running");
  // The button pressed is gone: keep keyboard users next to the way out.
  $("stop").focus();
  setStatus("Loading the on-device analysis…");
  $("privacy-state").textContent = `Camera on (${capture} capture). Frames stay on this device.`;
}

/** The canvas path: the page grabs at most 15 frames a second as ImageBitmaps and transfers them. */
function startCanvasCapture(current, track) {
  const video = $("camera");
  current.video = video;
  video.srcObject = new MediaStream([track]);
  let last_ms = -Infinity;
  const grab = async (now_ms) => {
    if (session !== current || current.stopping) return;
    if (current.ready && now_ms - last_ms >= CANVAS_FRAME_MS && video.readyState >= 2) {
      last_ms = now_ms;
      try {
        const bitmap = await createImageBitmap(video);
        if (session === current && !current.stopping) current.worker.postMessage({ type: "bitmap", bitmap }, [bitmap]);
        else bitmap.close();
      } catch {
        // A frame that could not be grabbed is simply skipped.
      }
    }
    schedule();
  };
  const schedule = () => {
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback((now_ms) => grab(now_ms));
    else setTimeout(() => grab(performance.now()), CANVAS_FRAME_MS);
  };
  video.play().then(schedule, (error) => fail(`the camera preview could not start: ${error}`));
}

function onWorkerMessage(message) {
  const current = session;
  if (!current) return;
  switch (message.type) {
    case "ready":
      current.ready = true;
      setStatus(
        `Analysis running on this device (${Math.round(message.weights_bytes / 1024)} KiB of weights, ` +
          `${Math.round(message.wasm_bytes / 1024)} KiB of WebAssembly).`,
      );
      break;
    case "result":
      viewer.results += 1;
      viewer.lastResult = message.result;
      // A skipped (unchanged) frame still carries the traits to send.
      if (message.result && message.result.traits) {
        current.latestTraits = message.result.traits;
      }
      showResult(message.result);
      break;
    case "permanence":
      viewer.permanence = message.message;
      showPermanence(message.message);
      break;
    case "stopped":
      finishStop(current);
      break;
    case "error":
      fail(message.message);
      break;
    default:
      break;
  }
}

function showResult(result) {
  if (!result) return;
  const faces = result.faces === 1 ? "1 face" : `${result.faces} faces`;
  const took = typeof result.total_ms === "number" ? `, ${result.total_ms.toFixed(0)} ms` : "";
  $("privacy-state").textContent = `Camera on. Last analysis: ${faces}${took}. Frames stay on this device.`;
}

function showPermanence(report) {
  if (!report) return;
  const ms = (value) => (typeof value === "number" ? `${value.toFixed(1)} ms` : "–");
  $("perm-frames").textContent = String(report.frames);
  $("perm-mean").textContent = ms(report.mean_ms);
  $("perm-p99").textContent = ms(report.p99_ms);
  $("perm-max").textContent = ms(report.max_ms);
  $("perm-over").textContent = String(report.over_budget);
}

function sendTraits() {
  if (!session || session.stopping || !session.latestTraits) return;
  const traits = allowedTraits(session.latestTraits, session.chosen);
  session.latestTraits = null;
  send({ type: "traits", traits });
}

function sendPermanence() {
  if (viewer.permanence) send(viewer.permanence);
}

/** Stops analysis: no more frames, the worker wipes everything, the camera is released. */
function stop(reason) {
  const current = session;
  if (!current || current.stopping) return;
  current.stopping = setTimeout(() => finishStop(current), STOP_WAIT_MS);
  for (const timer of current.timers) clearInterval(timer);
  releaseCamera(current);
  current.worker.postMessage({ type: "stop" });
  setStatus(reason || "Stopping: wiping every buffer…");
}

function releaseCamera(current) {
  for (const track of current.stream.getTracks()) track.stop();
  if (current.video) {
    current.video.pause();
    current.video.srcObject = null;
  }
}

function finishStop(current) {
  if (session !== current) return;
  clearTimeout(current.stopping);
  for (const timer of current.timers) clearInterval(timer);
  releaseCamera(current);
  // Ends the transferred track with the worker, whatever state it was in.
  current.worker.terminate();
  session = null;
  sendPermanence();
  setState("stopped");
  setStatus("Analysis stopped; every frame buffer was wiped. You can start again at any time.");
  $("privacy-state").textContent = "Camera off. Nothing is computed or sent.";
}

function fail(message) {
  if (!session) {
    setStatus(`Analysis failed: ${message}`);
    return;
  }
  stop(`Analysis failed: ${message}. Stopping.`);
}

function decline() {
  if (session) return;
  setState("declined");
  setStatus("You are watching without analysis: your camera is not used and nothing is sent.");
}

// --- Page life: hiding or leaving the page stops (and wipes) everything. ---

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") stop("Page hidden: analysis stopped and buffers wiped.");
});
window.addEventListener("pagehide", () => stop("Page closed: analysis stopped and buffers wiped."));

async function main() {
  setState("consent");
  $("accept").addEventListener("click", () => {
    accept().catch((error) => fail(String(error)));
  });
  $("decline").addEventListener("click", decline);
  $("stop").addEventListener("click", () => stop());
  // The last minute's figures age out even when nothing is being sent.
  setInterval(showSent, 1_000);
  const response = await fetch("/webinar", { cache: "no-store" });
  webinar = await response.json();
  showConsent();
  connect();
}

main().catch((error) => setStatus(`Could not join: ${error}`));
