//! k-anonymity on the output: what may be shown (live) or stored and
//! exported. A cell computed from fewer than k viewers is suppressed (`None`),
//! never rounded, and so is a cell that could be derived from the others.
//! Every shown share and mean carries its 95 % band.

use serde::Serialize;

use crate::{
    AggregateError,
    aggregate::{AGE_BUCKETS, Aggregate, Binary, PermanenceSummary},
    band::Band,
    moments::{Estimate, Moments},
};

/// A k-anonymity threshold. Both kinds can only be raised above their floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KAnonymity {
    k: u64,
}

impl KAnonymity {
    /// Live default: the panel shows no cell from fewer than 5 viewers.
    pub const LIVE_FLOOR: u64 = 5;
    /// Stored and exported cells need at least 11 viewers.
    pub const EXPORT_FLOOR: u64 = 11;

    /// The live default, k = 5.
    pub fn live() -> Self {
        Self { k: Self::LIVE_FLOOR }
    }

    /// The stored and exported default, k = 11.
    pub fn export() -> Self {
        Self { k: Self::EXPORT_FLOOR }
    }

    /// A stricter live threshold; below 5 is refused.
    pub fn live_with(k: u64) -> Result<Self, AggregateError> {
        Self::at_least(k, Self::LIVE_FLOOR, "live")
    }

    /// A stricter stored and exported threshold; below 11 is refused.
    pub fn export_with(k: u64) -> Result<Self, AggregateError> {
        Self::at_least(k, Self::EXPORT_FLOOR, "export")
    }

    fn at_least(k: u64, floor: u64, purpose: &'static str) -> Result<Self, AggregateError> {
        if k < floor {
            Err(AggregateError::KBelowFloor {
                requested: k,
                floor,
                purpose,
            })
        } else {
            Ok(Self { k })
        }
    }

    /// Any k, so tests can show a cell is suppressed because of k and nothing
    /// else (the negative control with k = 1).
    #[cfg(test)]
    pub(crate) fn unchecked(k: u64) -> Self {
        Self { k }
    }

    /// The threshold.
    pub fn k(&self) -> u64 {
        self.k
    }
}

/// What may leave the aggregator: every cell from fewer than k viewers is
/// `None`. Shares are fractions of the viewers who reported that trait, with
/// Wilson bands; means have Student-t bands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// The k applied.
    pub k: u64,
    /// Viewer samples in the aggregate (a count of people, not a breakdown).
    pub viewers: u64,
    /// Share with a face in view.
    pub face_share: Option<Estimate>,
    /// Attention, weighted by face quality.
    pub attention: Option<Estimate>,
    /// Motion level.
    pub motion: Option<Estimate>,
    /// Mean expression probabilities, in `Expression::CLASSES` order.
    pub expression: Option<[Band; 7]>,
    /// Share of age-reporting viewers per age bucket.
    pub age_shares: [Option<Band>; AGE_BUCKETS],
    /// Mean probability of appearing female (male is its complement).
    pub female_share: Option<Estimate>,
    /// Share with glasses.
    pub glasses_share: Option<Estimate>,
    /// Share with a beard.
    pub beard_share: Option<Estimate>,
    /// Frame permanence: shown at any size, as it describes the devices'
    /// memory handling, not the people.
    pub permanence: PermanenceView,
}

/// The permanence figures shown on the panel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PermanenceView {
    /// Viewers that reported.
    pub viewers: u64,
    /// Mean of the viewers' mean frame lives.
    pub mean_of_means_ms: Option<f64>,
    /// Worst p99.
    pub max_p99_ms: f64,
    /// Longest life.
    pub max_ms: f64,
}

impl From<&PermanenceSummary> for PermanenceView {
    fn from(p: &PermanenceSummary) -> Self {
        Self {
            viewers: p.viewers,
            mean_of_means_ms: p.mean_of_means_ms(),
            max_p99_ms: p.max_p99_ms,
            max_ms: p.max_ms,
        }
    }
}

