//! The one error type of parterre-vision.

/// What can go wrong in the vision pipeline.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// A tensor operation or a weight lookup failed (a missing or misshapen
    /// tensor in the weights file shows up here, with its name).
    #[error("model: {0}")]
    Candle(#[from] candle_core::Error),

    /// The frame could not be read (expired, or refused by the pool).
    #[error(transparent)]
    Frame(#[from] parterre_core::CoreError),

    /// The frame's permanence budget ran out before the analysis finished:
    /// the frame is wiped and this stage and the ones after it did not run.
    #[error("permanence budget spent before the {stage} stage: the frame was wiped unanalyzed")]
    BudgetSpent {
        /// The stage that could not run.
        stage: &'static str,
    },

    /// An option outside what the models accept.
    #[error("invalid option: {0}")]
    InvalidOption(String),
}
