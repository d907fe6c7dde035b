//! The one error type of parterre-native's library.

/// What can go wrong in the native frontend.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// The frame lifecycle refused something.
    #[error(transparent)]
    Core(#[from] parterre_core::CoreError),

    /// The analyzer could not be built or failed on a frame.
    #[error(transparent)]
    Vision(#[from] parterre_vision::VisionError),

    /// A frame source failed.
    #[error("frame source: {0}")]
    Source(String),

    /// A file could not be read as frames: corrupt, truncated, empty, too big
    /// or of a kind no source reads.
    #[error("cannot read {name}: {reason}")]
    Decode {
        /// The file.
        name: String,
        /// What is wrong, and what to do about it when something can be done.
        reason: String,
    },

    /// A camera could not be opened or stopped delivering frames.
    #[error("camera {device}: {reason}")]
    Camera {
        /// The device, e.g. `/dev/video0`.
        device: String,
        /// What went wrong, and what to do about it.
        reason: String,
    },

    /// An external program a source needs is not installed.
    #[error("`{tool}` is not installed: {hint}")]
    ToolMissing {
        /// The program, e.g. `ffmpeg`.
        tool: String,
        /// How to get on without it or install it.
        hint: String,
    },

    /// A runtime thread could not start or died.
    #[error("runtime: {0}")]
    Runtime(String),

    /// Writing the report failed.
    #[error("output: {0}")]
    Output(#[from] std::io::Error),

    /// The server connection failed: unreachable, refused or closed.
    #[error("server {url}: {reason}")]
    Server {
        /// The server's address.
        url: String,
        /// What went wrong, and what to do about it.
        reason: String,
    },

    /// A command-line value that cannot work.
    #[error("{0}")]
    InvalidArgument(String),
}
