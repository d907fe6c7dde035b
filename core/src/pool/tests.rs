//! Property tests of the pool against a model of what must hold after every
//! step, and the negative controls that show those checks catch a leak.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use super::*;
use crate::clock::ManualClock;

const BUDGET_MS: u64 = 50;
const MAX_SIDE_PX: u32 = 12;

#[derive(Debug, Clone)]
enum Op {
    Capture {
        format: PixelFormat,
        width_px: u32,
        height_px: u32,
        seed: u8,
    },
    FailingCapture,
    Lease,
    Read(usize),
    Release(usize),
    Advance {
        step_ms: u64,
    },
    Sweep,
    WipeAll,
}

fn op() -> impl Strategy<Value = Op> {
    let format = prop_oneof![
        Just(PixelFormat::Rgba8),
        Just(PixelFormat::Rgb8),
        Just(PixelFormat::Gray8)
    ];
    prop_oneof![
        4 => (format, 1..=MAX_SIDE_PX, 1..=MAX_SIDE_PX, any::<u8>())
            .prop_map(|(format, width_px, height_px, seed)| Op::Capture { format, width_px, height_px, seed }),
        1 => Just(Op::FailingCapture),
        3 => Just(Op::Lease),
        3 => (0..4usize).prop_map(Op::Read),
        2 => (0..4usize).prop_map(Op::Release),
        3 => (0..=2 * BUDGET_MS).prop_map(|step_ms| Op::Advance { step_ms }),
        1 => Just(Op::Sweep),
        1 => Just(Op::WipeAll),
    ]
}

/// Pixels no wipe produces: every byte non-zero.
fn pixels(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u8).wrapping_mul(7).wrapping_add(seed) % 255) + 1)
        .collect()
}

/// The pool under test and what the test knows it should hold.
struct Model {
    pool: FramePool,
    clock: Arc<ManualClock>,
    slots: usize,
    /// Expected pixels of every frame stored, by generation.
    written: HashMap<u64, Vec<u8>>,
    /// Frames the pool accepted (including writes that failed midway).
    frames_begun: u64,
    leases: Vec<Lease>,
    /// Generations whose life ended, as the pool reported them.
    ended: Arc<Mutex<Vec<u64>>>,
}

