//! The adapter's one error type. Every error crosses into JavaScript as a
//! `JsError` carrying this message, so the messages are written for the page.

use parterre_core::CoreError;
use parterre_vision::VisionError;

/// What can go wrong in the browser adapter.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The options JSON is malformed or out of range.
    #[error("bad analyzer options: {0}")]
    Options(String),
    /// The page passed a different number of weight files than `requiredModels` asked for.
    #[error("expected {expected} weight files (one per required model), got {actual}")]
    WeightCount {
        /// Files the options need.
        expected: usize,
        /// Files passed.
        actual: usize,
    },
    /// A weight file could not be loaded.
    #[error("model {stem}: {source}")]
    Weights {
        /// The model's file stem.
        stem: &'static str,
        /// Why loading failed.
        source: VisionError,
    },
    /// The frame pool refused (bad frame size, frame larger than the slot, ...).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The analysis failed for another reason than its frame's budget.
    #[error("analysis failed: {0}")]
    Vision(#[from] VisionError),
    /// A result or report could not be encoded (never expected).
    #[error("encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    /// `framePtr` found no free slot (never with one frame in flight at a time).
    #[error("no frame slot is free")]
    NoFreeSlot,
}
