// The viewer's wire format, checked from the outside: what a page may send
// on the viewer WebSocket, written independently of the Rust types
// (core/src/wire.rs, core/src/traits.rs) so the browser tests judge the
// page's traffic by the contract, not by the code under test.

/** The most bytes a valid message may take (core's MAX_TRAITS_JSON_BYTES). */
export const MAX_MESSAGE_BYTES = 640;
/** Expression classes, in core's order. */
const EXPRESSION_CLASSES = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"];
/** Optional trait fields whose value is a probability or share, 0..1. */
const UNIT_FIELDS = ["gender_female", "glasses", "beard", "attention", "quality"];
const TRAIT_FIELDS = new Set(["v", "face_present", "motion", "expression", "age_years", "head_pose", ...UNIT_FIELDS]);
const PERMANENCE_FIELDS = ["type", "v", "frames", "mean_ms", "p50_ms", "p99_ms", "max_ms", "over_budget"];

/** Throws `Error(reason)` unless `condition`. */
function check(condition, reason) {
  if (!condition) throw new Error(reason);
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

function checkRange(name, value, low, high) {
  check(
    isNumber(value) && value >= low && value <= high,
    `${name} = ${JSON.stringify(value)} is not a number in ${low}..${high}`,
  );
}

function checkKeys(name, object, allowed) {
  check(object !== null && typeof object === "object" && !Array.isArray(object), `${name} is not an object`);
  for (const key of Object.keys(object)) check(allowed.has(key), `${name} has an unknown field "${key}"`);
}

/** Checks the traits object of a traits message (AnonymousTraits.validate's rules, for every trait set). */
export function checkTraits(traits) {
  checkKeys("traits", traits, TRAIT_FIELDS);
  check(traits.v === 1, `traits.v = ${JSON.stringify(traits.v)} is not version 1`);
  check(typeof traits.face_present === "boolean", "traits.face_present is not a boolean");
  checkRange("traits.motion", traits.motion, 0, 1);
  const optional = Object.keys(traits).filter((key) => !["v", "face_present", "motion", "quality"].includes(key));
  check(traits.face_present || optional.length === 0, `traits without a face carry ${optional.join(", ")}`);
  if ("expression" in traits) {
    checkKeys("traits.expression", traits.expression, new Set(EXPRESSION_CLASSES));
    let sum = 0;
    for (const name of EXPRESSION_CLASSES) {
      checkRange(`traits.expression.${name}`, traits.expression[name], 0, 1);
      sum += traits.expression[name];
    }
    check(Math.abs(sum - 1) <= 0.02, `the expression probabilities sum to ${sum}, not 1`);
  }
  if ("age_years" in traits) checkRange("traits.age_years", traits.age_years, 0, 120);
  for (const name of UNIT_FIELDS) if (name in traits) checkRange(`traits.${name}`, traits[name], 0, 1);
  if ("head_pose" in traits) {
    const pose = traits.head_pose;
    checkKeys("traits.head_pose", pose, new Set(["yaw_deg", "pitch_deg", "roll_deg"]));
    checkRange("traits.head_pose.yaw_deg", pose.yaw_deg, -90, 90);
    checkRange("traits.head_pose.pitch_deg", pose.pitch_deg, -90, 90);
    checkRange("traits.head_pose.roll_deg", pose.roll_deg, -180, 180);
  }
}

/** Checks a permanence message: durations and counts only. */
function checkPermanence(message) {
  checkKeys("permanence", message, new Set(PERMANENCE_FIELDS));
  for (const key of PERMANENCE_FIELDS) check(key in message, `permanence lacks "${key}"`);
  check(message.v === 1, `permanence.v = ${JSON.stringify(message.v)} is not version 1`);
  for (const key of ["frames", "over_budget"]) {
    check(Number.isSafeInteger(message[key]) && message[key] >= 0, `permanence.${key} is not a count`);
  }
  check(message.over_budget <= message.frames, "permanence.over_budget exceeds its frames");
  for (const key of ["mean_ms", "p50_ms", "p99_ms", "max_ms"])
    checkRange(`permanence.${key}`, message[key], 0, 3_600_000);
}

/**
 * Parses one WebSocket frame a viewer sent and checks it is a `ViewerMessage` (traits or permanence) within
 * MAX_MESSAGE_BYTES; returns the parsed message, or throws an Error saying what is wrong.
 */
export function checkViewerMessage(payload) {
  check(typeof payload === "string", `a binary frame of ${payload?.length} bytes`);
  const bytes = Buffer.byteLength(payload, "utf8");
  check(bytes <= MAX_MESSAGE_BYTES, `${bytes} bytes, more than ${MAX_MESSAGE_BYTES}`);
  let message;
  try {
    message = JSON.parse(payload);
  } catch (error) {
    throw new Error(`not JSON: ${error.message}`);
  }
  if (message?.type === "traits") {
    checkKeys("the traits message", message, new Set(["type", "traits"]));
    checkTraits(message.traits);
  } else if (message?.type === "permanence") {
    checkPermanence(message);
  } else {
    throw new Error(`unknown message type ${JSON.stringify(message?.type)}`);
  }
  return message;
}
