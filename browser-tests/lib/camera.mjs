// Chromium's fake camera: the browser plays a Y4M test video (made by
// `cargo xtask fixtures`) as if it were the viewer's webcam, and grants the
// permission prompt by itself. One browser per video: the flag is global.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { launchChromium } from "./chromium.mjs";

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The test videos' folder: xtask passes it; by default `fixtures-video/` of the project. */
export const FIXTURES_VIDEO = process.env.PARTERRE_FIXTURES_VIDEO || path.join(PROJECT_ROOT, "fixtures-video");

/** The path of the fixture video `name` (e.g. `zoom_640x480`). */
export function videoPath(name) {
  return path.join(FIXTURES_VIDEO, `${name}.y4m`);
}

/** Starts headless Chromium whose camera plays the fixture video `name`. */
export function launchWithCamera(name) {
  return launchChromium([
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-video-capture=${videoPath(name)}`,
  ]);
}
