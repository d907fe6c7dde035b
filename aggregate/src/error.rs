//! The crate's one error type.

/// What can go wrong when configuring aggregation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateError {
    /// A k-anonymity threshold below its floor: thresholds only go up.
    #[error("k = {requested} is below the {purpose} floor of {floor}: k-anonymity can only be configured upward")]
    KBelowFloor {
        /// The k that was asked for.
        requested: u64,
        /// The lowest k allowed for this purpose.
        floor: u64,
        /// "live" or "export".
        purpose: &'static str,
    },
    /// A window spans 1 to [`crate::Window::MAX_LENGTH_S`] 1 s buckets.
    #[error("a window of {length_s} s is not allowed: it must be 1 to 3600 s long")]
    WindowLength {
        /// The length asked for.
        length_s: u64,
    },
}
