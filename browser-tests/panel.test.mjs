// The host panel in real headless Chromium, against the real server and its
// simulated audience (issue 6): it loads (and refuses a missing token),
// charts follow the audience, cells from fewer than k = 5 viewers show as
// suppressed, and a host override reaches the decision log and the viewers.
// Screenshots go to target/browser-tests/.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launchChromium } from "./lib/chromium.mjs";
import { collectConsoleErrors, saveScreenshot } from "./lib/page.mjs";
import { startServer } from "./lib/server.mjs";

/** The audiences: above the live k = 5, and below it. */
const CROWD = 20;
const FEW = 3;
/** The simulated viewers start over 10 s, one message every 0.5 s each: all are in after ~11 s. */
const RAMP_TIMEOUT_MS = 25_000;
const PANEL_IDS = ["audience-chart", "attention-chart", "expression-chart", "demographics", "decision-log", "override-form", "privacy-box"];

let browser;
let crowd;
let few;

before(async () => {
  // Both servers start at once so their audiences ramp up in parallel.
  const started = await Promise.allSettled([
    launchChromium(),
    startServer({ simulate: CROWD }),
    startServer({ simulate: FEW }),
  ]);
  // Keep whatever did start, so `after` stops it even when something else failed to.
  [browser, crowd, few] = started.map((result) => result.value);
  const failed = started.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
});

after(async () => {
  await browser?.close();
  const codes = await Promise.all([crowd?.stop(), few?.stop()]);
  // A clean shutdown (SIGTERM stores the minute, then exit 0) is part of the contract.
  assert.deepEqual(codes, [0, 0], `server exit codes; crowd log:\n${crowd?.log()}`);
});

/** Opens the panel of `server` in a new page; resolves to `{ page, errors, status }`. */
async function openPanel(server) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = collectConsoleErrors(page);
  const response = await page.goto(server.panelUrl);
  return { page, errors, status: response.status() };
}

/** Waits until the panel's latest frame has every simulated viewer in, connected and seen in the last 10 s. */
function waitForAudience(page, viewers) {
  return page.waitForFunction(
    (n) => {
      const last = window.parterrePanel?.last;
      return last && last.connected === n && last.ten_seconds.viewers === n && last.minute.viewers >= n;
    },
    viewers,
    { timeout: RAMP_TIMEOUT_MS, polling: 200 },
  );
}

test("the panel loads with the host token and is refused without it", async () => {
  const { page, errors, status } = await openPanel(crowd);
  assert.equal(status, 200);
  assert.equal(await page.title(), "Web Parterre — host panel");
  for (const id of PANEL_IDS) {
    assert.equal(await page.locator(`#${id}`).count(), 1, `#${id} present`);
  }
  // The live feed connects: the first frame names the webinar.
  await page.waitForFunction(() => window.parterrePanel.frames > 0, null, { timeout: 5_000 });
  assert.match(await page.locator("#webinar-line").textContent(), /^Webinar \S+ · context: /);
  // The charting library is embedded: a chart is drawn, not the "not installed" notice.
  assert.equal(await page.locator("#charts-missing").isHidden(), true);
  assert.equal(await page.locator("#audience-chart canvas").count(), 1);
  await saveScreenshot(page, "panel-loaded");
  assert.deepEqual(errors, []);
  await page.close();

  const stranger = await browser.newPage();
  const refused = await stranger.goto(`${crowd.origin}/panel`);
  assert.equal(refused.status(), 401);
  assert.equal(await stranger.locator("#override-form").count(), 0);
  const wrongToken = await stranger.goto(`${crowd.origin}/panel?token=not-the-token`);
  assert.equal(wrongToken.status(), 401);
  await saveScreenshot(stranger, "panel-refused");
  await stranger.close();
});

test("the charts follow the simulated audience", async () => {
  const { page, errors } = await openPanel(crowd);
  await waitForAudience(page, CROWD);
  const audience = () => page.evaluate(() => window.parterrePanel.charts.audience.data.map((series) => [...series]));
  const first = await audience();
  await page.waitForTimeout(3_000);
  const [t, connected, seen] = await audience();
  // One point a second: at least two more after 3 s.
  assert.ok(t.length >= first[0].length + 2, `points grew from ${first[0].length} to ${t.length}`);
  assert.equal(connected.at(-1), CROWD);
  assert.ok(seen.at(-1) > 0 && seen.at(-1) <= CROWD, `seen ${seen.at(-1)} counts the simulated viewers`);
  assert.equal(await page.locator("#connected").textContent(), String(CROWD));
  // The live figure dips for a moment at each second boundary (see the known issue below): wait for a frame
  // between dips rather than read whichever frame is current.
  await page.waitForFunction((n) => document.getElementById("viewers-10s").textContent === String(n), CROWD, {
    timeout: 3_000,
    polling: 50,
  });
  const attention = await page.evaluate(() => window.parterrePanel.charts.attention.data[1].at(-1));
  assert.ok(attention > 0 && attention < 1, `attention ${attention} is a share`);
  await saveScreenshot(page, "panel-charts");
  assert.deepEqual(errors, []);
  await page.close();
});

