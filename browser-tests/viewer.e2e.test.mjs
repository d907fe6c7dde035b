// The viewer's page in real headless Chromium with a fake camera playing the
// zoom video, against the real server (issue 7): consent comes first and
// nothing runs before it; once given, traits reach the server and the panel,
// and a host's decision shows on the page. Declining keeps the camera shut
// and still shows decisions; in a workplace no expression is ever sent.
// Screenshots go to target/browser-tests/.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launchWithCamera } from "./lib/camera.mjs";
import { saveScreenshot } from "./lib/page.mjs";
import { startServer } from "./lib/server.mjs";
import {
  accept,
  cardTitle,
  hostOverride,
  openViewer,
  panelWithViewers,
  sentFrames,
  sentTraits,
  viewerState,
  waitForCard,
  waitForResults,
  waitForState,
} from "./lib/viewer.mjs";
import { checkViewerMessage } from "./lib/wire.mjs";

/** How long a page waits on consent (or after declining) before the test checks nothing ran. */
const IDLE_MS = 1_500;
/** Traits go out twice a second: a face seen in the first frames is sent within this. */
const TRAITS_TIMEOUT_MS = 15_000;

let browser;
let general;
let workplace;

before(async () => {
  const started = await Promise.allSettled([
    launchWithCamera("zoom_640x480"),
    startServer(),
    startServer({ args: ["--context", "workplace"] }),
  ]);
  [browser, general, workplace] = started.map((result) => result.value);
  const failed = started.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
});

after(async () => {
  await browser?.close();
  const codes = await Promise.all([general?.stop(), workplace?.stop()]);
  assert.deepEqual(codes, [0, 0], `server exit codes; general log:\n${general?.log()}`);
});

/** Waits until the page has sent a traits message with a face in view; resolves to every frame sent so far. */
async function waitForFaceSent(traffic) {
  const deadline = Date.now() + TRAITS_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const frames = sentFrames(traffic);
    if (sentTraits(frames).some((traits) => traits.face_present)) return frames;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const traits = sentTraits(sentFrames(traffic));
  throw new Error(
    `no traits message with face_present within ${TRAITS_TIMEOUT_MS} ms (${traits.length} traits messages sent)`,
  );
}

/** Asserts every frame the page sent passes the schema; resolves to the traits sent. */
function checkedTraits(frames) {
  for (const [i, { payload }] of frames.entries()) {
    try {
      checkViewerMessage(payload);
    } catch (error) {
      assert.fail(`WebSocket frame ${i} breaks the viewer schema (${error.message}): ${String(payload).slice(0, 200)}`);
    }
  }
  return sentTraits(frames);
}

test("consent first, then traits reach the server and a host decision shows on the page", async () => {
  const { page, context, errors, traffic } = await openViewer(browser, general);
  await page.locator("#consent").waitFor({ state: "visible", timeout: 5_000 });
  await waitForState(page, "consent");
  assert.equal(
    await page.locator("input[name=trait][value=expression]").isEnabled(),
    true,
    "a general webinar offers expression",
  );
  await page.waitForTimeout(IDLE_MS);
  const waiting = await viewerState(page);
  assert.equal(waiting.observed.getUserMedia, 0, "getUserMedia calls before consent");
  assert.equal(waiting.observed.workers, 0, "workers started before consent");
  assert.equal(sentTraits(sentFrames(traffic)).length, 0, "traits sent before consent");
  await saveScreenshot(page, "viewer-consent");

  await accept(page);
  await waitForResults(page, 3);
  const frames = await waitForFaceSent(traffic);
  const traits = checkedTraits(frames);
  const running = await viewerState(page);
  assert.equal(running.observed.getUserMedia, 1, "getUserMedia calls after consent");
  // The negative controls of the workplace test: here expression and beard are computed and sent.
  assert.ok(
    traits.some((t) => "expression" in t),
    "a general webinar's traits carry expression",
  );
  assert.ok(
    traits.some((t) => "beard" in t),
    "a general webinar's traits carry beard",
  );
  await saveScreenshot(page, "viewer-running");

  // The server took them: the panel counts this viewer, refused nothing, and its audience chart moved.
  const { page: panel, frame } = await panelWithViewers(browser, general, 1);
  assert.ok(frame.connected >= 1, `connected viewers ${frame.connected}`);
  assert.deepEqual(
    Object.values(frame.rejected ?? {}).filter((n) => n > 0),
    [],
    `the server refused messages: ${JSON.stringify(frame.rejected)}`,
  );
  await panel.waitForFunction(() => window.parterrePanel.charts.audience.data[2].at(-1) >= 1, null, { timeout: 5_000 });
  await saveScreenshot(panel, "viewer-panel");
  await panel.close();

  const decision = await hostOverride(general, { pin: { action: { content: "deal" }, for_s: 60 } });
  assert.equal(decision.origin, "host");
  const title = await cardTitle(decision.card_id);
  await waitForCard(page, title);
  await saveScreenshot(page, "viewer-decision");
  assert.deepEqual(errors, []);
  await context.close();
});

