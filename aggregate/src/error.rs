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
    /// ε must be positive: zero would mean infinite noise.
    #[error("epsilon must be at least 0.001 (1 milli-epsilon)")]
    EpsilonZero,
    /// The webinar's privacy budget cannot pay for this release.
    #[error(
        "privacy budget exhausted: this release needs {requested_milli_epsilon} milli-epsilon, {remaining_milli_epsilon} remain"
    )]
    BudgetExhausted {
        /// ε the release asked for, in thousandths.
        requested_milli_epsilon: u32,
        /// ε left in the webinar's budget, in thousandths.
        remaining_milli_epsilon: u64,
    },
    /// The policy file is not valid TOML or does not have the policy's shape.
    #[error("policy file: {reason}")]
    PolicySyntax {
        /// The parser's message, with line and column.
        reason: String,
    },
    /// A policy rule is inconsistent.
    #[error("policy rule `{rule}`: {reason}")]
    PolicyRule {
        /// The rule's name.
        rule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host named a rule the policy does not have.
    #[error("no policy rule is named `{rule}`")]
    UnknownRule {
        /// The name given.
        rule: String,
    },
    /// A content action names a kind of card the catalog does not have.
    #[error("the catalog has no card of kind {kind:?}")]
    NoCard {
        /// The kind asked for.
        kind: crate::CardKind,
    },
    /// A content card is inconsistent.
    #[error("content card `{card}`: {reason}")]
    Catalog {
        /// The card's id.
        card: String,
        /// What is wrong with it.
        reason: String,
    },
}
