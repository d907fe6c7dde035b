//! The webinar: its id, its deployment context (which decides the traits it
//! may receive) and when it was created. One per server for now; the struct
//! is what more will be keyed by.

use std::time::{SystemTime, UNIX_EPOCH};

use parterre_core::TraitSet;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Where the webinar is held: decides which traits viewers may send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// Any public webinar: every trait.
    #[default]
    General,
    /// A workplace or education: no expression (EU AI Act, art. 5).
    Workplace,
}

impl Context {
    /// The traits viewers may send in this context.
    pub fn trait_set(self) -> TraitSet {
        match self {
            Self::General => TraitSet::ALL,
            Self::Workplace => TraitSet::WORKPLACE,
        }
    }

    /// The name used in the store and the panel.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Workplace => "workplace",
        }
    }
}

/// One webinar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webinar {
    /// Random, 16 hex digits: names the webinar, says nothing about anyone.
    pub id: String,
    /// The deployment context the host declared.
    pub context: Context,
    /// Seconds since the Unix epoch at creation.
    pub created_unix_s: u64,
}

impl Webinar {
    /// A new webinar in `context`, created now.
    pub fn new(context: Context) -> Self {
        let created_unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Self {
            id: format!("{:016x}", rand::rng().next_u64()),
            context,
            created_unix_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workplace_forbids_expression_and_nothing_else() {
        assert_eq!(Context::Workplace.trait_set(), TraitSet::WORKPLACE);
        assert!(!Context::Workplace.trait_set().expression);
        assert!(Context::General.trait_set().expression);
        let a = Webinar::new(Context::General);
        let b = Webinar::new(Context::General);
        assert_eq!(a.id.len(), 16);
        assert_ne!(a.id, b.id);
    }
}
