//! The compute governor: keeps the analysis inside a CPU budget on any
//! device, so a weak laptop stays responsive while a strong one gets the
//! detector's full resolution.
//!
//! It measures what each analysis costs and decides three things: when the
//! next analysis may start (cost divided by the CPU share allowed: at half a
//! core, a 20 ms analysis may start every 40 ms), the tiny detector's input
//! size (stepped down when even that rate stays under the target frame rate,
//! up when the next size would still reach it), and whether a frame that has
//! not changed may skip the analysis (the motion thumbnail says so, at a
//! fraction of the cost; at most for `max_unchanged_ms`, so a still viewer is
//! still re-read now and then). Pure logic with time passed in, so the browser
//! worker uses the same governor as the native runtime.

use crate::error::VisionError;

/// The detector input sizes the governor steps through, smallest first.
pub const INPUT_SIZES_PX: [usize; 7] = [224, 256, 288, 320, 352, 384, 416];
/// Size changes wait for this many analyses in a row that ask for them, so
/// one slow frame does not change the resolution.
const STEP_AFTER: u32 = 8;
/// Weight of the newest cost in the moving average.
const COST_WEIGHT: f64 = 0.2;

/// What the governor aims for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GovernorConfig {
    /// Share of one core the analysis may use: 0.5 is half a core, 2.0 two cores.
    pub cpu_share: f64,
    /// Analyses per second worth having; more would not change the traits.
    pub target_fps: f64,
    /// Smallest and largest detector input sizes allowed.
    pub min_input_px: usize,
    /// See `min_input_px`.
    pub max_input_px: usize,
    /// Frame motion below this counts as unchanged (0 turns skipping off).
    pub unchanged_motion: f32,
    /// An unchanged frame is analyzed anyway after this long.
    pub max_unchanged_ms: u64,
}

impl Default for GovernorConfig {
    fn default() -> Self {
        Self {
            cpu_share: 0.5,
            target_fps: 15.0,
            min_input_px: 224,
            max_input_px: 416,
            unchanged_motion: 0.01,
            max_unchanged_ms: 1_000,
        }
    }
}

impl GovernorConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), VisionError> {
        let sizes_ok = INPUT_SIZES_PX.contains(&self.min_input_px)
            && INPUT_SIZES_PX.contains(&self.max_input_px)
            && self.min_input_px <= self.max_input_px;
        if !(self.cpu_share.is_finite() && (0.01..=64.0).contains(&self.cpu_share)) {
            return Err(VisionError::InvalidOption(format!(
                "CPU share must be between 0.01 and 64 cores, not {}",
                self.cpu_share
            )));
        }
        if !(self.target_fps.is_finite() && (0.1..=240.0).contains(&self.target_fps)) {
            return Err(VisionError::InvalidOption(format!(
                "target rate must be between 0.1 and 240 analyses a second, not {}",
                self.target_fps
            )));
        }
        if !sizes_ok {
            return Err(VisionError::InvalidOption(format!(
                "detector sizes must be among {INPUT_SIZES_PX:?} with min <= max, not {}..{}",
                self.min_input_px, self.max_input_px
            )));
        }
        if !(0.0..=1.0).contains(&self.unchanged_motion) {
            return Err(VisionError::InvalidOption("unchanged motion must be 0 to 1".into()));
        }
        Ok(())
    }
}

/// What the governor has chosen, for display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GovernorState {
    /// The detector input size in force.
    pub input_size_px: usize,
    /// Moving average of an analysis's cost.
    pub cost_ms: f64,
    /// Shortest time between analysis starts at that cost.
    pub interval_ms: f64,
    /// Analyses skipped because the frame had not changed.
    pub skipped: u64,
}

/// The governor of one session.
#[derive(Debug, Clone)]
pub struct Governor {
    config: GovernorConfig,
    size_index: usize,
    cost_us: Option<f64>,
    next_start_us: u64,
    last_full_us: Option<u64>,
    pending_step: i32,
    streak: u32,
    skipped: u64,
}

impl Governor {
    /// A governor starting at `start_input_px` (clamped into the allowed sizes).
    pub fn new(config: GovernorConfig, start_input_px: usize) -> Result<Self, VisionError> {
        config.validate()?;
        let size_index = INPUT_SIZES_PX
            .iter()
            .rposition(|&size| size <= start_input_px.clamp(config.min_input_px, config.max_input_px))
            .unwrap_or(0);
        Ok(Self {
            config,
            size_index,
            cost_us: None,
            next_start_us: 0,
            last_full_us: None,
            pending_step: 0,
            streak: 0,
            skipped: 0,
        })
    }

    /// The detector input size to use now.
    pub fn input_size_px(&self) -> usize {
        INPUT_SIZES_PX[self.size_index]
    }

    /// When the next analysis may start; the caller waits until then.
    pub fn next_start_us(&self) -> u64 {
        self.next_start_us
    }

    /// Whether a frame with `frame_motion` may skip the analysis at `now_us`.
    pub fn may_skip(&mut self, frame_motion: f32, now_us: u64) -> bool {
        let Some(last_full_us) = self.last_full_us else {
            return false;
        };
        let recent = now_us.saturating_sub(last_full_us) < self.config.max_unchanged_ms * 1_000;
        let skip = recent && frame_motion < self.config.unchanged_motion;
        if skip {
            self.skipped += 1;
        }
        skip
    }

