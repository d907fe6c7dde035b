// Page helpers every browser test needs: collecting the page's console
// errors (a test asserts there are none) and saving screenshots where the
// test run keeps its output.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Where screenshots go: `target/browser-tests/` unless xtask says otherwise. */
export const OUTPUT_DIR = process.env.PARTERRE_BROWSER_OUT || path.join(PROJECT_ROOT, "target", "browser-tests");

/** Starts collecting `page`'s console errors and uncaught exceptions; returns the live list. */
export function collectConsoleErrors(page) {
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

/** Saves a full-page screenshot as `OUTPUT_DIR/name.png`; returns its path. */
export async function saveScreenshot(page, name) {
  await mkdir(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
