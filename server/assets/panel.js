// The host panel: one WebSocket brings the latest k-anonymous frame five
// times a second; charts keep the last ten minutes, one point a second.
// Suppressed cells (fewer than k viewers) arrive as null and are shown as
// hidden, never as zero.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const HISTORY_POINTS = 600;
const CLASSES = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"];
const COLORS = ["#888", "#e0a400", "#3b6fd6", "#d63b3b", "#8a3bd6", "#3b9a5a", "#d67a3b"];
const AGE_LABELS = ["under 18", "18–24", "25–34", "35–44", "45–54", "55–64", "65+"];

const $ = (id) => document.getElementById(id);
const percent = (x) => (x == null ? "hidden" : `${(100 * x).toFixed(0)} %`);
const ms = (x) => (x == null ? "–" : `${x.toFixed(0)} ms`);

const history = { t: [], connected: [], viewers: [], attention: [], low: [], high: [], mix: CLASSES.map(() => []) };
let lastSecond = -1;
const charts = {};
// What the page received and drew, for the headless-browser tests (browser-tests/).
const testView = (window.parterrePanel = { frames: 0, last: null, charts });

function chart(id, series, range) {
  if (typeof uPlot === "undefined") return null;
  const element = $(id);
  const options = {
    width: element.clientWidth || 420,
    height: 180,
    scales: { x: { time: false }, y: range ? { range } : {} },
    axes: [{ label: "s" }, {}],
    series: [{ label: "t" }, ...series],
  };
  const data = [[], ...series.map(() => [])];
  return new uPlot(options, data, element);
}

function setupCharts() {
  charts.audience = chart("audience-chart", [
    { label: "connected", stroke: "#555" },
    { label: "seen (10 s)", stroke: "#3b6fd6" },
  ]);
  charts.attention = chart("attention-chart", [
    { label: "attention", stroke: "#3b6fd6", width: 2 },
    { label: "band low", stroke: "#9bb6ea", dash: [4, 4] },
    { label: "band high", stroke: "#9bb6ea", dash: [4, 4] },
  ], [0, 1]);
  charts.expression = chart("expression-chart", CLASSES.map((name, i) => ({ label: name, stroke: COLORS[i] })), [0, 1]);
}

function push(list, value) {
  list.push(value);
  if (list.length > HISTORY_POINTS) list.shift();
}

// One chart point a second, in the shape /panel/history sends.
function addPoint(point) {
  if (point.t_s <= lastSecond) return;
  lastSecond = point.t_s;
  push(history.t, point.t_s);
  push(history.connected, point.connected);
  push(history.viewers, point.viewers);
  push(history.attention, point.attention ? point.attention.estimate : null);
  push(history.low, point.attention ? point.attention.low : null);
  push(history.high, point.attention ? point.attention.high : null);
  CLASSES.forEach((_, i) => push(history.mix[i], point.expression ? point.expression[i] : null));
}

function redraw() {
  if (charts.audience) charts.audience.setData([history.t, history.connected, history.viewers]);
  if (charts.attention) charts.attention.setData([history.t, history.attention, history.low, history.high]);
  if (charts.expression) charts.expression.setData([history.t, ...history.mix]);
}

function record(frame) {
  const live = frame.ten_seconds;
  const before = lastSecond;
  addPoint({
    t_s: Math.floor(frame.t_ms / 1000),
    connected: frame.connected,
    viewers: live.viewers,
    attention: live.attention ? live.attention.band : null,
    expression: live.expression ? live.expression.map((band) => band.estimate) : null,
  });
  if (lastSecond !== before) redraw();
}

function cell(row, text, suppressed) {
  const td = document.createElement("td");
  td.textContent = text;
  if (suppressed) td.dataset.suppressed = "true";
  row.append(td);
}

function demographics(snapshot) {
  const body = $("demographics").querySelector("tbody");
  body.replaceChildren();
  const add = (label, value) => {
    const row = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    row.append(th);
    cell(row, value == null ? `hidden (< ${snapshot.k})` : percent(value), value == null);
    body.append(row);
  };
  snapshot.age_shares.forEach((band, i) => add(`age ${AGE_LABELS[i]}`, band ? band.estimate : null));
  add("appears female", snapshot.female_share ? snapshot.female_share.mean : null);
  add("glasses", snapshot.glasses_share ? snapshot.glasses_share.mean : null);
  add("beard", snapshot.beard_share ? snapshot.beard_share.mean : null);
}

