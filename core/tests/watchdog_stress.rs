//! Threaded stress: capture at 60 fps while a slow analyzer (sometimes slower
//! than the budget) leases frames. The watchdog must wipe every frame within
//! budget + its period, and the report must agree with what an observer saw.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use parterre_core::{
    Capture, CoreError, FrameLayout, FrameLife, FramePool, LifeEnd, LifeObserver, MonotonicClock, PixelFormat,
    PoolConfig, Watchdog,
};

const BUDGET_MS: u64 = 40;
const WATCHDOG_PERIOD_MS: u64 = 5;
/// Allowance for a shared, noisy 2-core machine: the time for a woken thread
/// to actually run. The watchdog aims at each deadline, so in a quiet run the
/// overrun is well under a millisecond.
const SCHEDULER_SLACK_MS: u64 = 25;
const CAPTURE_FRAMES: u32 = 120;

#[test]
fn no_frame_outlives_its_budget_under_a_slow_analyzer() {
    let clock = Arc::new(MonotonicClock::new());
    let lives = Arc::new(Mutex::new(Vec::<FrameLife>::new()));
    let sink = Arc::clone(&lives);
    let observer: LifeObserver = Arc::new(move |life: &FrameLife| sink.lock().expect("lock").push(*life));
    let config = PoolConfig {
        budget_ms: BUDGET_MS,
        ..PoolConfig::for_max_frame(PixelFormat::Rgba8, 640, 480).expect("config")
    };
    let pool = FramePool::with_observer(config, clock, observer).expect("pool");
    let watchdog = Watchdog::spawn(pool.clone(), WATCHDOG_PERIOD_MS).expect("watchdog");

    let layout = FrameLayout::packed(PixelFormat::Rgba8, 640, 480).expect("layout");
    let stored = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let capture = {
        let (pool, stored, done) = (pool.clone(), Arc::clone(&stored), Arc::clone(&done));
        thread::spawn(move || {
            let mut src = vec![0u8; layout.len_bytes()];
            for frame in 0..CAPTURE_FRAMES {
                src.fill((frame % 250) as u8 + 1);
                if let Ok(Capture::Stored { .. }) = pool.capture(layout, &src) {
                    stored.fetch_add(1, Ordering::SeqCst);
                }
                thread::sleep(Duration::from_micros(16_667));
            }
            done.store(true, Ordering::SeqCst);
        })
    };

    // The analyzer reads in short steps with work between them; every fourth
    // frame it works for longer than the budget.
    let mut expired_reads = 0;
    let mut analyzed = 0u32;
    while !done.load(Ordering::SeqCst) {
        let Some(lease) = pool.lease_newest() else {
            thread::sleep(Duration::from_millis(1));
            continue;
        };
        analyzed += 1;
        let work_ms = if analyzed % 4 == 0 { BUDGET_MS + 30 } else { 12 };
        for _ in 0..work_ms / 6 {
            match lease.read(|view| view.pixels()[view.pixels().len() / 2]) {
                Ok(value) => assert_ne!(value, 0, "a live frame is never zero"),
                Err(CoreError::Expired) => {
                    expired_reads += 1;
                    break;
                }
                Err(other) => panic!("unexpected read error: {other}"),
            }
            thread::sleep(Duration::from_millis(6));
        }
        lease.release();
    }
    capture.join().expect("capture thread");
    drop(watchdog);
    pool.wipe_all();

    let lives = lives.lock().expect("lock");
    let report = pool.report();
    let stored = stored.load(Ordering::SeqCst);
    assert_eq!(report.frames, stored, "every stored frame counted exactly once");
    assert_eq!(lives.len() as u64, stored);
    assert!(expired_reads > 0, "the slow analyzer must have met expired frames");
    assert!(report.ended.expired > 0, "the watchdog must have wiped leased frames");
    assert!(
        report.ended.released > 0 && report.ended.overwritten > 0,
        "{:?}",
        report.ended
    );

    let limit_us = (BUDGET_MS + WATCHDOG_PERIOD_MS + SCHEDULER_SLACK_MS) * 1_000;
    let max_life_us = lives.iter().map(FrameLife::life_us).max().expect("frames");
    for life in lives.iter().filter(|l| l.end != LifeEnd::Shutdown) {
        assert!(
            life.life_us() <= limit_us,
            "frame {} lived {} us",
            life.generation,
            life.life_us()
        );
    }
    // The report's max is the observed max, exactly; its over-budget count too.
    assert_eq!(report.max_ms, max_life_us as f64 / 1_000.0);
    let over_budget = lives.iter().filter(|l| l.life_us() > BUDGET_MS * 1_000).count() as u64;
    assert_eq!(report.over_budget, over_budget);
    assert!(report.p99_ms <= report.max_ms && report.p50_ms <= report.p99_ms);
    assert_eq!(pool.audit().residue_bytes, 0);
}
