//! The privacy budget of one webinar: the total ε any one viewer's data may
//! cost over all releases, spent release by release and never refilled.
//!
//! Releases compose (basic composition): a viewer present in releases that
//! were ε₁-, ε₂-, … differentially private is protected at ε₁ + ε₂ + …, so
//! the budget is the bound per viewer per webinar as long as every release
//! of that webinar's data is paid from it.

use serde::{Deserialize, Serialize};

use crate::{AggregateError, noise::Epsilon};

/// ε left to spend on one webinar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyBudget {
    total: Epsilon,
    spent_milli: u64,
}

impl PrivacyBudget {
    /// A fresh budget of `total`.
    pub fn new(total: Epsilon) -> Self {
        Self { total, spent_milli: 0 }
    }

    /// ε still available, in thousandths.
    pub fn remaining_milli(&self) -> u64 {
        u64::from(self.total.milli()).saturating_sub(self.spent_milli)
    }

    /// Pays `epsilon` for one release, or refuses without spending anything.
    pub fn spend(&mut self, epsilon: Epsilon) -> Result<(), AggregateError> {
        let remaining = self.remaining_milli();
        if u64::from(epsilon.milli()) > remaining {
            return Err(AggregateError::BudgetExhausted {
                requested_milli_epsilon: epsilon.milli(),
                remaining_milli_epsilon: remaining,
            });
        }
        self.spent_milli += u64::from(epsilon.milli());
        Ok(())
    }
}

impl Default for PrivacyBudget {
    /// ε = 1 per viewer per webinar.
    fn default() -> Self {
        Self::new(Epsilon::ONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eps(milli: u32) -> Epsilon {
        Epsilon::from_milli(milli).expect("positive")
    }

    #[test]
    fn spending_stops_exactly_at_the_total() {
        let mut budget = PrivacyBudget::default();
        assert_eq!(budget.remaining_milli(), 1_000);
        budget.spend(eps(300)).expect("fits");
        budget.spend(eps(300)).expect("fits");
        // 400 left: 500 is refused and nothing is spent by the refusal.
        assert_eq!(
            budget.spend(eps(500)),
            Err(AggregateError::BudgetExhausted {
                requested_milli_epsilon: 500,
                remaining_milli_epsilon: 400
            })
        );
        assert_eq!(budget.remaining_milli(), 400);
        budget.spend(eps(400)).expect("exactly what is left");
        assert_eq!(budget.remaining_milli(), 0);
        assert!(budget.spend(eps(1)).is_err());
    }
}
