//! The handful of room-level numbers the decision engine reacts to, read
//! from a k-anonymous [`Snapshot`]: a suppressed cell is `None` here, so it
//! can never trigger a decision.

use serde::{Deserialize, Serialize};

use crate::Snapshot;

/// A room-level signal a policy rule can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Mean attention (weighted by face quality).
    Attention,
    /// Mean probability of a happy expression.
    Happy,
    /// Mean probability of sad + fearful + surprised: the expressions a
    /// lost audience shows, for lack of a "confused" class.
    Confused,
    /// Mean probability of a neutral expression.
    Neutral,
    /// Share of viewers with a face in view.
    FacePresent,
    /// Mean motion.
    Motion,
}

/// The signals of one window at one moment; `None` where the snapshot
/// suppressed the cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Viewers in the window.
    pub viewers: u64,
    /// See [`Signal::Attention`].
    pub attention: Option<f64>,
    /// See [`Signal::Happy`].
    pub happy: Option<f64>,
    /// See [`Signal::Confused`].
    pub confused: Option<f64>,
    /// See [`Signal::Neutral`].
    pub neutral: Option<f64>,
    /// See [`Signal::FacePresent`].
    pub face_present: Option<f64>,
    /// See [`Signal::Motion`].
    pub motion: Option<f64>,
}

// Positions in `Expression::CLASSES`.
const NEUTRAL: usize = 0;
const HAPPY: usize = 1;
const CONFUSED: [usize; 3] = [2, 4, 6]; // sad, fearful, surprised

impl Signals {
    /// The signals a snapshot shows.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mix = snapshot.expression.map(|bands| bands.map(|band| band.estimate));
        Self {
            viewers: snapshot.viewers,
            attention: snapshot.attention.map(|e| e.mean),
            happy: mix.map(|m| m[HAPPY]),
            confused: mix.map(|m| CONFUSED.iter().map(|&i| m[i]).sum()),
            neutral: mix.map(|m| m[NEUTRAL]),
            face_present: snapshot.face_share.map(|e| e.mean),
            motion: snapshot.motion.map(|e| e.mean),
        }
    }

    /// One signal's value.
    pub fn get(&self, signal: Signal) -> Option<f64> {
        match signal {
            Signal::Attention => self.attention,
            Signal::Happy => self.happy,
            Signal::Confused => self.confused,
            Signal::Neutral => self.neutral,
            Signal::FacePresent => self.face_present,
            Signal::Motion => self.motion,
        }
    }
}

#[cfg(test)]
mod tests {
    use parterre_core::{
        AnonymousTraits,
        traits::{Expression, TRAITS_VERSION},
    };

    use super::*;
    use crate::{Aggregate, KAnonymity};

    fn viewer() -> AnonymousTraits {
        AnonymousTraits {
            v: TRAITS_VERSION,
            face_present: true,
            attention: Some(0.25),
            expression: Some(Expression {
                neutral: 0.4,
                happy: 0.1,
                sad: 0.2,
                angry: 0.05,
                fearful: 0.1,
                disgusted: 0.05,
                surprised: 0.1,
            }),
            ..AnonymousTraits::no_face(0.5)
        }
    }

    #[test]
    fn signals_read_the_snapshot_and_suppressed_cells_stay_none() {
        let mut aggregate = Aggregate::default();
        for _ in 0..5 {
            aggregate.add(&viewer(), None);
        }
        let signals = Signals::from_snapshot(&Snapshot::new(&aggregate, KAnonymity::live()));
        let close = |value: Option<f64>, expected: f64| value.is_some_and(|v| (v - expected).abs() < 1e-6);
        assert!(close(signals.get(Signal::Attention), 0.25));
        assert!(close(signals.get(Signal::Confused), 0.4), "{signals:?}");
        assert!(close(signals.get(Signal::Neutral), 0.4));
        assert!(close(signals.get(Signal::Happy), 0.1));
        assert!(close(signals.get(Signal::FacePresent), 1.0));
        assert!(close(signals.get(Signal::Motion), 0.5));
        // Four viewers are below k = 5: every signal is None.
        let mut small = Aggregate::default();
        for _ in 0..4 {
            small.add(&viewer(), None);
        }
        let hidden = Signals::from_snapshot(&Snapshot::new(&small, KAnonymity::live()));
        assert_eq!(
            hidden,
            Signals {
                viewers: 4,
                ..Signals::default()
            }
        );
    }
}