test("declining keeps the camera shut and sends no traits, and decisions still show", async () => {
  const { page, context, errors, traffic } = await openViewer(browser, general);
  await page.click("#decline");
  await waitForState(page, "declined");
  const decision = await hostOverride(general, { pin: { action: { content: "faq" }, for_s: 60 } });
  await waitForCard(page, await cardTitle(decision.card_id));
  await page.waitForTimeout(IDLE_MS);
  const { observed } = await viewerState(page);
  assert.equal(observed.getUserMedia, 0, "getUserMedia calls after declining");
  assert.equal(observed.workers, 0, "workers started after declining");
  assert.equal(page.workers().length, 0, "workers alive after declining");
  const frames = sentFrames(traffic);
  assert.equal(traffic.sockets.length, 1, "the page still joined the webinar's WebSocket");
  assert.deepEqual(sentTraits(frames), [], "traits sent after declining");
  assert.deepEqual(
    frames.map(({ payload }) => payload),
    [],
    "nothing at all is sent after declining",
  );
  await saveScreenshot(page, "viewer-declined");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a workplace webinar offers no expression and never sends one; an unticked trait is not sent", async () => {
  const { page, context, errors, traffic } = await openViewer(browser, workplace);
  await waitForState(page, "consent");
  const expression = page.locator("input[name=trait][value=expression]");
  const offered = (await expression.count()) > 0 && (await expression.isVisible()) && (await expression.isEnabled());
  assert.equal(offered, false, "the workplace consent page offers an expression checkbox");
  // Negative control: the other traits are offered.
  assert.equal(await page.locator("input[name=trait][value=attention]").isVisible(), true, "attention is offered");
  await saveScreenshot(page, "viewer-workplace-consent");

  await accept(page, { untick: ["beard"] });
  await waitForResults(page, 3);
  await waitForFaceSent(traffic);
  await page.waitForTimeout(3_000);
  const traits = checkedTraits(sentFrames(traffic));
  assert.ok(traits.length >= 3, `${traits.length} traits messages sent`);
  assert.deepEqual(
    traits.filter((t) => "expression" in t),
    [],
    "traits with expression in a workplace",
  );
  assert.deepEqual(
    traits.filter((t) => "beard" in t),
    [],
    "traits with beard after it was unticked",
  );
  // The worker does not compute it either: its own result carries no expression.
  const { observed } = await viewerState(page);
  assert.ok(observed.lastTraits, "the worker reported traits");
  assert.equal("expression" in observed.lastTraits, false, "the worker's traits carry expression");
  assert.ok(
    traits.some((t) => "attention" in t),
    "a workplace still sends attention",
  );
  assert.deepEqual(errors, []);
  await context.close();
});
