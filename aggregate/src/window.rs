//! Sliding windows over the caller's time: a ring of 1 s buckets, each an
//! [`Aggregate`], so a window is the merge of its buckets.

use std::collections::BTreeMap;

use parterre_core::{AnonymousTraits, PermanenceReport};

use crate::{AggregateError, aggregate::Aggregate};

const BUCKET_MS: u64 = 1_000;

/// An opaque per-connection index chosen by the caller (the server). It is
/// not derived from the viewer, and a window forgets it as soon as the second
/// it was counted in leaves the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ViewerIndex(pub u64);

/// One bucket of the ring: which second it holds, and its viewers.
#[derive(Debug, Clone, Default)]
struct Bucket {
    second: u64,
    aggregate: Aggregate,
}

/// A window of `length_s` seconds that counts each viewer once.
///
/// A viewer is counted with the first sample it sends in a window period and
/// not again until that second has left the window. So no window ever holds
/// two samples of one viewer (two counted samples are at least `length_s`
/// apart), which k-anonymity needs: a cell's count is a count of people.
/// The cost is that a viewer's contribution is one sample per `length_s`
/// rather than its latest state; at 10 s that is fresh enough for the panel.
/// The only per-viewer state is `counted`: index → second it was last
/// counted, pruned once that second leaves the window, so no index outlives
/// the window.
#[derive(Debug, Clone)]
pub struct Window {
    length_s: u64,
    ring: Vec<Bucket>,
    counted: BTreeMap<ViewerIndex, u64>,
    newest_second: u64,
}

impl Window {
    /// The longest window: an hour of buckets is the most memory a window may
    /// take; the session is kept as one aggregate, not as a window.
    pub const MAX_LENGTH_S: u64 = 3_600;

    /// A window of `length_s` 1 s buckets.
    pub fn new(length_s: u64) -> Result<Self, AggregateError> {
        if !(1..=Self::MAX_LENGTH_S).contains(&length_s) {
            return Err(AggregateError::WindowLength { length_s });
        }
        Ok(Self {
            length_s,
            // One bucket more than the window: the second being filled, while
            // the window reads the `length_s` complete seconds before it.
            // At most 3601: fits any usize.
            ring: vec![Bucket::default(); length_s as usize + 1],
            counted: BTreeMap::new(),
            newest_second: 0,
        })
    }

    fn slot(&self, second: u64) -> usize {
        // `second % (length_s + 1)` <= `length_s`, which fit in usize in `new`.
        (second % (self.length_s + 1)) as usize
    }

    fn in_window(&self, second: u64, now_second: u64) -> bool {
        second <= now_second && second + self.length_s > now_second
    }

    /// Offers viewer `viewer`'s sample taken at `t_ms`. Returns whether it was
    /// counted: not when this viewer is already in the window, or when the
    /// sample is older than the window.
    pub fn record(
        &mut self,
        t_ms: u64,
        viewer: ViewerIndex,
        traits: &AnonymousTraits,
        permanence: Option<&PermanenceReport>,
    ) -> bool {
        let second = t_ms / BUCKET_MS;
        if second > self.newest_second {
            self.newest_second = second;
            // Forget viewers whose counted second has left the window: once a
            // second, not per sample, to keep recording cheap.
            let (newest, length_s) = (self.newest_second, self.length_s);
            self.counted.retain(|_, counted| *counted + length_s > newest);
        }
        if !self.in_window(second, self.newest_second) {
            return false;
        }
        if let Some(&counted) = self.counted.get(&viewer) {
            if second < counted + self.length_s {
                return false;
            }
        }
        let slot = self.slot(second);
        let bucket = &mut self.ring[slot];
        if bucket.second != second {
            // The slot held a second that has left the window: reuse it.
            *bucket = Bucket {
                second,
                aggregate: Aggregate::default(),
            };
        }
        bucket.aggregate.add(traits, permanence);
        self.counted.insert(viewer, second);
        true
    }

    /// The window of the `length_s` complete seconds before `now_ms`: the
    /// merge of their buckets.
    ///
    /// The second still being filled is left out. A viewer is counted again
    /// only once its counted second has left the window, with its first
    /// sample of the next second; reading that second before it is complete
    /// would drop every viewer for a moment at the start of each period
    /// (all at once when an audience joined together). Reading complete
    /// seconds, each viewer stays in the window without a gap, at the cost of
    /// at most a second of delay.
    pub fn aggregate(&self, now_ms: u64) -> Aggregate {
        let Some(last_complete_second) = (now_ms / BUCKET_MS).checked_sub(1) else {
            return Aggregate::default();
        };
        let mut total = Aggregate::default();
        for bucket in &self.ring {
            if self.in_window(bucket.second, last_complete_second) {
                total.merge(&bucket.aggregate);
            }
        }
        total
    }
}

/// The live views of one webinar: the last 10 s, the last minute, and the
/// session so far.
#[derive(Debug, Clone)]
pub struct Live {
    ten_seconds: Window,
    minute: Window,
    // Every sample the minute window counted: one per viewer per minute, so
    // the session weighs viewers by minutes watched and stores no index.
    session: Aggregate,
}

