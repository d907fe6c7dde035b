// The browser tests judge the viewer's WebSocket traffic with lib/wire.mjs;
// this checks that judge against the messages core's own tests label valid
// or invalid (core/fixtures/trait-messages.json), so a lenient checker
// cannot pass a leaking page.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

import { checkViewerMessage, MAX_MESSAGE_BYTES } from "./lib/wire.mjs";

const CASES = JSON.parse(await readFile(new URL("../core/fixtures/trait-messages.json", import.meta.url), "utf8"));

/** Whether the checker accepts `message` sent as a traits message. */
function accepts(traits) {
  try {
    checkViewerMessage(JSON.stringify({ type: "traits", traits }));
    return true;
  } catch {
    return false;
  }
}

test("the traits checker agrees with core's labelled messages", () => {
  assert.ok(CASES.length >= 10, "core's fixture has its cases");
  // Core judges workplace cases against the workplace trait set, which the page-independent checker does not
  // know: the workplace test asserts "no expression" itself. Every other case must be judged alike.
  for (const { name, valid, message } of CASES.filter((c) => !c.workplace)) {
    assert.equal(accepts(message), valid, name);
  }
});

test("the checker refuses strangers and accepts permanence reports", () => {
  const permanence = {
    type: "permanence",
    v: 1,
    frames: 12,
    mean_ms: 21.5,
    p50_ms: 20,
    p99_ms: 40,
    max_ms: 41,
    over_budget: 1,
  };
  assert.equal(checkViewerMessage(JSON.stringify(permanence)).frames, 12);
  const refused = {
    "an envelope field": JSON.stringify({
      type: "traits",
      traits: { v: 1, face_present: false, motion: 0 },
      name: "Ann",
    }),
    "an unknown type": JSON.stringify({ type: "selfie", pixels: [1, 2, 3] }),
    "a permanence field": JSON.stringify({ ...permanence, frame: [0, 0, 0] }),
    "a missing permanence figure": JSON.stringify({ ...permanence, max_ms: undefined }),
    "more over budget than frames": JSON.stringify({ ...permanence, over_budget: 13 }),
    "not JSON": "PARTERRE-CANARY!",
    "too long": JSON.stringify({ type: "traits", traits: { v: 1, face_present: false, motion: 0 } }).padEnd(
      MAX_MESSAGE_BYTES + 1,
    ),
  };
  for (const [name, payload] of Object.entries(refused)) {
    assert.throws(() => checkViewerMessage(payload), Error, name);
  }
  assert.throws(() => checkViewerMessage(Buffer.from("frame")), /binary/);
});