function describeAction(action) {
  const [channel, value] = Object.entries(action)[0];
  return `${channel}: ${String(value).replace(/_/g, " ")}`;
}

function decisionLog(entries, rules) {
  const body = $("decision-log").querySelector("tbody");
  body.replaceChildren();
  for (const entry of [...entries].reverse()) {
    const d = entry.decision;
    const row = document.createElement("tr");
    cell(row, `${(d.at_ms / 1000).toFixed(0)} s`);
    cell(row, d.origin === "host" ? "host" : d.origin.rule);
    cell(row, describeAction(d.action));
    cell(row, d.card_id || "");
    const after = entry.after ? percent(entry.after.attention) : "…";
    cell(row, `${percent(entry.before.attention)} → ${after}`);
    body.append(row);
  }
  const select = $("override-rule");
  if (select.options.length !== rules.length) {
    select.replaceChildren(...rules.map((name) => new Option(name, name)));
  }
}

function privacy(frame) {
  const p = frame.minute.permanence;
  $("permanence-viewers").textContent = p.viewers;
  $("permanence-mean").textContent = ms(p.mean_of_means_ms);
  $("permanence-p99").textContent = ms(p.max_p99_ms);
  $("permanence-max").textContent = ms(p.max_ms);
  $("k-live").textContent = frame.ten_seconds.k;
  const s = frame.storage;
  $("storage-minutes").textContent = s.released_minutes;
  $("storage-epsilon").textContent = (s.per_minute_milli_epsilon / 1000).toFixed(3);
  $("storage-remaining").textContent = (s.remaining_milli_epsilon / 1000).toFixed(3);
  $("storage-stopped").textContent = s.stopped ? "(budget spent: storage stopped)" : "";
  $("rejected").textContent = Object.entries(frame.rejected)
    .filter(([, n]) => n > 0).map(([name, n]) => `${name.replace(/_/g, " ")}: ${n}`).join(" · ") || "none";
}

function show(frame) {
  testView.frames += 1;
  testView.last = frame;
  const live = frame.ten_seconds;
  $("webinar-line").textContent = `Webinar ${frame.webinar.id} · context: ${frame.webinar.context} · ${frame.ingested_total} messages`;
  $("connected").textContent = frame.connected;
  $("viewers-10s").textContent = live.viewers;
  $("face-share").textContent = percent(live.face_share && live.face_share.mean);
  $("attention-now").textContent = live.attention
    ? `${percent(live.attention.mean)} (${percent(live.attention.band.low)}–${percent(live.attention.band.high)})`
    : `hidden: fewer than ${live.k} viewers`;
  $("expression-state").textContent = live.expression
    ? CLASSES.map((name, i) => `${name} ${percent(live.expression[i].estimate)}`).join(" · ")
    : frame.webinar.context === "workplace" ? "not collected in a workplace" : `hidden: fewer than ${live.k} viewers`;
  $("expression-state").dataset.suppressed = live.expression ? "false" : "true";
  demographics(frame.minute);
  decisionLog(frame.decisions, frame.rules);
  privacy(frame);
  record(frame);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/panel/live?token=${encodeURIComponent(token)}`);
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.webinar) show(frame);
  };
  socket.onclose = () => {
    $("webinar-line").textContent = "Disconnected; retrying…";
    setTimeout(connect, 2000);
  };
}

async function override(command) {
  const response = await fetch("/panel/override", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(command),
  });
  $("override-result").textContent = response.ok ? "done" : await response.text();
}

$("override-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const action = JSON.parse($("override-action").value);
  override({ pin: { action, for_s: Number($("override-seconds").value) } });
});
$("override-block").addEventListener("click", () => {
  override({ block: { rule: $("override-rule").value, for_s: 300 } });
});
$("export-link").addEventListener("click", async (event) => {
  event.preventDefault();
  const response = await fetch("/panel/export.csv", { headers: { Authorization: `Bearer ${token}` } });
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = "parterre-report.csv";
  link.click();
  URL.revokeObjectURL(url);
});

async function loadHistory() {
  const response = await fetch("/panel/history", { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) return;
  for (const point of await response.json()) addPoint(point);
  redraw();
}

setupCharts();
loadHistory().finally(connect);
