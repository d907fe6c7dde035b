//! Per-connection rate limit: a token bucket, so a viewer may send a short
//! burst (a page catching up after a stall) but not a flood. Time comes in
//! from the caller, so the bucket is tested without sleeping.

use std::time::Instant;

/// A token bucket refilled at `per_s` tokens a second up to `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_s: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(per_s: u32, burst: u32, now: Instant) -> Self {
        Self {
            per_s: f64::from(per_s),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes one token at `now`; `false` when the bucket is empty.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_s).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 20, start);
        // 20 at once pass, the 21st does not.
        assert_eq!((0..21).filter(|_| bucket.take(start)).count(), 20);
        // 0.5 s later, 5 tokens have come back, no more.
        let later = start + Duration::from_millis(500);
        assert_eq!((0..10).filter(|_| bucket.take(later)).count(), 5);
        // A steady 10 per second is never refused.
        let mut steady = TokenBucket::new(10, 20, start);
        let step = Duration::from_millis(100);
        assert!((1..=1_000).all(|i| steady.take(start + step * i)));
        // Negative control: 20 per second runs dry within a few seconds.
        let mut flood = TokenBucket::new(10, 20, start);
        assert!(!(1..=200).all(|i| flood.take(start + step / 2 * i)));
    }
}
