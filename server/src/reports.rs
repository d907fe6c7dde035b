//! Per-minute reports: what is stored, and how the webinar's privacy budget
//! pays for it.
//!
//! Each minute's samples go into a fresh 60 s [`Window`] (one sample per
//! viewer connection per minute), and at the minute's end the window is
//! released through `parterre_aggregate::release` (export k = 11, discrete
//! Laplace noise, suppression on the noisy counts) and stored.
//!
//! The budget: ε = 1 per viewer per webinar. A viewer can be in every
//! minute, and releases compose additively, so the host declares the most
//! minutes that will be stored (`max_stored_minutes`, default 60) and each
//! minute costs ε / max_stored_minutes (rounded down to a thousandth). Every
//! minute is released, with viewers or without, so whether a row exists says
//! nothing about anyone. Once the budget cannot pay for another minute,
//! storage stops (logged once); the live panel goes on. The price of a small
//! per-minute ε is large noise: with 60 minutes, ε = 0.016 per minute, the
//! noise scale is 5 / 0.016 ≈ 312 viewers and a cell is stored only above
//! about 1 230 noisy viewers, so small webinars store little beyond a noisy
//! viewer total. That is the honest cost of ε = 1 over an hour.
//!
//! Limit: the bound is per connection; a viewer who reconnects gets a new
//! index and may be counted twice in one minute.

use std::num::{NonZeroU16, NonZeroU32};

use parterre_aggregate::{AggregateError, Epsilon, KAnonymity, PrivacyBudget, ViewerIndex, Window, release};
use parterre_core::{AnonymousTraits, PermanenceReport};
use rand::rngs::StdRng;

use crate::{ServerError, storage::ReportRow};

const MINUTE_MS: u64 = 60_000;

/// The minute being filled and the budget left.
#[derive(Debug)]
pub struct MinuteReports {
    window: Window,
    minute_index: u64,
    per_minute: Epsilon,
    budget: PrivacyBudget,
    created_unix_s: u64,
    stopped: bool,
}

/// Where storage stands, for the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StorageStatus {
    /// Minutes released so far.
    pub released_minutes: u64,
    /// ε each minute costs, in thousandths.
    pub per_minute_milli_epsilon: u32,
    /// ε left, in thousandths.
    pub remaining_milli_epsilon: u64,
    /// The budget is spent: nothing more is stored.
    pub stopped: bool,
}

fn fresh_window() -> Window {
    Window::new(60).unwrap_or_else(|_| unreachable!("60 s is a valid window"))
}

impl MinuteReports {
    /// Reports for a webinar created at `created_unix_s`, splitting ε = 1
    /// over `max_stored_minutes` (1 to 1000).
    pub fn new(max_stored_minutes: NonZeroU32, created_unix_s: u64) -> Result<Self, ServerError> {
        let per_minute =
            Epsilon::from_milli(Epsilon::ONE.milli() / max_stored_minutes.get()).map_err(|_| ServerError::Setting {
                key: "max_stored_minutes",
                reason: "at most 1000: ε = 1 cannot be split finer than 0.001 a minute".into(),
            })?;
        Ok(Self {
            window: fresh_window(),
            minute_index: 0,
            per_minute,
            budget: PrivacyBudget::default(),
            created_unix_s,
            stopped: false,
        })
    }

    /// Adds one sample taken at `t_ms` (ms since the webinar's start) to the
    /// current minute. Call [`MinuteReports::close_due`] first.
    pub fn record(
        &mut self,
        t_ms: u64,
        viewer: ViewerIndex,
        traits: &AnonymousTraits,
        permanence: Option<&PermanenceReport>,
    ) {
        self.window.record(t_ms, viewer, traits, permanence);
    }

