//! Noisy counts for storage and export: the differentially private form of
//! an aggregate's breakdowns.
//!
//! What is released: five histograms of viewer counts — face in view
//! (yes/no), the seven age buckets, apparent female (yes/no), glasses
//! (yes/no), beard (yes/no) — plus the viewer total, computed as face yes +
//! face no from the noisy counts (post-processing, so it costs nothing).
//!
//! Sensitivity: a viewer sample adds one to exactly one cell of each
//! histogram (or to none, when the trait is off), so adding or removing one
//! sample (the add/remove notion of neighbouring data sets) moves the
//! released vector by at most 5 in L1. A viewer contributes at most
//! `contributions_per_viewer` samples to the aggregate: 1 for a
//! [`crate::Window`], which counts each viewer index once, and the number of
//! minutes for [`crate::Live::session`], which counts one sample per viewer
//! per minute (both assume the server keeps one index per viewer). So the L1 sensitivity is Δ = 5 · contributions, every
//! count gets discrete Laplace noise of scale Δ / ε, and the release is
//! ε-differentially private with respect to any one viewer. Its ε is paid
//! from the webinar's [`PrivacyBudget`] before anything is drawn.
//!
//! Suppression is decided on the noisy count, never the true one: a gate on
//! the true count is not differentially private (whether a cell appears
//! would itself reveal whether its count reached k), while a decision on
//! the noisy count is post-processing and keeps ε intact. The threshold is
//! k (never below the export floor of 11) plus the noise's one-sided 99 %
//! quantile, so a cell with fewer than k
//! viewers is shown with probability below 1 %, and then only as a noisy
//! value. Shown counts are clamped at 0 (post-processing) and carry a 95 %
//! band for the noise.

use std::num::{NonZeroU16, NonZeroU32};

use rand_core::CryptoRng;
use serde::Serialize;

use crate::{
    AggregateError, KAnonymity,
    aggregate::{AGE_BUCKETS, Aggregate, Binary},
    band::Band,
    budget::PrivacyBudget,
    noise::{DiscreteLaplace, Epsilon},
};

/// How many histograms a release holds: each viewer sample is in at most
/// one cell of each, so this is the L1 sensitivity per sample.
pub const RELEASED_HISTOGRAMS: NonZeroU32 = match NonZeroU32::new(5) {
    Some(n) => n,
    None => unreachable!(),
};

/// Probability that a cell with fewer than k viewers is shown at all.
const BELOW_K_SHOWN: f64 = 0.01;

/// A yes/no breakdown, shown only when both noisy sides clear the threshold
/// (each side is the other's complement, as in [`crate::Snapshot`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NoisySplit {
    /// Viewers on the yes side.
    pub yes_viewers: Band,
    /// Viewers on the no side.
    pub no_viewers: Band,
}

/// What may be stored or exported: noisy counts only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoisyRelease {
    /// ε this release cost.
    pub epsilon: Epsilon,
    /// The k behind the threshold.
    pub k: u64,
    /// The noisy count a cell needed to be shown: k plus the noise margin.
    pub threshold: u64,
    /// Viewers (noisy face yes + noisy face no), always shown.
    pub viewers: Band,
    /// Face in view.
    pub face: Option<NoisySplit>,
    /// Viewers per age bucket.
    pub age_viewers: [Option<Band>; AGE_BUCKETS],
    /// Apparent female.
    pub female: Option<NoisySplit>,
    /// Glasses.
    pub glasses: Option<NoisySplit>,
    /// Beard.
    pub beard: Option<NoisySplit>,
}

/// Draws noisy counts with one noise law and applies the threshold.
struct Noiser<'a, R: ?Sized> {
    noise: DiscreteLaplace,
    rng: &'a mut R,
    threshold: u64,
    half_width: u64,
}