impl Snapshot {
    /// The aggregate as it may be shown under `k`.
    pub fn new(aggregate: &Aggregate, k: KAnonymity) -> Self {
        let k = k.k();
        // Every class is added together, so class 0's count is the mix's.
        let expression = (aggregate.expression[0].viewers >= k).then(|| {
            aggregate
                .expression
                .map(|m| m.share_estimate().map_or(Band::wilson(0.0, 0.0), |e| e.band))
        });
        Self {
            k,
            viewers: aggregate.viewers,
            // Not a breakdown of who the viewers are but whether their camera
            // sees them, so like attention it needs k viewers in total rather
            // than k on each side: a room where every face is in view shows 1.
            face_share: shown(&aggregate.face.probability, k).and_then(Moments::share_estimate),
            attention: shown(&aggregate.attention, k).and_then(Moments::estimate),
            motion: shown(&aggregate.motion, k).and_then(Moments::estimate),
            expression,
            age_shares: age_shares(&aggregate.age_viewers, k),
            female_share: binary(&aggregate.gender_female, k),
            glasses_share: binary(&aggregate.glasses, k),
            beard_share: binary(&aggregate.beard, k),
            permanence: (&aggregate.permanence).into(),
        }
    }
}

fn shown(m: &Moments, k: u64) -> Option<&Moments> {
    (m.viewers >= k).then_some(m)
}

/// A yes/no share is a two-cell breakdown whose cells derive from each other
/// (no = 1 − yes), so both sides must hold k viewers or neither is shown.
fn binary(b: &Binary, k: u64) -> Option<Estimate> {
    if b.yes_viewers >= k && b.no_viewers >= k {
        b.probability.share_estimate()
    } else {
        None
    }
}

