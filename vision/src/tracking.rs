//! Faces followed from frame to frame, so each face's traits can be smoothed
//! instead of flickering with every detection.
//!
//! Association is greedy by intersection over union: the best-overlapping
//! (track, detection) pair first, down to a floor. IoU needs nothing but the
//! boxes, which every detector gives, and at webcam frame rates a face moves
//! far less than its own size between frames.
//!
//! A track id is a small counter that starts at 1 in every [`Tracker`] (one
//! per session). It lives on the device only: it is not part of the anonymous
//! traits and is never sent, so it cannot link a viewer across sessions.

use parterre_core::BoxPx;

use crate::detection::iou;

/// How tracks are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// A detection continues a track only if their boxes overlap at least this much.
    pub min_iou: f32,
    /// A track not seen for this long is forgotten.
    pub max_unseen_us: u64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            min_iou: 0.3,
            // A blink of the detector (a missed frame or two) keeps the track;
            // a face gone for a second starts afresh.
            max_unseen_us: 1_000_000,
        }
    }
}

/// What the tracker says about one detection of the current frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assignment {
    /// The track the detection belongs to; on the device only.
    pub track_id: u32,
    /// Where the face was when last seen, `None` for a new track.
    pub previous_box_px: Option<BoxPx>,
    /// Time since the track was last seen, 0 for a new track.
    pub elapsed_us: u64,
}

#[derive(Debug, Clone)]
struct Track<S> {
    id: u32,
    box_px: BoxPx,
    seen_at_us: u64,
    state: S,
}

/// The faces being followed, each with a state `S` (the smoothed traits).
#[derive(Debug)]
pub struct Tracker<S> {
    config: TrackerConfig,
    tracks: Vec<Track<S>>,
    next_id: u32,
}

impl<S: Default> Tracker<S> {
    /// No tracks; ids start at 1.
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config,
            tracks: Vec::new(),
            next_id: 1,
        }
    }

    /// Assigns each of this frame's boxes to a track, in the boxes' order,
    /// starting new tracks for unmatched boxes and forgetting tracks unseen
    /// for too long.
    pub fn update(&mut self, now_us: u64, boxes_px: &[BoxPx]) -> Vec<Assignment> {
        let max_unseen_us = self.config.max_unseen_us;
        self.tracks
            .retain(|track| now_us.saturating_sub(track.seen_at_us) <= max_unseen_us);

        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (t, track) in self.tracks.iter().enumerate() {
            for (d, box_px) in boxes_px.iter().enumerate() {
                let overlap = iou(&track.box_px, box_px);
                if overlap >= self.config.min_iou {
                    pairs.push((overlap, t, d));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));

        let mut track_of_box: Vec<Option<usize>> = vec![None; boxes_px.len()];
        let mut track_taken = vec![false; self.tracks.len()];
        for (_, t, d) in pairs {
            if !track_taken[t] && track_of_box[d].is_none() {
                track_taken[t] = true;
                track_of_box[d] = Some(t);
            }
        }

        boxes_px
            .iter()
            .zip(track_of_box)
            .map(|(&box_px, matched)| match matched {
                Some(t) => {
                    let track = &mut self.tracks[t];
                    let assignment = Assignment {
                        track_id: track.id,
                        previous_box_px: Some(track.box_px),
                        elapsed_us: now_us.saturating_sub(track.seen_at_us),
                    };
                    track.box_px = box_px;
                    track.seen_at_us = now_us;
                    assignment
                }
                None => {
                    let id = self.next_id;
                    self.next_id = self.next_id.wrapping_add(1).max(1);
                    self.tracks.push(Track {
                        id,
                        box_px,
                        seen_at_us: now_us,
                        state: S::default(),
                    });
                    Assignment {
                        track_id: id,
                        previous_box_px: None,
                        elapsed_us: 0,
                    }
                }
            })
            .collect()
    }

    /// The state of a live track.
    pub fn state_mut(&mut self, track_id: u32) -> Option<&mut S> {
        self.tracks
            .iter_mut()
            .find(|track| track.id == track_id)
            .map(|track| &mut track.state)
    }

    /// Tracks currently kept.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// No track is kept.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Forgets every track (end of session).
    pub fn clear(&mut self) {
        self.tracks.clear();
        self.next_id = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f32, y: f32, side: f32) -> BoxPx {
        BoxPx {
            x,
            y,
            width: side,
            height: side,
        }
    }

    fn ids(assignments: &[Assignment]) -> Vec<u32> {
        assignments.iter().map(|a| a.track_id).collect()
    }

    #[test]
    fn moving_faces_keep_their_ids_and_new_faces_get_new_ones() {
        let mut tracker: Tracker<()> = Tracker::new(TrackerConfig::default());
        let first = tracker.update(0, &[square(0.0, 0.0, 100.0), square(300.0, 0.0, 100.0)]);
        assert_eq!(ids(&first), [1, 2]);
        assert_eq!(first[0].previous_box_px, None);
        // Both moved a little, listed in the other order, and a third appears.
        let second = tracker.update(
            33_000,
            &[
                square(305.0, 4.0, 100.0),
                square(400.0, 300.0, 80.0),
                square(6.0, 2.0, 100.0),
            ],
        );
        assert_eq!(ids(&second), [2, 3, 1]);
        assert_eq!(second[0].previous_box_px, Some(square(300.0, 0.0, 100.0)));
        assert_eq!(second[0].elapsed_us, 33_000);
        assert_eq!(tracker.len(), 3);
    }

    #[test]
    fn the_best_overlap_wins_when_two_faces_compete() {
        let mut tracker: Tracker<()> = Tracker::new(TrackerConfig::default());
        tracker.update(0, &[square(0.0, 0.0, 100.0)]);
        // Both overlap track 1; the closer one continues it.
        let next = tracker.update(10_000, &[square(40.0, 0.0, 100.0), square(5.0, 0.0, 100.0)]);
        assert_eq!(ids(&next), [2, 1]);
    }

    #[test]
    fn tracks_unseen_too_long_are_forgotten() {
        let config = TrackerConfig::default();
        let mut tracker: Tracker<u8> = Tracker::new(config);
        tracker.update(0, &[square(0.0, 0.0, 100.0)]);
        *tracker.state_mut(1).expect("track") = 7;
        // Gone for exactly the limit: kept, with its state.
        assert_eq!(
            ids(&tracker.update(config.max_unseen_us, &[square(0.0, 0.0, 100.0)])),
            [1]
        );
        assert_eq!(tracker.state_mut(1).copied(), Some(7));
        // Gone for longer: a new track with a fresh state.
        let later = 2 * config.max_unseen_us + 1;
        assert_eq!(ids(&tracker.update(later, &[square(0.0, 0.0, 100.0)])), [2]);
        assert_eq!(tracker.state_mut(1), None);
        assert_eq!(tracker.state_mut(2).copied(), Some(0));
        tracker.clear();
        assert!(tracker.is_empty());
        assert_eq!(ids(&tracker.update(later, &[square(0.0, 0.0, 100.0)])), [1]);
    }
}