impl<R: CryptoRng + ?Sized> Noiser<'_, R> {
    /// The true count plus noise, clamped at 0.
    fn noisy(&mut self, count: u64) -> u64 {
        let noisy = i64::try_from(count)
            .unwrap_or(i64::MAX)
            .saturating_add(self.noise.sample(self.rng));
        noisy.max(0).unsigned_abs()
    }

    fn cell(&mut self, count: u64) -> Option<Band> {
        let noisy = self.noisy(count);
        (noisy >= self.threshold).then(|| band(noisy, self.half_width))
    }

    /// The split if both sides clear the threshold, and the noisy total.
    /// Both sides are always drawn, so the draws do not depend on what is shown.
    fn split(&mut self, binary: &Binary) -> (Option<NoisySplit>, u64) {
        let yes = self.noisy(binary.yes_viewers);
        let no = self.noisy(binary.no_viewers);
        let shown = yes >= self.threshold && no >= self.threshold;
        let split = shown.then(|| NoisySplit {
            yes_viewers: band(yes, self.half_width),
            no_viewers: band(no, self.half_width),
        });
        (split, yes.saturating_add(no))
    }
}

fn band(noisy: u64, half_width: u64) -> Band {
    Band {
        estimate: noisy as f64,
        low: noisy.saturating_sub(half_width) as f64,
        high: noisy.saturating_add(half_width) as f64,
    }
}

/// Releases `aggregate`'s counts at cost `epsilon`, paid from `budget`.
/// `contributions_per_viewer` bounds how many samples of one viewer the
/// aggregate holds (1 for a window; the minutes watched for the session).
/// Refused, drawing nothing, when the budget cannot pay.
pub fn release<R: CryptoRng + ?Sized>(
    aggregate: &Aggregate,
    k: KAnonymity,
    epsilon: Epsilon,
    contributions_per_viewer: NonZeroU16,
    budget: &mut PrivacyBudget,
    rng: &mut R,
) -> Result<NoisyRelease, AggregateError> {
    budget.spend(epsilon)?;
    // ≤ 5 · 65535: no overflow.
    let sensitivity = NonZeroU32::from(contributions_per_viewer).saturating_mul(RELEASED_HISTOGRAMS);
    let noise = DiscreteLaplace::new(sensitivity, epsilon);
    // One-sided tail at 1 % = two-sided at 2 %.
    let margin = noise.tail_bound(2.0 * BELOW_K_SHOWN);
    let mut noiser = Noiser {
        noise,
        rng,
        threshold: k.k().max(KAnonymity::EXPORT_FLOOR).saturating_add(margin),
        half_width: noise.tail_bound(0.05),
    };
    let (face, viewers) = noiser.split(&aggregate.face);
    let age_viewers = aggregate.age_viewers.map(|count| noiser.cell(count));
    // The total's noise is a sum of two draws, each within its 97.5 % bound
    // with probability ≥ 97.5 %, so the sum is within both with ≥ 95 %.
    let total_half_width = 2 * noise.tail_bound(0.025);
    Ok(NoisyRelease {
        epsilon,
        k: k.k(),
        threshold: noiser.threshold,
        viewers: band(viewers, total_half_width),
        face,
        age_viewers,
        female: noiser.split(&aggregate.gender_female).0,
        glasses: noiser.split(&aggregate.glasses).0,
        beard: noiser.split(&aggregate.beard).0,
    })
}

#[cfg(test)]
mod tests {
    use parterre_core::{AnonymousTraits, traits::TRAITS_VERSION};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    use super::*;

    const RELEASES: usize = 2_000;

    /// `young` viewers aged 20 and `old` aged 50, half of each with glasses.
    fn room(young: usize, old: usize) -> Aggregate {
        let mut aggregate = Aggregate::default();
        for i in 0..young + old {
            let traits = AnonymousTraits {
                v: TRAITS_VERSION,
                face_present: true,
                age_years: Some(if i < young { 20.0 } else { 50.0 }),
                glasses: Some(if i % 2 == 0 { 1.0 } else { 0.0 }),
                ..AnonymousTraits::no_face(0.1)
            };
            aggregate.add(&traits, None);
        }
        aggregate
    }

    fn once() -> NonZeroU16 {
        NonZeroU16::MIN
    }

    fn releases(aggregate: &Aggregate, contributions: NonZeroU16) -> Vec<NoisyRelease> {
        let epsilon = Epsilon::ONE;
        let mut budget = PrivacyBudget::new(Epsilon::from_milli(1_000 * RELEASES as u32).expect("positive"));
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        (0..RELEASES)
            .map(|_| {
                release(
                    aggregate,
                    KAnonymity::export(),
                    epsilon,
                    contributions,
                    &mut budget,
                    &mut rng,
                )
            })
            .collect::<Result<_, _>>()
            .expect("budget covers every release")
    }

