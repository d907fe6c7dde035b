// Launches the system's headless Chromium (Debian's `chromium`, installed by
// `cargo xtask test` when missing) through playwright-core, which downloads
// no browser of its own. Shared by every browser test.
import { chromium } from "playwright-core";

/** The browser binary: xtask passes the one it found or installed. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/**
 * Starts headless Chromium with `args` added to the flags every test needs
 * (`--no-sandbox`: the tests run as root in containers, where the sandbox
 * cannot start). E.g. the fake-camera flags for the browser frontend.
 */
export function launchChromium(args = []) {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox", ...args] });
}
