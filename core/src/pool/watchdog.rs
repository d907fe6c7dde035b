//! The watchdog: a thread that wipes every frame whose deadline has passed,
//! whether or not anybody released it. Native targets only; in the browser the
//! worker sweeps from its own timer.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::FramePool;
use crate::error::CoreError;

/// Runs sweeps until dropped. It sleeps until shortly before the next
/// deadline, never longer than its period, and wipes what falls due within
/// its lead (the period, at most a tenth of the budget): a frame is wiped a
/// little early rather than late by the thread's wake-up latency.
#[derive(Debug)]
pub struct Watchdog {
    stop: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the watchdog for `pool`, waking at least every `period_ms`.
    pub fn spawn(pool: FramePool, period_ms: u64) -> Result<Self, CoreError> {
        let period_us = period_ms.max(1) * 1_000;
        let lead_us = period_us.min(pool.budget_us() / 10);
        // Bounded: one message (or the sender's drop) means stop.
        let (stop, stopped) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("parterre-watchdog".into())
            .spawn(move || {
                loop {
                    let sweep = pool.sweep_ahead(lead_us);
                    let wake_us = pool.clock().now_us().saturating_add(lead_us);
                    let sleep_us = sweep.next_deadline_us.map_or(period_us, |deadline_us| {
                        deadline_us.saturating_sub(wake_us).clamp(1, period_us)
                    });
                    match stopped.recv_timeout(Duration::from_micros(sleep_us)) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .map_err(|error| CoreError::Watchdog(error.to_string()))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panicked watchdog has nothing left to clean up.
            let _ = thread.join();
        }
    }
}