impl Model {
    fn new(slots: usize) -> Self {
        let clock = ManualClock::new(1_000);
        let config = PoolConfig {
            slots,
            budget_ms: BUDGET_MS,
            slot_capacity_bytes: (MAX_SIDE_PX * MAX_SIDE_PX * 4) as usize,
        };
        let ended = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&ended);
        let observer: LifeObserver = Arc::new(move |life: &FrameLife| {
            sink.lock().expect("observer lock").push(life.generation);
        });
        let pool = FramePool::with_observer(config, clock.clone(), observer).expect("pool");
        Self {
            pool,
            clock,
            slots,
            written: HashMap::new(),
            frames_begun: 0,
            leases: Vec::new(),
            ended,
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Capture {
                format,
                width_px,
                height_px,
                seed,
            } => {
                let layout = FrameLayout::packed(format, width_px, height_px).map_err(|e| e.to_string())?;
                let src = pixels(layout.len_bytes(), seed);
                match self.pool.capture(layout, &src).map_err(|e| e.to_string())? {
                    Capture::Stored { generation } => {
                        self.frames_begun += 1;
                        self.written.insert(generation, src);
                    }
                    Capture::Dropped => {
                        if self.leases.len() < self.slots {
                            return Err("dropped a frame although a slot was not leased".into());
                        }
                    }
                }
            }
            Op::FailingCapture => {
                let layout = FrameLayout::packed(PixelFormat::Gray8, 4, 4).map_err(|e| e.to_string())?;
                let result = self.pool.capture_with(layout, |dst| {
                    dst.fill(0xEE);
                    Err("decoder error")
                });
                match result {
                    Err(CoreError::WriteFailed(_)) => self.frames_begun += 1,
                    Ok(Capture::Dropped) => {}
                    other => return Err(format!("failing writer gave {other:?}")),
                }
            }
            Op::Lease => {
                if let Some(lease) = self.pool.lease_newest() {
                    if self.clock.now_us() >= lease.deadline_us() {
                        return Err("leased a frame past its deadline".into());
                    }
                    let newest_unleased = self
                        .alive()
                        .into_iter()
                        .rev()
                        .find(|g| self.leases.iter().all(|l| l.generation() != *g));
                    if newest_unleased != Some(lease.generation()) {
                        return Err(format!(
                            "leased {} while the newest unleased was {newest_unleased:?}",
                            lease.generation()
                        ));
                    }
                    self.leases.push(lease);
                }
            }
            Op::Read(index) => {
                if let Some(lease) = self.leases.get(index) {
                    let expired = self.clock.now_us() >= lease.deadline_us();
                    match lease.read(|view| view.pixels().to_vec()) {
                        Ok(_) if expired => return Err("read pixels past the deadline".into()),
                        Ok(read) if Some(&read) != self.written.get(&lease.generation()) => {
                            return Err("a lease read pixels of another frame".into());
                        }
                        Ok(_) | Err(CoreError::Expired) => {}
                        Err(other) => return Err(format!("read failed: {other}")),
                    }
                }
            }
            Op::Release(index) => {
                if index < self.leases.len() {
                    self.leases.swap_remove(index).release();
                }
            }
            Op::Advance { step_ms } => self.clock.advance_ms(step_ms),
            Op::Sweep => {
                let sweep = self.pool.sweep();
                if sweep.next_deadline_us.is_some_and(|d| d <= self.clock.now_us()) {
                    return Err("a frame past its deadline survived a sweep".into());
                }
            }
            Op::WipeAll => {
                self.pool.wipe_all();
                if self.pool.audit().frames_held != 0 {
                    return Err("wipe_all left a frame".into());
                }
            }
        }
        self.check()
    }

    /// Generations written and not yet ended, oldest first.
    fn alive(&self) -> BTreeSet<u64> {
        let ended = self.ended.lock().expect("observer lock");
        self.written.keys().copied().filter(|g| !ended.contains(g)).collect()
    }

    /// What must hold after every step.
    fn check(&self) -> Result<(), String> {
        let audit = self.pool.audit();
        if audit.residue_bytes != 0 {
            return Err(format!("{} residue bytes outside live frames", audit.residue_bytes));
        }
        if audit.frames_held > self.slots {
            return Err(format!("{} frames in {} slots", audit.frames_held, self.slots));
        }
        let counted = self.pool.report().frames;
        if counted + audit.frames_held as u64 != self.frames_begun {
            return Err(format!(
                "{counted} counted + {} alive != {} frames written",
                audit.frames_held, self.frames_begun
            ));
        }
        let ended = self.ended.lock().expect("observer lock");
        let distinct: BTreeSet<_> = ended.iter().collect();
        if distinct.len() != ended.len() {
            return Err("a frame's life was counted twice".into());
        }
        Ok(())
    }

    /// Ends everything; every frame must then be counted exactly once.
    fn finish(mut self) -> Result<PermanenceReport, String> {
        self.leases.clear();
        self.pool.wipe_all();
        self.check()?;
        Ok(self.pool.report())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pool_invariants_hold_for_any_sequence(slots in 1..=3usize, ops in proptest::collection::vec(op(), 1..80)) {
        let mut model = Model::new(slots);
        for op in &ops {
            let checked = model.apply(op);
            prop_assert!(checked.is_ok(), "after {op:?}: {checked:?}");
        }
        let frames_begun = model.frames_begun;
        let report = model.finish().map_err(TestCaseError::fail)?;
        prop_assert_eq!(report.frames, frames_begun);
    }
}

#[test]
fn negative_control_the_invariant_check_catches_unwiped_memory() {
    let ops = [
        Op::Capture {
            format: PixelFormat::Rgb8,
            width_px: 4,
            height_px: 4,
            seed: 3,
        },
        Op::Lease,
        Op::Release(0),
    ];
    let mut wiping = Model::new(2);
    for op in &ops {
        wiping.apply(op).expect("invariants hold while wiping");
    }
    let mut leaking = Model::new(2);
    leaking.pool.disable_wiping_for_negative_control();
    let verdicts: Vec<_> = ops.iter().map(|op| leaking.apply(op)).collect();
    let caught = verdicts.last().expect("three steps");
    assert_eq!(
        caught,
        &Err("48 residue bytes outside live frames".to_owned()),
        "{verdicts:?}"
    );
}

#[test]
fn negative_control_expired_frames_leak_without_wiping() {
    let mut leaking = Model::new(1);
    leaking.pool.disable_wiping_for_negative_control();
    let capture = Op::Capture {
        format: PixelFormat::Gray8,
        width_px: 5,
        height_px: 5,
        seed: 1,
    };
    leaking.apply(&capture).expect("a live frame is no leak");
    leaking
        .apply(&Op::Advance { step_ms: BUDGET_MS })
        .expect("not swept yet");
    assert_eq!(
        leaking.apply(&Op::Sweep),
        Err("25 residue bytes outside live frames".to_owned())
    );
}

