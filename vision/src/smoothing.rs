//! Exponential moving averages that respect the time between frames, so a
//! trait settles at the same speed whether the analysis runs at 5 or 30
//! frames per second.
//!
//! With `elapsed` since the last sample and time constant `tau`, the new
//! sample weighs `1 - exp(-elapsed / tau)`: after one `tau` of steady input
//! the average has covered 63 % of a step. A probability vector stays a
//! probability vector, since each update is a convex combination.

/// Time constants of the smoothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothingConfig {
    /// For what changes from moment to moment: expression, head pose, eyes,
    /// attention, face quality.
    pub fast_ms: f32,
    /// For what belongs to the face rather than the moment: apparent age and
    /// gender, glasses, beard. Slow so one bad frame cannot flip them.
    pub slow_ms: f32,
}

impl Default for SmoothingConfig {
    fn default() -> Self {
        Self {
            fast_ms: 250.0,
            slow_ms: 2_000.0,
        }
    }
}

/// A moving average of `N` values that are updated together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ema<const N: usize> {
    value: Option<[f32; N]>,
}

impl<const N: usize> Default for Ema<N> {
    fn default() -> Self {
        Self { value: None }
    }
}

impl<const N: usize> Ema<N> {
    /// Blends `sample` in and returns the average. The first sample, and a
    /// sample after a time constant of 0, is taken as it is.
    pub fn update(&mut self, sample: [f32; N], elapsed_us: u64, tau_ms: f32) -> [f32; N] {
        let next = match self.value {
            Some(previous) if tau_ms > 0.0 => {
                let weight = 1.0 - (-(elapsed_us as f32 / 1_000.0) / tau_ms).exp();
                std::array::from_fn(|i| previous[i] + weight * (sample[i] - previous[i]))
            }
            _ => sample,
        };
        self.value = Some(next);
        next
    }

    /// Blends an optional sample: `None` (the trait was not computed this
    /// frame) keeps and returns the average so far.
    pub fn update_option(&mut self, sample: Option<[f32; N]>, elapsed_us: u64, tau_ms: f32) -> Option<[f32; N]> {
        match sample {
            Some(sample) => Some(self.update(sample, elapsed_us, tau_ms)),
            None => self.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_covers_63_percent_after_one_time_constant() {
        let mut ema = Ema::<1>::default();
        assert_eq!(ema.update([0.0], 0, 100.0), [0.0]);
        let [after] = ema.update([1.0], 100_000, 100.0);
        assert!((after - (1.0 - (-1.0f32).exp())).abs() < 1e-6, "{after}");
    }

    #[test]
    fn the_frame_rate_does_not_change_the_speed() {
        // 10 frames of 10 ms and 1 frame of 100 ms reach the same value.
        let (mut fast, mut slow) = (Ema::<1>::default(), Ema::<1>::default());
        fast.update([0.0], 0, 50.0);
        slow.update([0.0], 0, 50.0);
        let mut fast_value = [0.0];
        for _ in 0..10 {
            fast_value = fast.update([1.0], 10_000, 50.0);
        }
        let slow_value = slow.update([1.0], 100_000, 50.0);
        assert!(
            (fast_value[0] - slow_value[0]).abs() < 1e-5,
            "{fast_value:?} {slow_value:?}"
        );
    }

    #[test]
    fn probabilities_stay_probabilities_and_missing_samples_keep_the_average() {
        let mut ema = Ema::<3>::default();
        ema.update([1.0, 0.0, 0.0], 0, 250.0);
        let mixed = ema.update([0.0, 0.5, 0.5], 40_000, 250.0);
        assert!((mixed.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{mixed:?}");
        assert!(mixed[0] < 1.0 && mixed[1] > 0.0);
        assert_eq!(ema.update_option(None, 40_000, 250.0), Some(mixed));
        assert_eq!(Ema::<3>::default().update_option(None, 0, 250.0), None);
    }
}