/// Age shares with primary and complementary suppression.
///
/// Primary: a bucket with fewer than k viewers (zero included) is hidden.
/// Complementary: the shares sum to 1, so a single hidden bucket would be 1
/// minus the shown ones; then the smallest shown bucket is hidden too, which
/// leaves at least two hidden buckets whose split cannot be recovered.
fn age_shares(counts: &[u64; AGE_BUCKETS], k: u64) -> [Option<Band>; AGE_BUCKETS] {
    let total: u64 = counts.iter().sum();
    let mut shown = counts.map(|count| count >= k);
    if shown.iter().filter(|&&s| !s).count() == 1 {
        let smallest_shown = (0..AGE_BUCKETS).filter(|&i| shown[i]).min_by_key(|&i| counts[i]);
        if let Some(i) = smallest_shown {
            shown[i] = false;
        }
    }
    let mut shares = [None; AGE_BUCKETS];
    for i in 0..AGE_BUCKETS {
        if shown[i] {
            shares[i] = Some(Band::wilson(counts[i] as f64 / total as f64, total as f64));
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    use parterre_core::{
        AnonymousTraits,
        traits::{Expression, TRAITS_VERSION},
    };

    /// A viewer with a face, with or without glasses.
    fn viewer(glasses: bool, age_years: f32) -> AnonymousTraits {
        AnonymousTraits {
            v: TRAITS_VERSION,
            face_present: true,
            motion: 0.2,
            expression: Some(Expression {
                neutral: 0.25,
                happy: 0.75,
                sad: 0.0,
                angry: 0.0,
                fearful: 0.0,
                disgusted: 0.0,
                surprised: 0.0,
            }),
            age_years: Some(age_years),
            gender_female: None,
            glasses: Some(if glasses { 1.0 } else { 0.0 }),
            beard: None,
            head_pose: None,
            attention: Some(0.5),
            quality: None,
        }
    }

    fn estimates(bands: &[Option<Band>]) -> Vec<Option<f64>> {
        bands.iter().map(|band| band.map(|b| b.estimate)).collect()
    }

    fn room(with_glasses: usize, without_glasses: usize) -> Aggregate {
        let mut aggregate = Aggregate::default();
        for i in 0..with_glasses + without_glasses {
            aggregate.add(&viewer(i < with_glasses, 30.0), None);
        }
        aggregate
    }

    #[test]
    fn a_share_below_k_is_suppressed_and_shown_at_k() {
        // 4 with glasses, 6 without: the glasses side is below k = 5.
        let below = Snapshot::new(&room(4, 6), KAnonymity::live());
        assert_eq!(below.glasses_share, None);
        // At k: 5 with glasses of 11.
        let at = Snapshot::new(&room(5, 6), KAnonymity::live());
        let share = at.glasses_share.expect("shown at k");
        assert!((share.mean - 5.0 / 11.0).abs() < 1e-12);
        assert_eq!(share.viewers, 11);
        // Negative control: the same room with k = 1 shows the cell.
        let control = Snapshot::new(&room(4, 6), KAnonymity::unchecked(1));
        assert!((control.glasses_share.expect("shown").mean - 0.4).abs() < 1e-12);
    }

    #[test]
    fn a_share_whose_complement_is_below_k_is_suppressed() {
        // 10 with glasses, 1 without: "without" is one person.
        let snapshot = Snapshot::new(&room(10, 1), KAnonymity::live());
        assert_eq!(snapshot.glasses_share, None);
        assert_eq!(snapshot.viewers, 11);
    }

    #[test]
    fn expression_mix_attention_face_and_age_follow_k() {
        let below = Snapshot::new(&room(2, 2), KAnonymity::live());
        assert_eq!(below.expression, None);
        assert_eq!(below.attention, None);
        assert_eq!(below.face_share, None);
        assert_eq!(below.age_shares, [None; AGE_BUCKETS]);
        let at = Snapshot::new(&room(2, 3), KAnonymity::live());
        let mix = at.expression.expect("shown at k");
        assert_eq!(mix.map(|b| b.estimate), [0.25, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0]);
        // Each class share carries its Wilson band over the 5 viewers.
        assert_eq!(mix[1], Band::wilson(0.75, 5.0));
        assert_eq!(at.attention.map(|a| a.mean), Some(0.5));
        // Every face in view: the share needs k viewers in total, not k without a face.
        assert_eq!(at.face_share.map(|f| f.mean), Some(1.0));
        // Everyone is 25–34; the other buckets (0 viewers) stay hidden.
        assert_eq!(
            estimates(&at.age_shares),
            [None, None, Some(1.0), None, None, None, None]
        );
        // Export needs 11: the same room shows nothing there.
        let export = Snapshot::new(&room(2, 3), KAnonymity::export());
        assert_eq!((export.expression, export.attention), (None, None));
        let control = Snapshot::new(&room(2, 2), KAnonymity::unchecked(1));
        let control_mix = control.expression.map(|mix| mix.map(|b| b.estimate));
        assert_eq!(control_mix, Some([0.25, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0]));
    }

    #[test]
    fn snapshots_serialize_their_bands() {
        let json = serde_json::to_value(Snapshot::new(&room(5, 6), KAnonymity::live())).expect("serialize");
        // 5 of 11 with glasses: Wilson 0.2127..0.7199 (hand-computed).
        let band = &json["glasses_share"]["band"];
        let low = band["low"].as_f64().expect("low");
        let high = band["high"].as_f64().expect("high");
        assert!((low - 0.212_7).abs() < 1e-3 && (high - 0.719_9).abs() < 1e-3, "{band}");
        assert_eq!(json["expression"][1]["estimate"], 0.75);
        assert!(json["beard_share"].is_null());
    }

    #[test]
    fn thresholds_only_go_up() {
        assert_eq!(KAnonymity::live().k(), 5);
        assert_eq!(KAnonymity::export().k(), 11);
        assert_eq!(KAnonymity::export_with(20).map(|k| k.k()), Ok(20));
        assert_eq!(KAnonymity::live_with(5).map(|k| k.k()), Ok(5));
        let refused = KAnonymity::export_with(10).expect_err("below 11");
        assert_eq!(
            refused,
            AggregateError::KBelowFloor {
                requested: 10,
                floor: 11,
                purpose: "export"
            }
        );
        assert!(refused.to_string().contains("only be configured upward"), "{refused}");
        assert!(KAnonymity::live_with(4).is_err());
    }

    #[test]
    fn an_age_bucket_below_k_is_hidden_with_its_complement() {
        // k = 5: bucket 2 has 4 viewers; all others 0 or ≥ 5.
        let counts = [0, 10, 4, 6, 0, 0, 0];
        let shares = age_shares(&counts, 5);
        // 0-count buckets are hidden too, so several cells are already hidden
        // and the 4 cannot be isolated: shown as computed.
        assert_eq!(estimates(&shares), [None, Some(0.5), None, Some(0.3), None, None, None]);
        assert_eq!(shares[1], Some(Band::wilson(0.5, 20.0)));
    }

    #[test]
    fn a_single_hidden_age_bucket_takes_the_smallest_shown_one_with_it() {
        // Every bucket but one holds ≥ 5, so the 3 would be 1 − Σ shown.
        let counts = [5, 6, 7, 8, 9, 10, 3];
        let total = 48.0;
        let shares = age_shares(&counts, 5);
        assert_eq!(shares[6], None);
        assert_eq!(shares[0], None, "the smallest shown bucket is hidden as complement");
        assert_eq!(shares[1].map(|b| b.estimate), Some(6.0 / total));
        assert_eq!(shares.iter().filter(|s| s.is_none()).count(), 2);
        // Negative control: with k = 1 nothing is hidden.
        assert!(age_shares(&counts, 1).iter().all(Option::is_some));
    }
}