    fn variance(values: &[f64]) -> f64 {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    }

    #[test]
    fn counts_get_noise_of_scale_five_contributions_over_epsilon() {
        let aggregate = room(200, 200);
        for (contributions, scale) in [(1u16, 5.0f64), (2, 10.0)] {
            let contributions = NonZeroU16::new(contributions).expect("non-zero");
            let shown: Vec<f64> = releases(&aggregate, contributions)
                .iter()
                .map(|r| r.age_viewers[1].expect("200 viewers clear the threshold").estimate)
                .collect();
            let p = (-1.0 / scale).exp();
            let expected = 2.0 * p / (1.0 - p).powi(2);
            // 2000 draws: the variance is known to about ±5 %. Forgetting the
            // five histograms (scale 1, variance 1.8) would fail by far.
            let measured = variance(&shown);
            assert!(
                (measured / expected - 1.0).abs() < 0.2,
                "scale {scale}: {measured} vs {expected}"
            );
            let mean = shown.iter().sum::<f64>() / shown.len() as f64;
            assert!((mean - 200.0).abs() < 1.5, "{mean}");
        }
    }

    #[test]
    fn a_cell_below_k_is_rarely_shown_and_a_large_one_almost_always() {
        // k = 11, scale 5: threshold 11 + 20. Bucket 18–24 holds 10 viewers.
        let all = releases(&room(10, 60), once());
        assert_eq!(all[0].threshold, 31);
        // The live k (5) is no way around the export floor.
        let mut budget = PrivacyBudget::default();
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let live = release(
            &room(10, 60),
            KAnonymity::live(),
            Epsilon::ONE,
            once(),
            &mut budget,
            &mut rng,
        );
        assert_eq!(live.map(|r| r.threshold), Ok(31));
        let share =
            |bucket: usize| all.iter().filter(|r| r.age_viewers[bucket].is_some()).count() as f64 / RELEASES as f64;
        // P(noise ≥ 21) = e^(−4.2) / (1 + e^(−0.2)) ≈ 0.8 %.
        assert!(share(1) < 0.015, "{}", share(1));
        assert!(share(4) > 0.99, "{}", share(4));
        // Negative control: the bare rule "noisy count ≥ k" would show the
        // 10-viewer cell in about 45 % of releases.
        let noise = DiscreteLaplace::new(RELEASED_HISTOGRAMS, Epsilon::ONE);
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let naive = (0..RELEASES).filter(|_| 10 + noise.sample(&mut rng) >= 11).count() as f64 / RELEASES as f64;
        assert!(naive > 0.35, "{naive}");
    }

    #[test]
    fn an_exhausted_budget_refuses_and_draws_nothing() {
        let aggregate = room(30, 30);
        let mut budget = PrivacyBudget::default();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let half = Epsilon::from_milli(500).expect("positive");
        for _ in 0..2 {
            release(&aggregate, KAnonymity::export(), half, once(), &mut budget, &mut rng).expect("within budget");
        }
        let before = rng.clone();
        let refused = release(&aggregate, KAnonymity::export(), half, once(), &mut budget, &mut rng);
        assert_eq!(
            refused,
            Err(AggregateError::BudgetExhausted {
                requested_milli_epsilon: 500,
                remaining_milli_epsilon: 0
            })
        );
        assert_eq!(
            rng.next_u64(),
            before.clone().next_u64(),
            "the refusal consumed randomness"
        );
    }

    #[test]
    fn bands_cover_the_noise() {
        let all = releases(&room(60, 60), once());
        // The 95 % band around the noisy count holds the true count ≥ 95 %
        // of the time (the bound is conservative: 95.5 % here).
        let covered = all
            .iter()
            .filter_map(|r| r.age_viewers[1])
            .filter(|b| b.low <= 60.0 && 60.0 <= b.high)
            .count() as f64;
        assert!(covered / RELEASES as f64 > 0.94, "{covered}");
        let total_covered = all
            .iter()
            .filter(|r| r.viewers.low <= 120.0 && 120.0 <= r.viewers.high)
            .count();
        assert!(total_covered as f64 / RELEASES as f64 > 0.95, "{total_covered}");
    }
}