impl Live {
    /// Empty views.
    pub fn new() -> Self {
        Self {
            ten_seconds: Window::new(10).unwrap_or_else(|_| unreachable!("10 s is a valid window")),
            minute: Window::new(60).unwrap_or_else(|_| unreachable!("60 s is a valid window")),
            session: Aggregate::default(),
        }
    }

    /// Offers one viewer sample taken at `t_ms` to every view.
    pub fn record(
        &mut self,
        t_ms: u64,
        viewer: ViewerIndex,
        traits: &AnonymousTraits,
        permanence: Option<&PermanenceReport>,
    ) {
        self.ten_seconds.record(t_ms, viewer, traits, permanence);
        if self.minute.record(t_ms, viewer, traits, permanence) {
            self.session.add(traits, permanence);
        }
    }

    /// The last 10 s up to `now_ms`.
    pub fn ten_seconds(&self, now_ms: u64) -> Aggregate {
        self.ten_seconds.aggregate(now_ms)
    }

    /// The last 60 s up to `now_ms`.
    pub fn minute(&self, now_ms: u64) -> Aggregate {
        self.minute.aggregate(now_ms)
    }

    /// The whole session, in viewer-minutes.
    pub fn session(&self) -> &Aggregate {
        &self.session
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(motion: f32) -> AnonymousTraits {
        AnonymousTraits::no_face(motion)
    }

    #[test]
    fn lengths_outside_one_second_to_an_hour_are_refused() {
        assert_eq!(Window::new(0).err(), Some(AggregateError::WindowLength { length_s: 0 }));
        assert!(Window::new(3_601).is_err());
        assert!(Window::new(3_600).is_ok());
    }

    #[test]
    fn a_viewer_counts_once_per_window() {
        let mut window = Window::new(10).expect("window");
        let a = ViewerIndex(1);
        let b = ViewerIndex(2);
        // a sends twice a second; b once, at 3.5 s.
        for t_ms in (0..10_000).step_by(500) {
            window.record(t_ms, a, &sample(0.2), None);
        }
        assert!(window.record(3_500, b, &sample(0.6), None));
        assert!(!window.record(3_600, b, &sample(0.6), None));
        // At 9.9 s the window is the complete seconds 0..=8: a once (at 0 s), b once.
        let early = window.aggregate(9_900);
        assert_eq!(early.viewers, 2);
        assert!((early.motion.estimate().expect("motion").mean - 0.4).abs() < 1e-6);
        for t_ms in (10_000..12_000).step_by(500) {
            window.record(t_ms, a, &sample(0.2), None);
        }
        // At 11.9 s the window is seconds 1..=10: a was counted again at 10 s,
        // so it never left the window.
        assert_eq!(window.aggregate(11_900).viewers, 2);
        // At 13.9 s (seconds 3..=12) b's second 3 is still in; at 14.9 s
        // (seconds 4..=13) it is gone, and a's 10 s sample remains.
        assert_eq!(window.aggregate(13_900).viewers, 2);
        assert_eq!(window.aggregate(14_900).viewers, 1);
    }

    #[test]
    fn a_steady_viewer_never_drops_out_at_a_period_boundary() {
        // Twenty viewers who joined in the same second, each sending twice a
        // second: every read of the window, at any moment, counts all of them.
        let mut window = Window::new(10).expect("window");
        for t_ms in (0..60_000).step_by(500) {
            for viewer in 0..20 {
                window.record(t_ms + viewer, ViewerIndex(viewer), &sample(0.5), None);
            }
            if t_ms >= 2_000 {
                assert_eq!(window.aggregate(t_ms + 100).viewers, 20, "at {t_ms} ms");
            }
        }
    }

    #[test]
    fn samples_older_than_the_window_are_dropped() {
        let mut window = Window::new(10).expect("window");
        assert!(window.record(20_000, ViewerIndex(1), &sample(0.1), None));
        assert!(!window.record(5_000, ViewerIndex(2), &sample(0.1), None));
        assert!(window.record(11_000, ViewerIndex(3), &sample(0.1), None));
        // Second 20 is complete at 21 s: seconds 11..=20.
        assert_eq!(window.aggregate(20_000).viewers, 1);
        assert_eq!(window.aggregate(21_000).viewers, 2);
    }

    #[test]
    fn indexes_are_forgotten_when_they_leave_the_window() {
        let mut window = Window::new(10).expect("window");
        window.record(0, ViewerIndex(7), &sample(0.1), None);
        assert_eq!(window.counted.len(), 1);
        window.record(10_000, ViewerIndex(8), &sample(0.1), None);
        assert_eq!(window.counted.keys().copied().collect::<Vec<_>>(), [ViewerIndex(8)]);
    }

    #[test]
    fn live_keeps_ten_seconds_a_minute_and_the_session() {
        let mut live = Live::new();
        // One viewer, a sample every second for 130 s.
        for t_ms in (0..130_000).step_by(1_000) {
            live.record(t_ms, ViewerIndex(1), &sample(0.5), None);
        }
        assert_eq!(live.ten_seconds(129_000).viewers, 1);
        assert_eq!(live.minute(129_000).viewers, 1);
        // Counted at 0, 60 and 120 s: three viewer-minutes.
        assert_eq!(live.session().viewers, 3);
    }
}
