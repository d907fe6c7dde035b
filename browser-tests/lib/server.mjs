// Starts the real `parterre-server` binary (built by xtask, path in
// PARTERRE_SERVER_BIN) on an ephemeral loopback port with a known host
// token and an in-memory database, waits until it serves, and stops it.
// Tests talk to it exactly as a browser in the field would.
import { spawn } from "node:child_process";
import { once } from "node:events";

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** The line `serve` prints first once it listens: "Web Parterre server on http://ADDR". */
const LISTENING = /server on (http:\/\/\S+)/;

/**
 * Starts a server with `simulate` simulated viewers; `args` go to `serve`
 * as well. Resolves to `{ origin, token, panelUrl, log(), stop() }`, where
 * `stop()` sends SIGTERM (the server stores its minute and exits) and
 * resolves to the exit code.
 */
export async function startServer({ simulate = 0, token = "browser-test-host-token", args = [] } = {}) {
  const bin = process.env.PARTERRE_SERVER_BIN;
  if (!bin) throw new Error("PARTERRE_SERVER_BIN is not set: run the browser tests through `cargo xtask test`");
  const child = spawn(
    bin,
    ["serve", "--addr", "127.0.0.1:0", "--db", ":memory:", "--host-token", token, "--simulate", String(simulate), ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
  const log = () => stderr;
  const exited = once(child, "exit").then(([code, signal]) => code ?? signal);

  let origin;
  try {
    origin = await listeningOrigin(child, exited);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${error.message}\nserver stderr:\n${log()}`);
  }

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  return { origin, token, panelUrl: `${origin}/panel?token=${encodeURIComponent(token)}`, log, stop };
}

/** Reads stdout until the server prints its address, failing if it exits or takes too long. */
function listeningOrigin(child, exited) {
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`the server printed no address within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      stdout += chunk;
      const found = LISTENING.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    exited.then((status) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${status}) before listening`));
    });
  });
}