fn pool(slots: usize, clock: &Arc<ManualClock>) -> FramePool {
    let config = PoolConfig {
        slots,
        budget_ms: BUDGET_MS,
        slot_capacity_bytes: 64,
    };
    FramePool::new(config, clock.clone()).expect("pool")
}

fn gray(len: u32) -> FrameLayout {
    FrameLayout::packed(PixelFormat::Gray8, len, 1).expect("layout")
}

#[test]
fn latest_frame_wins_and_full_pools_drop() {
    let clock = ManualClock::new(0);
    let pool = pool(2, &clock);
    for seed in 1..=3u8 {
        pool.capture(gray(4), &[seed; 4]).expect("capture");
    }
    // Three captures into two slots: the first was overwritten.
    let newest = pool.lease_newest().expect("a frame");
    assert_eq!(newest.read(|v| v.pixels().to_vec()), Ok(vec![3; 4]));
    let older = pool.lease_newest().expect("the other frame");
    assert_eq!(older.read(|v| v.pixels().to_vec()), Ok(vec![2; 4]));
    assert_eq!(pool.capture(gray(4), &[9; 4]), Ok(Capture::Dropped));
    let report = pool.report();
    assert_eq!(report.ended.overwritten, 1);
    assert_eq!(report.dropped_captures, 1);
    drop((newest, older));
    assert_eq!(pool.report().ended.released, 2);
}

#[test]
fn reading_past_the_deadline_wipes_and_fails() {
    let clock = ManualClock::new(0);
    let pool = pool(2, &clock);
    pool.capture(gray(8), &[5; 8]).expect("capture");
    let lease = pool.lease_newest().expect("frame");
    clock.advance_ms(BUDGET_MS - 1);
    assert!(lease.read(|v| v.pixels()[0]).is_ok());
    clock.advance_ms(1);
    assert_eq!(lease.read(|v| v.pixels()[0]), Err(CoreError::Expired));
    assert_eq!(
        pool.audit(),
        MemoryAudit {
            frames_held: 0,
            residue_bytes: 0
        }
    );
    let report = pool.report();
    assert_eq!(
        (report.frames, report.ended.expired, report.max_ms),
        (1, 1, BUDGET_MS as f64)
    );
}

#[test]
fn a_lease_never_reads_the_next_frame_in_its_slot() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    pool.capture(gray(4), &[1; 4]).expect("capture");
    let lease = pool.lease_newest().expect("frame");
    clock.advance_ms(BUDGET_MS);
    pool.sweep();
    pool.capture(gray(4), &[2; 4]).expect("capture reuses the slot");
    assert_eq!(lease.read(|v| v.pixels().to_vec()), Err(CoreError::Expired));
    drop(lease);
    // Releasing the stale lease must not wipe the newer frame.
    let next = pool.lease_newest().expect("the newer frame survives");
    assert_eq!(next.read(|v| v.pixels().to_vec()), Ok(vec![2; 4]));
}

#[test]
fn bad_input_is_refused_and_keeps_the_frame_in_place() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    pool.capture(gray(4), &[7; 4]).expect("capture");
    assert!(matches!(
        pool.capture(gray(8), &[1; 3]),
        Err(CoreError::BufferTooShort { .. })
    ));
    // Capacity is rounded up to whole pages; 64 KiB exceeds any page size.
    let huge = vec![1; 1 << 16];
    assert!(matches!(
        pool.capture(gray(1 << 16), &huge),
        Err(CoreError::FrameTooLarge { .. })
    ));
    let lease = pool.lease_newest().expect("the first frame lives on");
    assert_eq!(lease.read(|v| v.pixels().to_vec()), Ok(vec![7; 4]));
}

#[test]
fn configurations_that_break_the_promise_are_refused() {
    let clock: Arc<dyn Clock> = ManualClock::new(0);
    for (config, message) in [
        (
            PoolConfig {
                budget_ms: 301,
                ..PoolConfig::default()
            },
            "budget_ms",
        ),
        (
            PoolConfig {
                budget_ms: 0,
                ..PoolConfig::default()
            },
            "budget_ms",
        ),
        (
            PoolConfig {
                slots: 0,
                ..PoolConfig::default()
            },
            "slots",
        ),
        (
            PoolConfig {
                slots: 9,
                ..PoolConfig::default()
            },
            "slots",
        ),
    ] {
        let error = FramePool::new(config, clock.clone()).expect_err("refused");
        assert!(error.to_string().contains(message), "{error}");
    }
}