    /// Closes every minute that ended by `now_ms`: the rows to store.
    pub fn close_due(&mut self, now_ms: u64, rng: &mut StdRng, stored_unix_s: u64) -> Vec<ReportRow> {
        let mut rows = Vec::new();
        while now_ms >= (self.minute_index + 1) * MINUTE_MS {
            // The window reads the complete seconds before its time: read at
            // the minute's end, it is exactly the minute.
            let end_ms = (self.minute_index + 1) * MINUTE_MS;
            rows.extend(self.close(end_ms, rng, stored_unix_s));
        }
        rows
    }

    /// Closes the current, partial minute (at shutdown).
    pub fn flush(&mut self, now_ms: u64, rng: &mut StdRng, stored_unix_s: u64) -> Option<ReportRow> {
        // A second later, so the second still being filled is included.
        self.close(now_ms + 1_000, rng, stored_unix_s)
    }

    fn close(&mut self, at_ms: u64, rng: &mut StdRng, stored_unix_s: u64) -> Option<ReportRow> {
        let aggregate = self.window.aggregate(at_ms);
        let index = self.minute_index;
        self.minute_index += 1;
        self.window = fresh_window();
        if self.stopped {
            return None;
        }
        match release(
            &aggregate,
            KAnonymity::export(),
            self.per_minute,
            NonZeroU16::MIN,
            &mut self.budget,
            rng,
        ) {
            Ok(noisy) => Some(ReportRow::new(index, self.created_unix_s, &noisy, stored_unix_s)),
            Err(AggregateError::BudgetExhausted { .. }) => {
                self.stopped = true;
                tracing::warn!(
                    minute = index,
                    "privacy budget spent: no more minutes are stored for this webinar"
                );
                None
            }
            Err(other) => {
                tracing::error!(%other, "release refused");
                None
            }
        }
    }

    /// Where storage stands.
    pub fn status(&self) -> StorageStatus {
        StorageStatus {
            released_minutes: self.minute_index,
            per_minute_milli_epsilon: self.per_minute.milli(),
            remaining_milli_epsilon: self.budget.remaining_milli(),
            stopped: self.stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn the_budget_pays_for_exactly_the_declared_minutes() {
        let mut reports = MinuteReports::new(NonZeroU32::new(3).expect("3"), 1_000).expect("reports");
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(reports.status().per_minute_milli_epsilon, 333);
        let traits = AnonymousTraits::no_face(0.1);
        for viewer in 0..50 {
            reports.record(1_000, ViewerIndex(viewer), &traits, None);
        }
        // Nothing is due before the first minute ends.
        assert!(reports.close_due(59_999, &mut rng, 0).is_empty());
        // Five minutes have passed: three are paid for, then storage stops.
        let rows = reports.close_due(300_000, &mut rng, 0);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].0[1], Some(1_060), "minute 1 starts 60 s after creation");
        assert!(reports.status().stopped);
        assert_eq!(reports.status().remaining_milli_epsilon, 1);
        assert!(reports.flush(301_000, &mut rng, 0).is_none());
        // Negative control: a budget over 10 minutes still pays at minute 5.
        let mut roomy = MinuteReports::new(NonZeroU32::new(10).expect("10"), 0).expect("reports");
        assert_eq!(roomy.close_due(300_000, &mut rng, 0).len(), 5);
        assert!(!roomy.status().stopped);
        assert!(MinuteReports::new(NonZeroU32::new(1_001).expect("1001"), 0).is_err());
    }

    #[test]
    fn a_minute_holds_its_own_samples_only() {
        let mut reports = MinuteReports::new(NonZeroU32::MIN, 0).expect("reports");
        let mut rng = StdRng::seed_from_u64(2);
        // 400 viewers in minute 0: the noisy total (scale 5) is near 400.
        for viewer in 0..400 {
            reports.record(59_000, ViewerIndex(viewer), &AnonymousTraits::no_face(0.1), None);
        }
        let rows = reports.close_due(60_000, &mut rng, 0);
        let viewers = rows[0].0[4].expect("always stored");
        assert!((viewers - 400).abs() < 60, "{viewers}");
    }
}
