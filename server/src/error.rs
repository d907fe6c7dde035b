//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Reading a file (config, policy, catalog) or binding a socket.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A config, policy or catalog file is not what it should be.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is invalid.
    #[error("invalid setting `{key}`: {reason}")]
    Setting {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The aggregate store.
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The policy or the catalog was refused by the decision engine.
    #[error(transparent)]
    Aggregate(#[from] parterre_aggregate::AggregateError),
    /// The webinar asked for does not exist in the store.
    #[error("no webinar `{0}` in the store")]
    NoWebinar(String),
    /// A WebSocket client (the simulated audience, the load test) failed.
    #[error("websocket client: {0}")]
    Client(String),
    /// A task of the server panicked or was cancelled.
    #[error("a server task failed: {0}")]
    Task(String),
}

impl ServerError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
