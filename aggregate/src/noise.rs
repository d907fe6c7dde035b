//! Exact discrete Laplace noise for counts: the differential-privacy
//! mechanism behind every stored or exported count.
//!
//! Hand-written rather than taken from OpenDP: the `opendp` crate draws its
//! randomness from OpenSSL or a global generator (so a caller cannot pass
//! one in, and tests cannot seed it), and pulls in `dashu`, `statrs`,
//! `bitvec` and, by default, pyo3 and OpenSSL, for one 60-line sampler.
//! Not floating point either: a floating-point Laplace sample leaks the
//! true value through the pattern of its low bits (Mironov 2012, "On
//! significance of the least significant bits for differential privacy").
//! This is Canonne, Kamath and Steinke 2020 ("The Discrete Gaussian for
//! Differential Privacy"), Algorithm 2, built on exact Bernoulli(exp(−γ))
//! draws for rational γ: only integer comparisons against uniform integers.

use std::num::NonZeroU32;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::AggregateError;

/// A privacy parameter ε, in thousandths so that every scale derived from it
/// is an exact rational. Serialized as the number of thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Epsilon {
    milli: u32,
}

impl Epsilon {
    /// ε = 1: the default budget per viewer per webinar.
    pub const ONE: Self = Self { milli: 1_000 };

    /// ε = `milli` / 1000; zero is refused.
    pub fn from_milli(milli: u32) -> Result<Self, AggregateError> {
        if milli == 0 {
            Err(AggregateError::EpsilonZero)
        } else {
            Ok(Self { milli })
        }
    }

    /// ε in thousandths.
    pub fn milli(self) -> u32 {
        self.milli
    }
}

impl TryFrom<u32> for Epsilon {
    type Error = AggregateError;

    fn try_from(milli: u32) -> Result<Self, Self::Error> {
        Self::from_milli(milli)
    }
}

impl From<Epsilon> for u32 {
    fn from(epsilon: Epsilon) -> Self {
        epsilon.milli
    }
}

/// The discrete Laplace distribution on the integers,
/// P(x) ∝ exp(−|x| · `den` / `num`): scale `num` / `den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscreteLaplace {
    num: u64,
    den: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl DiscreteLaplace {
    /// The noise that makes a release of L1 sensitivity `sensitivity`
    /// ε-differentially private: scale = sensitivity / ε.
    pub fn new(sensitivity: NonZeroU32, epsilon: Epsilon) -> Self {
        let num = u64::from(sensitivity.get()) * 1_000;
        let den = u64::from(epsilon.milli);
        let divisor = gcd(num, den);
        Self {
            num: num / divisor,
            den: den / divisor,
        }
    }

    /// One sample (Canonne, Kamath, Steinke 2020, Algorithm 2 with
    /// s = `den`, t = `num`).
    pub fn sample<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> i64 {
        let (s, t) = (self.den, self.num);
        loop {
            // X = U + t·V is geometric with ratio exp(−1/t): U carries the
            // fraction (accepted with probability exp(−U/t)), V the whole
            // multiples of t.
            let u = uniform_below(rng, t);
            if !bernoulli_exp_neg(rng, u, t) {
                continue;
            }
            let mut v = 0u64;
            while bernoulli_exp_neg(rng, 1, 1) {
                v = v.saturating_add(1);
            }
            let x = u.saturating_add(t.saturating_mul(v));
            // ⌊X / s⌋ is geometric with ratio exp(−s/t); a random sign,
            // rejecting "−0" so zero is not counted twice.
            let magnitude = i64::try_from(x / s).unwrap_or(i64::MAX);
            let negative = uniform_below(rng, 2) == 1;
            if negative && magnitude == 0 {
                continue;
            }
            return if negative { -magnitude } else { magnitude };
        }
    }
}

impl DiscreteLaplace {
    /// The smallest m with P(|X| > m) ≤ `alpha`, from
    /// P(|X| > m) = 2p^(m+1) / (1 + p), p = exp(−1/scale). Floating point is
    /// harmless here: it only touches the public scale, never a count.
    pub(crate) fn tail_bound(&self, alpha: f64) -> u64 {
        let p = (-(self.den as f64) / self.num as f64).exp();
        let exponent = ((alpha * (1.0 + p) / 2.0).ln() / p.ln()).ceil();
        // A finite, non-negative whole number for 0 < alpha < 1.
        (exponent - 1.0).max(0.0) as u64
    }
}

