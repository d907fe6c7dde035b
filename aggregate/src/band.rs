//! Confidence bands, so the panel shows how sure a figure is rather than a
//! bare percentage: Wilson score intervals for shares and Student-t intervals
//! for means, both at 95 % and both on the effective sample size (Kish), so
//! quality-weighted viewers count for what they are worth.
//!
//! Every value this crate averages is in 0..1 (probabilities, attention,
//! motion), so those bands are clipped to [0, 1]. Noisy counts
//! (`crate::release`) reuse the type for their noise band.

use serde::{Deserialize, Serialize};

/// The 97.5 % quantile of the standard normal: a two-sided 95 % band.
const Z_95: f64 = 1.959_963_984_540_054;

/// Student-t 97.5 % quantiles for 1 to 30 degrees of freedom (standard
/// tables); beyond 30 the Cornish–Fisher expansion is within 1e-6 of them.
const T_95: [f64; 30] = [
    12.706_204_7,
    4.302_652_7,
    3.182_446_3,
    2.776_445_1,
    2.570_581_8,
    2.446_911_9,
    2.364_624_3,
    2.306_004_1,
    2.262_157_2,
    2.228_138_9,
    2.200_985_2,
    2.178_812_8,
    2.160_368_7,
    2.144_786_7,
    2.131_449_5,
    2.119_905_3,
    2.109_815_5,
    2.100_922_0,
    2.093_024_1,
    2.085_963_4,
    2.079_613_8,
    2.073_873_1,
    2.068_657_6,
    2.063_898_6,
    2.059_538_6,
    2.055_529_4,
    2.051_830_5,
    2.048_407_1,
    2.045_229_6,
    2.042_272_5,
];

/// A point estimate with its 95 % confidence band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// The point estimate (the observed share or mean).
    pub estimate: f64,
    /// Lower bound of the band.
    pub low: f64,
    /// Upper bound of the band.
    pub high: f64,
}

impl Band {
    /// The band that says nothing: too few samples to bound the value.
    fn whole(estimate: f64) -> Self {
        Self {
            estimate,
            low: 0.0,
            high: 1.0,
        }
    }

    /// Wilson score interval for a share observed over `effective_n`
    /// samples. Unlike the normal (Wald) interval it stays inside [0, 1] and
    /// does not collapse to a point at 0 % or 100 %, which small rooms hit.
    pub fn wilson(share: f64, effective_n: f64) -> Self {
        if effective_n <= 0.0 {
            return Self::whole(share);
        }
        let z2 = Z_95 * Z_95;
        let denominator = 1.0 + z2 / effective_n;
        let center = (share + z2 / (2.0 * effective_n)) / denominator;
        let half =
            Z_95 / denominator * (share * (1.0 - share) / effective_n + z2 / (4.0 * effective_n * effective_n)).sqrt();
        Self {
            estimate: share,
            low: (center - half).max(0.0),
            high: (center + half).min(1.0),
        }
    }

    /// Student-t interval for a mean with sample standard deviation
    /// `std_dev` over `effective_n` samples (degrees of freedom rounded down,
    /// which widens the band rather than narrowing it). Below two samples
    /// there is no spread to measure: the band is all of [0, 1].
    pub fn student_t(mean: f64, std_dev: f64, effective_n: f64) -> Self {
        if effective_n < 2.0 {
            return Self::whole(mean);
        }
        // effective_n ≥ 2, so the floor is a positive whole number.
        let df = (effective_n - 1.0).floor() as u64;
        let half = t_quantile_95(df) * std_dev / effective_n.sqrt();
        Self {
            estimate: mean,
            low: (mean - half).max(0.0),
            high: (mean + half).min(1.0),
        }
    }
}

/// The two-sided 95 % Student-t quantile for `df` ≥ 1 degrees of freedom.
fn t_quantile_95(df: u64) -> f64 {
    match usize::try_from(df) {
        Ok(i @ 1..=30) => T_95[i - 1],
        _ => {
            // Cornish–Fisher expansion of t around the normal quantile.
            let (z, v) = (Z_95, df as f64);
            let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!((actual - expected).abs() < tolerance, "{actual} vs {expected}");
    }

    #[test]
    fn wilson_matches_hand_computed_intervals() {
        // (share, n, low, high): 8/10 and 0/10 and 50/100, worked by hand
        // from the closed form with z = 1.96.
        let cases = [
            (0.8, 10.0, 0.490_17, 0.943_32),
            (0.0, 10.0, 0.0, 0.277_53),
            (0.5, 100.0, 0.403_83, 0.596_17),
        ];
        for (share, n, low, high) in cases {
            let band = Band::wilson(share, n);
            close(band.estimate, share, 1e-15);
            close(band.low, low, 1e-4);
            close(band.high, high, 1e-4);
        }
        assert_eq!(Band::wilson(0.3, 0.0), Band::whole(0.3));
    }

    #[test]
    fn t_quantiles_match_the_tables_past_the_lookup() {
        // Published values the expansion was not fitted to.
        for (df, t) in [
            (31, 2.039_513_4),
            (40, 2.021_075_4),
            (60, 2.000_297_8),
            (120, 1.979_930_4),
        ] {
            close(t_quantile_95(df), t, 1e-5);
        }
        close(t_quantile_95(30), 2.042_272_5, 1e-9);
        close(t_quantile_95(1_000_000), Z_95, 1e-5);
    }

    #[test]
    fn student_t_band_of_four_values() {
        // 0.1, 0.2, 0.3, 0.4: mean 0.25, sample sd 0.129099, t(3) = 3.182446.
        let band = Band::student_t(0.25, 0.129_099_4, 4.0);
        close(band.low, 0.044_574, 1e-5);
        close(band.high, 0.455_426, 1e-5);
        assert_eq!(Band::student_t(0.25, 0.1, 1.5), Band::whole(0.25));
    }
}