/// What the browser's asynchronous `copyTo` does: writes into the slot while
/// no Rust call is running.
#[allow(unsafe_code)]
fn write_outside_rust(slot: &WriteSlot, byte: u8) {
    // SAFETY: the slot is open, so its span is reserved for this writer and
    // stays allocated; no Rust reference into it is alive during this call.
    unsafe { std::ptr::write_bytes(slot.as_mut_ptr(), byte, slot.len_bytes()) };
}

fn clean() -> MemoryAudit {
    MemoryAudit {
        frames_held: 0,
        residue_bytes: 0,
    }
}

#[test]
fn a_committed_write_is_leasable_and_an_open_one_is_not() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    let slot = pool.open_write(gray(6)).expect("open").expect("a free slot");
    assert_eq!((slot.len_bytes(), slot.deadline_us()), (6, BUDGET_MS * 1_000));
    write_outside_rust(&slot, 4);
    assert!(pool.lease_newest().is_none(), "a frame being written was leased");
    assert!(
        pool.open_write(gray(6)).expect("open").is_none(),
        "an open slot was reused"
    );
    let generation = slot.generation();
    assert_eq!(slot.commit(), Ok(Capture::Stored { generation }));
    let lease = pool.lease_newest().expect("the committed frame");
    assert_eq!(lease.read(|v| v.pixels().to_vec()), Ok(vec![4; 6]));
    lease.release();
    assert_eq!(pool.audit(), clean());
    let report = pool.report();
    assert_eq!(
        (report.frames, report.ended.released, report.dropped_captures),
        (1, 1, 1)
    );
}

#[test]
fn a_sweep_during_the_write_expires_it_and_a_late_write_is_wiped_again() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    let slot = pool.open_write(gray(8)).expect("open").expect("a free slot");
    write_outside_rust(&slot, 1);
    clock.advance_ms(BUDGET_MS);
    assert_eq!(pool.sweep().wiped, 1);
    assert_eq!(pool.audit(), clean());
    // The browser finishes its copy after the sweep's wipe.
    write_outside_rust(&slot, 2);
    assert_eq!(pool.audit().residue_bytes, 8, "the audit must see the late bytes");
    assert_eq!(
        pool.capture(gray(8), &[3; 8]),
        Ok(Capture::Dropped),
        "the slot was reused mid-write"
    );
    assert_eq!(slot.commit(), Err(CoreError::Expired));
    assert_eq!(pool.audit(), clean());
    let report = pool.report();
    assert_eq!(
        (report.frames, report.ended.expired, report.max_ms),
        (1, 1, BUDGET_MS as f64)
    );
}

#[test]
fn a_commit_past_the_deadline_expires_the_frame() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    let slot = pool.open_write(gray(8)).expect("open").expect("a free slot");
    write_outside_rust(&slot, 9);
    clock.advance_ms(BUDGET_MS);
    assert_eq!(slot.commit(), Err(CoreError::Expired));
    assert_eq!(pool.audit(), clean());
    assert_eq!(pool.report().ended.expired, 1);
}

#[test]
fn an_abandoned_write_is_wiped_and_counted_as_failed() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    pool.capture(gray(8), &[5; 8]).expect("capture");
    let slot = pool.open_write(gray(8)).expect("open").expect("the slot");
    write_outside_rust(&slot, 7);
    clock.advance_ms(3);
    drop(slot);
    assert_eq!(pool.audit(), clean());
    let report = pool.report();
    assert_eq!(
        (
            report.frames,
            report.ended.overwritten,
            report.ended.write_failed,
            report.max_ms
        ),
        (2, 1, 1, 3.0)
    );
    // The slot is free again.
    assert!(matches!(pool.capture(gray(8), &[6; 8]), Ok(Capture::Stored { .. })));
}

#[test]
fn negative_control_an_unwiped_late_write_is_residue() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    let slot = pool.open_write(gray(8)).expect("open").expect("a free slot");
    clock.advance_ms(BUDGET_MS);
    pool.sweep();
    write_outside_rust(&slot, 2);
    // Without the commit's second wipe, the late bytes stay behind.
    std::mem::forget(slot);
    assert_eq!(pool.audit().residue_bytes, 8);
}

// One open write, one writer: a slot handle must not be duplicated or sent anywhere.
static_assertions::assert_not_impl_any!(WriteSlot: Clone, serde::Serialize);

#[test]
fn a_write_slots_debug_prints_no_address() {
    let clock = ManualClock::new(0);
    let pool = pool(1, &clock);
    let slot = pool.open_write(gray(4)).expect("open").expect("a free slot");
    let printed = format!("{slot:?}");
    assert!(printed.contains("generation: 1"), "{printed}");
    assert!(!printed.contains(&format!("{:p}", slot.as_mut_ptr())), "{printed}");
}
