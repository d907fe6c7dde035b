// Driving the viewer page (served at `/`) as a viewer would, with the
// observation a test needs: every request and WebSocket frame the page
// sends, the calls to getUserMedia, and the worker's messages, all seen from
// outside the page's own code (DevTools protocol events, and init scripts
// that wrap browser APIs before the page runs).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import { collectConsoleErrors } from "./page.mjs";

/** How long the worker may take to fetch and compile the wasm and the weights. */
export const READY_TIMEOUT_MS = 30_000;

/**
 * Runs in the page before its own scripts: counts getUserMedia calls and workers, and records the messages the
 * page's workers post back (counts by type; each result's timings, settings and memory size; the last traits),
 * so a test reads them whatever the page keeps. Both wrappers pass everything through unchanged, except that
 * with `holdWorkers` a worker's `terminate()` does nothing: the worker lives on, so a test can still read its
 * memory after the page let it go (what a terminated worker left in freed memory is beyond any test; a held one
 * shows what stop wiped).
 */
function observePage({ holdWorkers }) {
  const observed = {
    getUserMedia: 0,
    workers: 0,
    messages: {},
    results: [],
    lastTraits: null,
  };
  window.parterreObserved = observed;
  const devices = navigator.mediaDevices;
  if (devices) {
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (...args) => {
      observed.getUserMedia += 1;
      return getUserMedia(...args);
    };
  }
  const PageWorker = window.Worker;
  window.Worker = class extends PageWorker {
    constructor(...args) {
      super(...args);
      observed.workers += 1;
      this.addEventListener("message", ({ data }) => {
        const type = data?.type ?? "untyped";
        observed.messages[type] = (observed.messages[type] ?? 0) + 1;
        if (type === "result") {
          const { total_ms, skipped, faces, settings, timing_ms, traits } = data.result ?? {};
          observed.results.push({ total_ms, skipped, faces, settings, timing_ms, memory_bytes: data.memory_bytes });
          if (traits) observed.lastTraits = traits;
        }
      });
    }

    terminate() {
      if (!holdWorkers) super.terminate();
    }
  };
}

/**
 * Opens the viewer page of `server` (with `query`, e.g. "?capture=canvas") in a new context of `browser`.
 * Resolves to `{ page, context, errors, traffic }`; `traffic` logs every request
 * (`{ at_ms, method, url, postData }`, the worker's included) and every WebSocket
 * (`{ url, sent, received }`, each frame as `{ at_ms, payload }`) from the first byte on, and `downloads`,
 * promises of `{ url, bytes }` (response body sizes) of the finished requests.
 * `holdWorkers`: see observePage.
 */
