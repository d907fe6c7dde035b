//! The panel's third-party browser code (uPlot, pinned in
//! `server/package-lock.json`): installed with `npm ci` into the git-ignored
//! `server/node_modules`, from where the server's build script embeds it.
//! Quick when the installed packages match the lockfile.

use std::path::Path;

use anyhow::Result;

use crate::parity::{check_node, ensure_packages};

/// The server crate, relative to the project root.
const SERVER_DIR: &str = "server";

/// Installs the server's npm packages unless they are current.
pub fn ensure() -> Result<()> {
    check_node()?;
    ensure_packages(Path::new(SERVER_DIR))
}