    /// Records an analysis that started at `started_us` and cost `cost_us`
    /// (`full`: not skipped), and decides the next start and size.
    pub fn record(&mut self, started_us: u64, cost_us: u64, full: bool) {
        let cost = cost_us as f64;
        if full {
            self.last_full_us = Some(started_us);
            // A sample is clipped to twice the average, so one frame stalled
            // by something else on the machine moves it little.
            let average = self.cost_us.map_or(cost, |previous| {
                previous + COST_WEIGHT * (cost.min(2.0 * previous) - previous)
            });
            self.cost_us = Some(average);
            self.adapt_size(average);
        }
        let interval_us = (cost / self.config.cpu_share).max(1e6 / self.config.target_fps);
        self.next_start_us = started_us.saturating_add(interval_us as u64);
    }

    fn adapt_size(&mut self, cost_us: f64) {
        let rate = |cost: f64| self.config.cpu_share * 1e6 / cost.max(1.0);
        let size = self.input_size_px() as f64;
        let want = if rate(cost_us) < self.config.target_fps && self.input_size_px() > self.config.min_input_px {
            -1
        } else if self.size_index + 1 < INPUT_SIZES_PX.len()
            && INPUT_SIZES_PX[self.size_index + 1] <= self.config.max_input_px
            // The detector's cost grows with its input's area; the rest of the
            // chain does not, so this overestimates and errs on the safe side.
            && rate(cost_us * (INPUT_SIZES_PX[self.size_index + 1] as f64 / size).powi(2))
                >= 1.2 * self.config.target_fps
        {
            1
        } else {
            0
        };
        if want != 0 && want == self.pending_step {
            self.streak += 1;
        } else {
            self.pending_step = want;
            self.streak = u32::from(want != 0);
        }
        if self.streak >= STEP_AFTER {
            self.size_index = self.size_index.saturating_add_signed(self.pending_step as isize);
            // Costs at the old size no longer apply.
            self.cost_us = None;
            self.pending_step = 0;
            self.streak = 0;
        }
    }

    /// What the governor has chosen.
    pub fn state(&self) -> GovernorState {
        let cost_ms = self.cost_us.unwrap_or(0.0) / 1_000.0;
        GovernorState {
            input_size_px: self.input_size_px(),
            cost_ms,
            interval_ms: (cost_ms / self.config.cpu_share).max(1_000.0 / self.config.target_fps),
            skipped: self.skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs analyses whose cost is `base_ms` plus a detector part growing
    /// with the input's area, and returns the size settled on.
    fn settle(config: GovernorConfig, start_px: usize, base_ms: f64, detector_ms_at_320: f64) -> Governor {
        let mut governor = Governor::new(config, start_px).expect("governor");
        let mut now_us = 0;
        for _ in 0..200 {
            let size = governor.input_size_px() as f64;
            let cost_ms = base_ms + detector_ms_at_320 * (size / 320.0).powi(2);
            now_us = now_us.max(governor.next_start_us());
            governor.record(now_us, (cost_ms * 1_000.0) as u64, true);
        }
        governor
    }

    #[test]
    fn a_slow_device_gets_a_smaller_detector_and_a_fast_one_a_larger() {
        let config = GovernorConfig::default();
        // 60 ms at 320 with half a core: 8 analyses a second, under the 15 wanted.
        let slow = settle(config, 320, 30.0, 30.0);
        assert_eq!(slow.input_size_px(), 224);
        // 6 ms at 320: plenty of headroom, up to the largest size.
        let fast = settle(config, 320, 3.0, 3.0);
        assert_eq!(fast.input_size_px(), 416);
        // Capped by the configuration.
        let capped = settle(
            GovernorConfig {
                max_input_px: 320,
                ..config
            },
            320,
            3.0,
            3.0,
        );
        assert_eq!(capped.input_size_px(), 320);
    }

    #[test]
    fn the_next_start_keeps_the_cpu_share() {
        let mut governor = Governor::new(GovernorConfig::default(), 320).expect("governor");
        // 40 ms of work at half a core: the next may start 80 ms after this one.
        governor.record(1_000_000, 40_000, true);
        assert_eq!(governor.next_start_us(), 1_080_000);
        // Cheap work is still held to the target rate (15 a second).
        governor.record(2_000_000, 1_000, true);
        assert_eq!(governor.next_start_us(), 2_066_666);
    }

    #[test]
    fn one_slow_frame_does_not_change_the_size() {
        let mut governor = Governor::new(GovernorConfig::default(), 320).expect("governor");
        for i in 0..50u64 {
            // 28 ms at 320 fits half a core at 15 a second; 352 would not.
            let cost_us = if i == 25 { 500_000 } else { 28_000 };
            governor.record(i * 100_000, cost_us, true);
        }
        assert_eq!(governor.input_size_px(), 320);
    }

    #[test]
    fn unchanged_frames_are_skipped_but_not_for_long() {
        let mut governor = Governor::new(GovernorConfig::default(), 320).expect("governor");
        // Nothing analyzed yet: never skip.
        assert!(!governor.may_skip(0.0, 0));
        governor.record(0, 10_000, true);
        assert!(governor.may_skip(0.001, 500_000));
        assert!(!governor.may_skip(0.2, 500_000), "a change is analyzed");
        assert!(
            !governor.may_skip(0.0, 1_000_000),
            "a second without analysis is enough"
        );
        assert_eq!(governor.state().skipped, 1);
    }

    #[test]
    fn bad_configurations_are_refused() {
        for config in [
            GovernorConfig {
                cpu_share: 0.0,
                ..GovernorConfig::default()
            },
            GovernorConfig {
                min_input_px: 300,
                ..GovernorConfig::default()
            },
            GovernorConfig {
                min_input_px: 416,
                max_input_px: 224,
                ..GovernorConfig::default()
            },
            GovernorConfig {
                target_fps: f64::NAN,
                ..GovernorConfig::default()
            },
        ] {
            assert!(Governor::new(config, 320).is_err(), "{config:?}");
        }
    }
}
