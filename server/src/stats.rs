//! Counters the connection tasks share with the panel: how many viewers are
//! connected and how many messages were refused, by class. Counts only.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicU64, Ordering},
};

use crate::protocol::RejectClass;

/// Shared counters.
#[derive(Debug, Default)]
pub struct Stats {
    connected: AtomicU64,
    rejected: [AtomicU64; RejectClass::ALL.len()],
}

/// Counts a connection for as long as it lives.
#[derive(Debug)]
pub struct Connected<'a>(&'a Stats);

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.0.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    /// Counts a connection until the guard is dropped.
    pub fn connect(&self) -> Connected<'_> {
        self.connected.fetch_add(1, Ordering::Relaxed);
        Connected(self)
    }

    /// Viewers connected now.
    pub fn connected(&self) -> u64 {
        self.connected.load(Ordering::Relaxed)
    }

    /// Counts one refused message.
    pub fn reject(&self, class: RejectClass) {
        if let Some(i) = RejectClass::ALL.iter().position(|&c| c == class) {
            self.rejected[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Refusals so far, by class name.
    pub fn rejected(&self) -> BTreeMap<&'static str, u64> {
        RejectClass::ALL
            .iter()
            .zip(&self.rejected)
            .map(|(class, count)| (class.name(), count.load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_connections_and_refusals() {
        let stats = Stats::default();
        let a = stats.connect();
        let b = stats.connect();
        assert_eq!(stats.connected(), 2);
        drop(a);
        assert_eq!(stats.connected(), 1);
        drop(b);
        stats.reject(RejectClass::RateLimit);
        stats.reject(RejectClass::RateLimit);
        stats.reject(RejectClass::Binary);
        let rejected = stats.rejected();
        assert_eq!(
            (
                stats.connected(),
                rejected["rate_limit"],
                rejected["binary"],
                rejected["malformed"]
            ),
            (0, 2, 1, 0)
        );
    }
}
