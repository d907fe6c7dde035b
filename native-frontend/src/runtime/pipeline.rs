//! The face analyzer's two halves on two threads, one frame apart: the
//! finder detects the faces of frame n + 1 while the reader reads the faces
//! of frame n, so the analysis uses both cores of a two-core machine.
//!
//! A frame stays leased from its detection to the end of its reading, so the
//! time a found frame waits for the reader adds to its life. The finder
//! therefore starts a frame only when the reader should be free by the time
//! the detection ends (both halves' durations are averaged as they run), and
//! hands it over by rendezvous: never more than two frames leased, none queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use parterre_core::Lease;
use parterre_vision::analyzer::{FaceAnalyzer, FaceFinder, FaceReader, Found};

use super::{Next, Worker, lock, spawn};
use crate::error::NativeError;

/// Weight of the newest duration in a running average.
const NEWEST_WEIGHT: f64 = 0.2;

/// A found frame on its way to the reader, with when its analysis started.
type Handoff = (Lease, Found, Instant);

/// A running average of a half's duration, in microseconds.
#[derive(Debug, Default, Clone, Copy)]
struct AverageUs(Option<f64>);

impl AverageUs {
    fn add(&mut self, sample_us: u64) {
        let sample = sample_us as f64;
        self.0 = Some(
            self.0
                .map_or(sample, |average| average + NEWEST_WEIGHT * (sample - average)),
        );
    }

    fn get(self) -> u64 {
        self.0.unwrap_or(0.0) as u64
    }
}

/// Starts the finder and reader threads.
pub(super) fn spawn_halves(
    finder: FaceFinder,
    reader: FaceReader,
    worker: Worker,
    ready_rx: Receiver<()>,
) -> Result<Vec<JoinHandle<()>>, NativeError> {
    // Rendezvous: a found frame is handed over only when the reader takes it.
    let (found_tx, found_rx) = crossbeam_channel::bounded::<Handoff>(0);
    // When the reader expects to be done with its frame, on the pool's clock.
    let reader_free_at_us = Arc::new(AtomicU64::new(0));
    let finding = {
        let (worker, free_at_us) = (worker.clone(), Arc::clone(&reader_free_at_us));
        spawn("parterre-find", move || {
            find_frames(finder, &worker, &ready_rx, &found_tx, &free_at_us)
        })?
    };
    let reading = spawn("parterre-read", move || {
        read_frames(reader, &worker, &found_rx, &reader_free_at_us)
    })?;
    Ok(vec![finding, reading])
}

fn find_frames(
    mut finder: FaceFinder,
    worker: &Worker,
    ready_rx: &Receiver<()>,
    found_tx: &Sender<Handoff>,
    reader_free_at_us: &AtomicU64,
) {
    let mut find_us = AverageUs::default();
    while worker.running() {
        finder.wipe_expired();
        // Not before the governor allows, nor so early that the frame would
        // wait for the reader after its detection.
        let just_in_time_us = reader_free_at_us.load(Ordering::Relaxed).saturating_sub(find_us.get());
        let lease = match worker.next_frame(ready_rx, finder.next_start_us().max(just_in_time_us)) {
            Next::Frame(lease) => lease,
            Next::Wait => continue,
            Next::End => break,
        };
        let started = Instant::now();
        let found = finder.find(&lease);
        find_us.add(started.elapsed().as_micros() as u64);
        lock(&worker.stats).settings = Some(finder.settings());
        match found {
            Ok(found) => {
                if !hand_over(&mut finder, worker, found_tx, (lease, found, started)) {
                    break;
                }
            }
            Err(error) => {
                lease.release();
                if !worker.record::<FaceAnalyzer>(Err(error), started.elapsed().as_secs_f64() * 1_000.0) {
                    break;
                }
            }
        }
    }
    finder.wipe_all();
    lock(&worker.stats).derived_report = Some(finder.thumbnail_report());
}

/// Waits for the reader a tick at a time, wiping the thumbnails that fall
/// due meanwhile; false when the reader or the runtime has stopped (the
/// frame's lease is dropped, which wipes it).
fn hand_over(finder: &mut FaceFinder, worker: &Worker, found_tx: &Sender<Handoff>, mut handoff: Handoff) -> bool {
    loop {
        match found_tx.send_timeout(handoff, worker.tick) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(back)) if worker.running() => {
                handoff = back;
                finder.wipe_expired();
            }
            Err(_) => return false,
        }
    }
}

fn read_frames(mut reader: FaceReader, worker: &Worker, found_rx: &Receiver<Handoff>, free_at_us: &AtomicU64) {
    let mut read_us = AverageUs::default();
    loop {
        let (lease, found, started) = match found_rx.recv_timeout(worker.tick) {
            Ok(handoff) => handoff,
            Err(RecvTimeoutError::Timeout) if worker.running() => continue,
            Err(_) => break,
        };
        let clock = worker.pool.clock();
        let read_started_us = clock.now_us();
        free_at_us.store(read_started_us + read_us.get(), Ordering::Relaxed);
        let result = reader.read(&lease, found);
        lease.release();
        read_us.add(clock.now_us().saturating_sub(read_started_us));
        free_at_us.store(0, Ordering::Relaxed);
        if !worker.record::<FaceAnalyzer>(result, started.elapsed().as_secs_f64() * 1_000.0) {
            break;
        }
    }
    reader.wipe_all();
}