export async function openViewer(browser, server, { query = "", holdWorkers = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(observePage, { holdWorkers });
  const page = await context.newPage();
  const errors = collectConsoleErrors(page);
  const traffic = { requests: [], sockets: [], downloads: [] };
  page.on("request", (request) => {
    traffic.requests.push({
      at_ms: Date.now(),
      method: request.method(),
      url: request.url(),
      postData: request.postDataBuffer(),
    });
  });
  page.on("requestfinished", (request) => {
    const sizes = request.sizes().then(({ responseBodySize }) => ({ url: request.url(), bytes: responseBodySize }));
    traffic.downloads.push(sizes.catch(() => ({ url: request.url(), bytes: 0 })));
  });
  page.on("websocket", (socket) => {
    const log = { url: socket.url(), sent: [], received: [] };
    traffic.sockets.push(log);
    socket.on("framesent", ({ payload }) => log.sent.push({ at_ms: Date.now(), payload }));
    socket.on("framereceived", ({ payload }) => log.received.push({ at_ms: Date.now(), payload }));
  });
  const response = await page.goto(`${server.origin}/${query}`);
  assert.equal(response.status(), 200, `GET /${query}`);
  return { page, context, errors, traffic };
}

/** The page's test hook, `window.parterreViewer`, and what the init script observed. */
export function viewerState(page) {
  return page.evaluate(() => ({
    state: window.parterreViewer?.state,
    results: window.parterreViewer?.results ?? 0,
    observed: window.parterreObserved,
  }));
}

/** Waits until `window.parterreViewer.state` is `state`. */
export async function waitForState(page, state, timeout = 10_000) {
  try {
    await page.waitForFunction((s) => window.parterreViewer?.state === s, state, { timeout, polling: 100 });
  } catch {
    const now = await page.evaluate(() => window.parterreViewer?.state);
    throw new Error(`the viewer page did not reach state "${state}" within ${timeout} ms (state: ${now})`);
  }
}

/** Unticks the trait checkboxes named in `untick`, accepts, and waits until the page analyzes. */
export async function accept(page, { untick = [] } = {}) {
  for (const trait of untick) await page.uncheck(`input[name=trait][value=${trait}]`);
  const button = page.locator("#accept");
  await page
    .waitForFunction(() => !document.getElementById("accept")?.disabled, null, { timeout: 10_000 })
    .catch(async () => {
      const webinar = await page.evaluate(() => fetch("/webinar").then((r) => r.json()));
      throw new Error(
        `#accept stays disabled: the server offers no analysis (is target/web built?): /webinar = ${JSON.stringify(webinar)}`,
      );
    });
  await button.click();
  await waitForState(page, "running");
}

/** Waits until the worker has sent `count` results (`parterreObserved.results`); resolves to them. */
export async function waitForResults(page, count, timeout = READY_TIMEOUT_MS) {
  try {
    await page.waitForFunction((n) => window.parterreObserved.results.length >= n, count, { timeout, polling: 100 });
  } catch {
    const seen = await page.evaluate(() => ({
      results: window.parterreObserved.results.length,
      messages: window.parterreObserved.messages,
      state: window.parterreViewer?.state,
    }));
    throw new Error(`fewer than ${count} results within ${timeout} ms: ${JSON.stringify(seen)}`);
  }
  return page.evaluate(() => window.parterreObserved.results);
}

/** The page's analysis worker, once its wasm memory exists (`self.parterre.memory`). */
export async function analysisWorker(page, timeout = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const worker of page.workers()) {
      const ready = await worker.evaluate(() => self.parterre?.memory instanceof WebAssembly.Memory).catch(() => false);
      if (ready) return worker;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no worker with self.parterre.memory within ${timeout} ms (workers: ${page.workers().length})`);
}

/** Clicks stop and waits until the page says it stopped. */
export async function stop(page) {
  await page.click("#stop");
  await waitForState(page, "stopped");
}

/** What `server` tells a viewer page about its webinar (`GET /webinar`: id, context, traits, budget_ms, ...). */
export async function webinarOf(server) {
  return (await fetch(`${server.origin}/webinar`)).json();
}

/** Sends a host override (`HostOverride` JSON) as the panel does; resolves to the decision it made. */
export async function hostOverride(server, command) {
  const response = await fetch(`${server.origin}/panel/override?token=${encodeURIComponent(server.token)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(command),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `POST /panel/override: ${text}`);
  return JSON.parse(text).decision;
}

/** Waits until `#stage` shows a decision card holding `text`. */
export async function waitForCard(page, text, timeout = 5_000) {
  const card = page.locator("#stage article.decision", { hasText: text });
  try {
    await card.first().waitFor({ timeout });
  } catch {
    const stage = await page
      .locator("#stage")
      .innerText()
      .catch(() => "(no #stage)");
    throw new Error(`no decision card with "${text}" in #stage within ${timeout} ms; #stage holds: ${stage}`);
  }
}

/** Every frame (`{ at_ms, payload }`) the page sent on its viewer WebSocket(s), as the DevTools protocol saw it. */
export function sentFrames(traffic) {
  return traffic.sockets
    .filter((socket) => new URL(socket.url).pathname === "/ws/viewer")
    .flatMap((socket) => socket.sent);
}

/** The traits messages among `frames`, parsed (frames that are not JSON are left to the schema checks). */
export function sentTraits(frames) {
  return frames.flatMap(({ payload }) => {
    try {
      const message = JSON.parse(payload);
      return message?.type === "traits" ? [message.traits] : [];
    } catch {
      return [];
    }
  });
}

/** The server flags that serve the negative-control web build (frame wiping switched off). */
export function negativeControlArgs() {
  const dir =
    process.env.PARTERRE_WEB_DIR_NEGATIVE || new URL("../../target/web-negative-control", import.meta.url).pathname;
  return ["--web-dir", dir];
}

/**
 * Opens the host panel of `server` and waits until its live frame counts `viewers` viewers seen in the last
 * 10 s, with traits ingested; resolves to `{ page, frame }`.
 */
export async function panelWithViewers(browser, server, viewers, timeout = 15_000) {
  const page = await browser.newPage();
  await page.goto(server.panelUrl);
  try {
    const handle = await page.waitForFunction(
      (n) => {
        const last = window.parterrePanel?.last;
        return last && last.ten_seconds.viewers >= n && last.ingested_total > 0 ? last : null;
      },
      viewers,
      { timeout, polling: 200 },
    );
    return { page, frame: await handle.jsonValue() };
  } catch {
    const last = await page.evaluate(() => window.parterrePanel?.last ?? null);
    await page.close();
    const summary = last && {
      connected: last.connected,
      ingested_total: last.ingested_total,
      rejected: last.rejected,
      viewers: last.ten_seconds?.viewers,
    };
    throw new Error(
      `the panel did not show ${viewers} viewer(s) with traits within ${timeout} ms; last frame: ${JSON.stringify(summary)}`,
    );
  }
}

/** The title of card `id` in the server's default catalog (server/assets/default-catalog.toml). */
export async function cardTitle(id) {
  const toml = await readFile(new URL("../../server/assets/default-catalog.toml", import.meta.url), "utf8");
  const card = toml.split("[[card]]").find((table) => table.includes(`id = "${id}"`));
  const title = card && /^title = "((?:[^"\\]|\\.)*)"$/m.exec(card);
  assert.ok(title, `card ${id} has a title in the default catalog`);
  return JSON.parse(`"${title[1]}"`);
}
