//! Permanence telemetry: how long each frame's pixels lived, from written to
//! wiped. The report is anonymous (durations only) and may leave the device.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Why a frame's life ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifeEnd {
    /// The analysis released its lease.
    Released,
    /// The deadline passed: wiped by the watchdog, a read, or the next capture.
    Expired,
    /// Never analyzed: overwritten by a newer frame (latest frame wins).
    Overwritten,
    /// The pool shut down.
    Shutdown,
    /// The writer failed mid-frame.
    WriteFailed,
}

/// One frame's life, as the pool saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLife {
    /// The frame's number in its pool, counting from 1.
    pub generation: u64,
    /// When its pixels started being written.
    pub written_at_us: u64,
    /// When the last of its pixels was wiped or overwritten.
    pub wiped_at_us: u64,
    /// Why it ended.
    pub end: LifeEnd,
}

impl FrameLife {
    /// Microseconds the pixels existed.
    pub fn life_us(&self) -> u64 {
        self.wiped_at_us.saturating_sub(self.written_at_us)
    }
}

/// How often each kind of end happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndCounts {
    /// Released after analysis.
    pub released: u64,
    /// Wiped because the deadline passed.
    pub expired: u64,
    /// Overwritten by a newer frame before analysis.
    pub overwritten: u64,
    /// Wiped at shutdown.
    pub shutdown: u64,
    /// Wiped after the writer failed.
    pub write_failed: u64,
}

/// The permanence report: the measured proof of the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermanenceReport {
    /// The budget every frame must be wiped within.
    pub budget_ms: f64,
    /// Frames whose life has ended.
    pub frames: u64,
    /// Mean life.
    pub mean_ms: f64,
    /// Median life.
    pub p50_ms: f64,
    /// 90th percentile of life.
    pub p90_ms: f64,
    /// 99th percentile of life.
    pub p99_ms: f64,
    /// Longest life.
    pub max_ms: f64,
    /// Frames that lived longer than the budget.
    pub over_budget: u64,
    /// Captures dropped because every slot was leased.
    pub dropped_captures: u64,
    /// How the frames' lives ended.
    pub ended: EndCounts,
}

/// Collects frame lives into a histogram.
#[derive(Debug)]
pub struct PermanenceRecorder {
    budget_us: u64,
    // hdrhistogram rather than hand-rolled percentiles: bounded memory,
    // 3 significant digits, and mergeable when several pools report.
    histogram: Histogram<u64>,
    sum_us: u128,
    max_us: u64,
    over_budget: u64,
    dropped_captures: u64,
    ended: EndCounts,
}

impl PermanenceRecorder {
    /// A recorder for frames that must live at most `budget_us`.
    pub fn new(budget_us: u64) -> Self {
        Self {
            budget_us,
            // Auto-resizing, so a pathological life is still recorded exactly
            // enough rather than clamped.
            histogram: Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is valid")),
            sum_us: 0,
            max_us: 0,
            over_budget: 0,
            dropped_captures: 0,
            ended: EndCounts::default(),
        }
    }

    /// Records one ended frame.
    pub fn record(&mut self, life: &FrameLife) {
        let life_us = life.life_us();
        // Auto-resize makes recording infallible for any u64 value.
        let _ = self.histogram.record(life_us);
        self.sum_us += u128::from(life_us);
        self.max_us = self.max_us.max(life_us);
        if life_us > self.budget_us {
            self.over_budget += 1;
        }
        let counter = match life.end {
            LifeEnd::Released => &mut self.ended.released,
            LifeEnd::Expired => &mut self.ended.expired,
            LifeEnd::Overwritten => &mut self.ended.overwritten,
            LifeEnd::Shutdown => &mut self.ended.shutdown,
            LifeEnd::WriteFailed => &mut self.ended.write_failed,
        };
        *counter += 1;
    }

    /// Counts a capture that found no free slot.
    pub fn record_dropped_capture(&mut self) {
        self.dropped_captures += 1;
    }

    /// The report so far.
    pub fn report(&self) -> PermanenceReport {
        let frames = self.histogram.len();
        let ms = |us: u64| us as f64 / 1_000.0;
        let quantile_ms = |q: f64| {
            if frames == 0 {
                0.0
            } else {
                // hdrhistogram reports the top of the bucket; never above the true max.
                ms(self.histogram.value_at_quantile(q).min(self.max_us))
            }
        };
        PermanenceReport {
            budget_ms: ms(self.budget_us),
            frames,
            mean_ms: if frames == 0 {
                0.0
            } else {
                self.sum_us as f64 / frames as f64 / 1_000.0
            },
            p50_ms: quantile_ms(0.50),
            p90_ms: quantile_ms(0.90),
            p99_ms: quantile_ms(0.99),
            max_ms: ms(self.max_us),
            over_budget: self.over_budget,
            dropped_captures: self.dropped_captures,
            ended: self.ended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn life(generation: u64, life_us: u64, end: LifeEnd) -> FrameLife {
        FrameLife {
            generation,
            written_at_us: 1_000,
            wiped_at_us: 1_000 + life_us,
            end,
        }
    }

    #[test]
    fn report_matches_known_lives() {
        let mut recorder = PermanenceRecorder::new(300_000);
        // Lives of 1..=100 ms, one of them over budget at 400 ms.
        for i in 1..=99u64 {
            recorder.record(&life(i, i * 1_000, LifeEnd::Released));
        }
        recorder.record(&life(100, 400_000, LifeEnd::Expired));
        recorder.record_dropped_capture();
        let report = recorder.report();
        assert_eq!(report.frames, 100);
        assert_eq!(report.over_budget, 1);
        assert_eq!(report.dropped_captures, 1);
        assert_eq!(report.ended.released, 99);
        assert_eq!(report.ended.expired, 1);
        assert_eq!(report.max_ms, 400.0);
        assert!((report.mean_ms - (4950.0 + 400.0) / 100.0).abs() < 1e-9);
        // Three significant digits: within 0.1 % of the exact order statistic.
        assert!((report.p50_ms - 50.0).abs() <= 0.05, "{}", report.p50_ms);
        assert!((report.p90_ms - 90.0).abs() <= 0.09, "{}", report.p90_ms);
        assert!((report.p99_ms - 99.0).abs() <= 0.1, "{}", report.p99_ms);
        assert_eq!(report.budget_ms, 300.0);
    }

    #[test]
    fn empty_report_is_all_zero() {
        let report = PermanenceRecorder::new(5_000).report();
        assert_eq!(report.frames, 0);
        assert_eq!(report.max_ms, 0.0);
        assert_eq!(report.p99_ms, 0.0);
    }

    #[test]
    fn report_round_trips_through_json() {
        let mut recorder = PermanenceRecorder::new(300_000);
        recorder.record(&life(1, 12_345, LifeEnd::Overwritten));
        let report = recorder.report();
        let json = serde_json::to_string(&report).expect("serialize");
        assert!(json.contains("\"overwritten\":1"), "{json}");
        let back: PermanenceReport = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, report);
    }
}