// The 10 s window reads complete seconds only, so a viewer counted again in a new period never leaves it: the
// chart's seen-in-10-s line equals the audience at every second (it once dipped at each second boundary).
test("the chart's seen-in-10-s line equals the simulated audience", async () => {
  const { page } = await openPanel(crowd);
  await waitForAudience(page, CROWD);
  await page.waitForTimeout(2_000);
  const seen = await page.evaluate(() => window.parterrePanel.charts.audience.data[2].at(-1));
  await page.close();
  assert.equal(seen, CROWD);
});

/** The demographics table's rows as `{ label, text, suppressed }`. */
function demographics(page) {
  return page.$$eval("#demographics tr", (rows) =>
    rows.map((row) => ({
      label: row.querySelector("th").textContent,
      text: row.querySelector("td").textContent,
      suppressed: row.querySelector("td").dataset.suppressed === "true",
    })),
  );
}

test("cells from fewer than k viewers show as suppressed, and from more do not", async () => {
  const { page: small, errors } = await openPanel(few);
  await waitForAudience(small, FEW);
  const hidden = await demographics(small);
  assert.equal(hidden.length, 10, "seven age rows, female, glasses, beard");
  for (const row of hidden) {
    assert.deepEqual([row.suppressed, row.text], [true, "hidden (< 5)"], row.label);
  }
  assert.equal(await small.locator("#expression-state").getAttribute("data-suppressed"), "true");
  await saveScreenshot(small, "panel-suppressed-3-viewers");
  assert.deepEqual(errors, []);
  await small.close();

  // Negative control: among 20 simulated viewers at least 5 appear female and 5 not, 5 wear glasses and 5 not,
  // so these shares are shown. (Age buckets and beard may hold fewer than 5 of the 20: they may stay hidden.)
  const { page: large } = await openPanel(crowd);
  await waitForAudience(large, CROWD);
  const shown = (await demographics(large)).filter((row) => ["appears female", "glasses"].includes(row.label));
  assert.deepEqual(
    shown.map((row) => [row.label, row.suppressed]),
    [["appears female", false], ["glasses", false]],
  );
  for (const row of shown) assert.match(row.text, /^\d+ %$/, row.label);
  assert.equal(await large.locator("#expression-state").getAttribute("data-suppressed"), "false");
  await saveScreenshot(large, "panel-shown-20-viewers");
  await large.close();
});

test("a host override shows in the decision log and reaches the viewers", async () => {
  const { page, errors } = await openPanel(crowd);
  await page.waitForFunction(() => window.parterrePanel.frames > 0, null, { timeout: 5_000 });
  const webinar = await page.evaluate(() => window.parterrePanel.last.webinar.id);

  // A viewer's page, listening on its WebSocket as the real viewer page does.
  const viewer = await browser.newPage();
  await viewer.goto(`${crowd.origin}/`);
  await viewer.evaluate((url) => {
    window.received = [];
    window.socket = new WebSocket(url);
    window.socket.onmessage = (event) => window.received.push(JSON.parse(event.data));
    return new Promise((resolve, reject) => {
      window.socket.onopen = resolve;
      window.socket.onerror = reject;
    });
  }, `${crowd.origin.replace(/^http/, "ws")}/ws/viewer?webinar=${encodeURIComponent(webinar)}`);

  await page.selectOption("#override-action", '{"layout":"slides_focus"}');
  await page.fill("#override-seconds", "60");
  await page.click("#override-pin");
  await page.locator("#override-result", { hasText: "done" }).waitFor({ timeout: 5_000 });
  const row = page.locator("#decision-log tbody tr", { hasText: "layout: slides focus" });
  await row.first().waitFor({ timeout: 5_000 });
  const cells = await row.first().locator("td").allTextContents();
  assert.equal(cells[1], "host");
  assert.equal(cells[2], "layout: slides focus");
  await saveScreenshot(page, "panel-override");

  await viewer.waitForFunction(() => window.received.some((m) => m.type === "decision" && m.origin === "host"), null, { timeout: 5_000 });
  const decisions = await viewer.evaluate(() => window.received.filter((m) => m.type === "decision" && m.origin === "host"));
  assert.deepEqual(
    decisions.map((d) => [d.origin, d.action]),
    [["host", { layout: "slides_focus" }]],
  );
  assert.deepEqual(errors, []);
  await viewer.close();
  await page.close();
});