/// A uniform integer in `0..bound` (`bound` ≥ 1), by rejection so every
/// residue is exactly equally likely.
fn uniform_below<R: CryptoRng + ?Sized>(rng: &mut R, bound: u64) -> u64 {
    // 2^64 mod bound: draws below it would favour the small residues.
    let biased = bound.wrapping_neg() % bound;
    loop {
        let draw = rng.next_u64();
        if draw >= biased {
            return draw % bound;
        }
    }
}

/// Bernoulli(`num` / `den`), `num` ≤ `den`.
fn bernoulli<R: CryptoRng + ?Sized>(rng: &mut R, num: u64, den: u64) -> bool {
    uniform_below(rng, den) < num
}

/// Bernoulli(exp(−γ)) for γ = `num` / `den` ≥ 0, exactly (CKS 2020,
/// Algorithm 1): exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)).
fn bernoulli_exp_neg<R: CryptoRng + ?Sized>(rng: &mut R, num: u64, den: u64) -> bool {
    for _ in 0..num / den {
        if !bernoulli_exp_neg_unit(rng, 1, 1) {
            return false;
        }
    }
    bernoulli_exp_neg_unit(rng, num % den, den)
}

/// Bernoulli(exp(−γ)) for γ = `num` / `den` in [0, 1]: draw Bernoulli(γ/k)
/// for k = 1, 2, … until one fails; the first failure falls on an odd k
/// with probability Σ (−γ)^j / j! = exp(−γ).
fn bernoulli_exp_neg_unit<R: CryptoRng + ?Sized>(rng: &mut R, num: u64, den: u64) -> bool {
    let mut k = 1u64;
    // `den · k` only saturates past k ≈ 2^22 (den < 2^42), which has
    // probability below 1 / (2^22)!: never.
    while bernoulli(rng, num, den.saturating_mul(k)) {
        k += 1;
    }
    k % 2 == 1
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    const SAMPLES: usize = 60_000;

    fn laplace(sensitivity: u32, milli_epsilon: u32) -> DiscreteLaplace {
        let sensitivity = NonZeroU32::new(sensitivity).expect("non-zero");
        DiscreteLaplace::new(sensitivity, Epsilon::from_milli(milli_epsilon).expect("positive"))
    }

    fn draws(noise: DiscreteLaplace, seed: u64) -> Vec<i64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..SAMPLES).map(|_| noise.sample(&mut rng)).collect()
    }

    /// Pearson's χ² of `samples` against P(x) ∝ exp(−|x| / scale), with
    /// one cell per value while the expected count is ≥ 20 and one cell
    /// per tail. Returns (χ², degrees of freedom).
    fn chi_square(samples: &[i64], scale: f64) -> (f64, usize) {
        let p = (-1.0 / scale).exp();
        let n = samples.len() as f64;
        let probability = |x: i64| (1.0 - p) / (1.0 + p) * p.powi(x.unsigned_abs() as i32);
        let mut edge = 0i64;
        while n * probability(edge + 1) >= 20.0 {
            edge += 1;
        }
        let observed = |x: i64| samples.iter().filter(|&&s| s == x).count() as f64;
        let mut chi2 = 0.0;
        let mut cells = 0;
        for x in -edge..=edge {
            let expected = n * probability(x);
            chi2 += (observed(x) - expected).powi(2) / expected;
            cells += 1;
        }
        // Each tail: P(X > edge) = p^(edge+1) / (1 + p).
        let tail = n * p.powi(edge as i32 + 1) / (1.0 + p);
        for above in [true, false] {
            let count = samples
                .iter()
                .filter(|&&s| if above { s > edge } else { s < -edge })
                .count() as f64;
            chi2 += (count - tail).powi(2) / tail;
            cells += 1;
        }
        (chi2, cells - 1)
    }

    /// The 99.9 % quantile of χ²(df), Wilson–Hilferty: accurate to ~1 %
    /// for df ≥ 10.
    fn chi2_critical(df: usize) -> f64 {
        let df = df as f64;
        let z = 3.090_232; // Φ⁻¹(0.999)
        let c = 2.0 / (9.0 * df);
        df * (1.0 - c + z * c.sqrt()).powi(3)
    }

    #[test]
    fn samples_follow_the_discrete_laplace_law_and_a_wrong_scale_is_rejected() {
        // (sensitivity, ε‰, scale): integer and fractional scales, the
        // latter exercising s > 1 (scale 5/2 → s = 2, t = 5).
        for (sensitivity, milli, scale) in [(1, 500, 2.0), (1, 400, 2.5), (5, 1_000, 5.0)] {
            let samples = draws(laplace(sensitivity, milli), u64::from(milli));
            let (chi2, df) = chi_square(&samples, scale);
            let critical = chi2_critical(df);
            assert!(
                df >= 10 && chi2 < critical,
                "scale {scale}: χ² {chi2:.1} ≥ {critical:.1} at {df} df"
            );
            // Negative control: the same samples judged against a scale 10 %
            // off must fail the very same check.
            let (wrong, wrong_df) = chi_square(&samples, scale * 1.1);
            assert!(
                wrong > chi2_critical(wrong_df),
                "scale {scale}: a 10 % error passed (χ² {wrong:.1})"
            );
        }
    }

    #[test]
    fn variance_is_two_p_over_one_minus_p_squared() {
        // Scale 2: p = e^(−1/2), variance 2p / (1 − p)² ≈ 7.836.
        let samples = draws(laplace(1, 500), 7);
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<i64>() as f64 / n;
        let variance = samples.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let p = (-0.5f64).exp();
        let expected = 2.0 * p / (1.0 - p).powi(2);
        // Relative standard error of a Laplace variance at 60k samples ≈ 1 %.
        assert!((variance / expected - 1.0).abs() < 0.04, "{variance} vs {expected}");
        assert!(mean.abs() < 0.05, "{mean}");
    }

    #[test]
    fn bernoulli_exp_neg_hits_its_probability() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for (num, den) in [(0, 1), (1, 3), (3, 2), (5, 1)] {
            let trials = 40_000;
            let hits = (0..trials).filter(|_| bernoulli_exp_neg(&mut rng, num, den)).count() as f64;
            let p = (-(num as f64) / den as f64).exp();
            let sigma = (p * (1.0 - p) / trials as f64).sqrt();
            assert!(
                (hits / trials as f64 - p).abs() <= 4.0 * sigma + 1e-12,
                "γ = {num}/{den}: {hits}"
            );
        }
    }

    #[test]
    fn scale_is_sensitivity_over_epsilon_in_lowest_terms() {
        assert_eq!(laplace(5, 1_000), DiscreteLaplace { num: 5, den: 1 });
        assert_eq!(laplace(1, 400), DiscreteLaplace { num: 5, den: 2 });
        assert_eq!(laplace(3, 7), DiscreteLaplace { num: 3_000, den: 7 });
        assert_eq!(Epsilon::from_milli(0), Err(AggregateError::EpsilonZero));
        assert_eq!(
            serde_json::from_str::<Epsilon>("250").map(Epsilon::milli).ok(),
            Some(250)
        );
        assert!(serde_json::from_str::<Epsilon>("0").is_err());
    }

    #[test]
    fn tail_bounds_match_hand_computed_quantiles() {
        // Scale 5, p = e^(−0.2): P(|X| > 15) = 2e^(−3.2) / (1 + p) = 0.0448,
        // P(|X| > 14) = 0.0548, so the 95 % bound is 15.
        assert_eq!(laplace(5, 1_000).tail_bound(0.05), 15);
        // Scale 1/10: P(|X| > 0) = 2e^(−10) / (1 + e^(−10)) < 1e-4.
        assert_eq!(laplace(1, 10_000).tail_bound(0.001), 0);
        // Empirically: at most 5 % of draws beyond the bound, more than 5 %
        // beyond one less.
        let samples = draws(laplace(5, 1_000), 5);
        let beyond = |m: i64| samples.iter().filter(|x| x.abs() > m).count() as f64 / SAMPLES as f64;
        assert!(beyond(15) < 0.05 && beyond(14) > 0.05, "{} {}", beyond(15), beyond(14));
    }

    #[test]
    fn uniform_below_is_flat() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[uniform_below(&mut rng, 3) as usize] += 1;
        }
        // 10 000 expected each, σ ≈ 82.
        assert!(counts.iter().all(|&c| c.abs_diff(10_000) < 400), "{counts:?}");
    }
}
