//! Expression relative to the viewer's own resting face, so a viewer whose
//! face at rest reads as sad or angry is not counted so all session.
//!
//! The baseline is a long running mean of the viewer's own expression
//! probabilities, kept on the device for one session and never sent. It
//! starts from a neutral prior worth [`PRIOR_WEIGHT_S`] seconds, so the first
//! seconds of a session are read as they are, and it weighs at most the last
//! [`MAX_WEIGHT_S`] seconds, so it follows lighting and posture changes. A
//! reaction lasts seconds, so it moves the mean little; a resting frown lasts
//! minutes, so it becomes the baseline.
//!
//! The relative expression keeps of each non-neutral class only what exceeds
//! its baseline; the rest counts as neutral. It is a probability vector again.

use parterre_core::traits::Expression;

/// How many seconds of viewing the neutral prior is worth.
pub const PRIOR_WEIGHT_S: f32 = 20.0;
/// The baseline forgets what is older than about this.
pub const MAX_WEIGHT_S: f32 = 120.0;
/// Longer gaps between samples count as this long, so a viewer back after a
/// break does not overwrite the baseline with one frame.
const MAX_STEP_S: f32 = 1.0;

/// One session's resting expression.
#[derive(Debug, Clone, PartialEq)]
pub struct NeutralBaseline {
    mean: [f32; 7],
    weight_s: f32,
}

impl Default for NeutralBaseline {
    fn default() -> Self {
        Self {
            mean: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            weight_s: PRIOR_WEIGHT_S,
        }
    }
}

impl NeutralBaseline {
    /// Adds `raw`, seen for `elapsed_us` since the previous sample.
    pub fn update(&mut self, raw: &Expression, elapsed_us: u64) {
        let step_s = (elapsed_us as f32 / 1e6).min(MAX_STEP_S);
        if step_s <= 0.0 {
            return;
        }
        let total_s = self.weight_s + step_s;
        let p = raw.probabilities();
        for (mean, sample) in self.mean.iter_mut().zip(p) {
            *mean = (*mean * self.weight_s + sample * step_s) / total_s;
        }
        self.weight_s = total_s.min(MAX_WEIGHT_S);
    }

    /// The resting expression so far.
    pub fn resting(&self) -> [f32; 7] {
        self.mean
    }

    /// `raw` relative to the resting expression.
    pub fn relative(&self, raw: &Expression) -> Expression {
        let p = raw.probabilities();
        let mut relative = [0.0f32; 7];
        for class in 1..7 {
            relative[class] = (p[class] - self.mean[class]).max(0.0);
        }
        relative[0] = (1.0 - relative[1..].iter().sum::<f32>()).max(0.0);
        Expression::from_probabilities(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expression(p: [f32; 7]) -> Expression {
        Expression::from_probabilities(p)
    }

    const FRAME_US: u64 = 100_000;

    #[test]
    fn a_resting_frown_becomes_neutral_but_a_smile_still_counts() {
        let frown = expression([0.3, 0.0, 0.1, 0.6, 0.0, 0.0, 0.0]);
        let mut baseline = NeutralBaseline::default();
        // At the start the prior is neutral: the frown reads as angry.
        assert!(baseline.relative(&frown).angry > 0.55);
        // Three minutes of the same resting face: mostly neutral already.
        for _ in 0..1_800 {
            baseline.update(&frown, FRAME_US);
        }
        assert!(baseline.relative(&frown).angry < 0.1, "{:?}", baseline.relative(&frown));
        // Ten minutes: the prior is forgotten.
        for _ in 0..4_200 {
            baseline.update(&frown, FRAME_US);
        }
        let relative = baseline.relative(&frown);
        assert!(relative.angry < 0.01 && relative.neutral > 0.98, "{relative:?}");
        // A smile is still a smile.
        let smile = expression([0.05, 0.9, 0.0, 0.05, 0.0, 0.0, 0.0]);
        let relative = baseline.relative(&smile);
        assert!(relative.happy > 0.85, "{relative:?}");
        let sum: f32 = relative.probabilities().iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "{sum}");
    }

    #[test]
    fn a_short_reaction_barely_moves_the_baseline() {
        let neutral = expression([0.95, 0.01, 0.01, 0.01, 0.01, 0.005, 0.005]);
        let laugh = expression([0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let mut baseline = NeutralBaseline::default();
        for _ in 0..1_200 {
            baseline.update(&neutral, FRAME_US);
        }
        // Three seconds of laughing.
        for _ in 0..30 {
            baseline.update(&laugh, FRAME_US);
        }
        assert!(baseline.resting()[1] < 0.05, "{:?}", baseline.resting());
        assert!(baseline.relative(&laugh).happy > 0.95);
    }

    #[test]
    fn a_long_gap_counts_as_one_step() {
        let frown = expression([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let mut baseline = NeutralBaseline::default();
        baseline.update(&frown, 3_600_000_000);
        // One second against the 20 s prior.
        let expected = 1.0 / (PRIOR_WEIGHT_S + 1.0);
        assert!((baseline.resting()[3] - expected).abs() < 1e-6);
    }
}
