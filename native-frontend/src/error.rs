//! The one error type of parterre-native's library.

/// What can go wrong in the native frontend.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// The frame lifecycle refused something.
    #[error(transparent)]
    Core(#[from] parterre_core::CoreError),

    /// A frame source failed.
    #[error("frame source: {0}")]
    Source(String),

    /// A runtime thread could not start or died.
    #[error("runtime: {0}")]
    Runtime(String),

    /// Writing the report failed.
    #[error("output: {0}")]
    Output(#[from] std::io::Error),

    /// A command-line value that cannot work.
    #[error("{0}")]
    InvalidArgument(String),
}
