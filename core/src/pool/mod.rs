//! The frame pool: a few fixed slots that capture writes into and analysis
//! leases from. Latest frame wins: frames are dropped, never queued, and each
//! is wiped at the latest when its deadline (written + budget) passes.
//!
//! Soundness: each slot's pixels sit behind that slot's mutex. A read holds the
//! lock for the length of one closure and checks the frame's generation and
//! deadline under it; a wipe takes the same lock. So a reader sees a whole frame
//! or gets [`CoreError::Expired`], never a half-wiped buffer, and a lease never
//! reads a newer frame that reused its slot.

mod lease;
#[cfg(test)]
mod tests;
#[cfg(not(target_arch = "wasm32"))]
mod watchdog;
mod write_slot;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use lease::Lease;
#[cfg(not(target_arch = "wasm32"))]
pub use watchdog::Watchdog;
pub use write_slot::WriteSlot;

use crate::clock::Clock;
use crate::error::CoreError;
use crate::frame::{FrameBuffer, FrameLayout, PixelFormat};
use crate::memory::MemoryProtection;
use crate::telemetry::{FrameLife, LifeEnd, PermanenceRecorder, PermanenceReport};

/// The product's promise: no frame outlives this.
pub const MAX_BUDGET_MS: u64 = 300;
/// More slots would only let more frames exist at once.
pub const MAX_SLOTS: usize = 8;

/// Called with every ended frame's life, under the slot's lock: keep it quick.
pub type LifeObserver = Arc<dyn Fn(&FrameLife) + Send + Sync>;

/// How a pool is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Number of frame buffers (default 2: one being analyzed, one being captured).
    pub slots: usize,
    /// Longest a frame may live, from written to wiped (default and maximum 300).
    pub budget_ms: u64,
    /// Bytes of each buffer; the largest frame the pool accepts.
    pub slot_capacity_bytes: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            slots: 2,
            budget_ms: MAX_BUDGET_MS,
            slot_capacity_bytes: 1280 * 720 * PixelFormat::Rgba8.bytes_per_pixel(),
        }
    }
}

impl PoolConfig {
    /// The default pool, sized for frames of at most `width_px` x `height_px`.
    pub fn for_max_frame(format: PixelFormat, width_px: u32, height_px: u32) -> Result<Self, CoreError> {
        Ok(Self {
            slot_capacity_bytes: FrameLayout::packed(format, width_px, height_px)?.len_bytes(),
            ..Self::default()
        })
    }

    fn validate(&self) -> Result<(), CoreError> {
        if !(1..=MAX_SLOTS).contains(&self.slots) {
            return Err(CoreError::InvalidConfig("slots must be between 1 and 8"));
        }
        if !(1..=MAX_BUDGET_MS).contains(&self.budget_ms) {
            return Err(CoreError::InvalidConfig("budget_ms must be between 1 and 300"));
        }
        if self.slot_capacity_bytes == 0 {
            return Err(CoreError::InvalidConfig("slot_capacity_bytes must be positive"));
        }
        Ok(())
    }
}

/// What became of a captured frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// Stored as the pool's newest frame.
    Stored {
        /// The frame's number in this pool.
        generation: u64,
    },
    /// Every slot was leased: the frame was dropped, never queued.
    Dropped,
}

/// What the frame memory holds right now: the basis of every leak check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryAudit {
    /// Slots holding a live frame.
    pub frames_held: usize,
    /// Non-zero bytes anywhere outside a live frame: must always be 0.
    pub residue_bytes: usize,
}

/// What the watchdog learns from one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Frames wiped because their deadline had passed.
    pub wiped: usize,
    /// The earliest deadline among the frames still alive.
    pub next_deadline_us: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct FrameMeta {
    generation: u64,
    written_at_us: u64,
    deadline_us: u64,
}

#[derive(Debug)]
struct SlotState {
    buffer: FrameBuffer,
    frame: Option<FrameMeta>,
    leased: bool,
    /// An asynchronous writer ([`WriteSlot`]) may still write into the buffer:
    /// the slot is neither leased nor written by anyone else until it ends,
    /// even after its frame expired.
    writing: bool,
}

struct Shared {
    slots: Box<[Mutex<SlotState>]>,
    clock: Arc<dyn Clock>,
    budget_us: u64,
    next_generation: AtomicU64,
    recorder: Mutex<PermanenceRecorder>,
    observer: Option<LifeObserver>,
    /// Lets the negative-control tests switch wiping off, so they can show the
    /// leak checks catch unwiped memory. Compiled into test builds only: core's
    /// own, and those enabling the `negative-control` feature (never default).
    #[cfg(any(test, feature = "negative-control"))]
    wiping_disabled: std::sync::atomic::AtomicBool,
}

/// A handle to a frame pool. Cloning the handle shares the pool; frames
/// themselves can never be cloned.
#[derive(Clone)]
pub struct FramePool {
    shared: Arc<Shared>,
}

/// A poisoned slot lock means a reader panicked mid-read; the slot state is
/// still consistent (reads never mutate it), and it must stay wipeable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Ends the frame in `state`: wipes it, then records its life.
    fn end_life(&self, state: &mut SlotState, end: LifeEnd) {
        let Some(meta) = state.frame.take() else {
            return;
        };
        self.wipe(&mut state.buffer);
        state.leased = false;
        self.record(FrameLife {
            generation: meta.generation,
            written_at_us: meta.written_at_us,
            wiped_at_us: self.clock.now_us(),
            end,
        });
    }

    fn wipe(&self, buffer: &mut FrameBuffer) {
        #[cfg(any(test, feature = "negative-control"))]
        if self.wiping_disabled.load(Ordering::SeqCst) {
            buffer.forget_frame_without_wipe();
            return;
        }
        buffer.wipe();
    }

    /// Wipes `layout`'s span of `buffer` whatever the buffer believes it
    /// holds: an asynchronous writer may have landed bytes after the last wipe.
    fn wipe_span(&self, buffer: &mut FrameBuffer, layout: FrameLayout) {
        // Marking the span written (the closure writes nothing) makes the
        // wipe cover it; the layout fitted the buffer when the slot opened.
        let _ = buffer.write_with(layout, |_| Ok::<(), std::convert::Infallible>(()));
        self.wipe(buffer);
    }

    fn record(&self, life: FrameLife) {
        lock(&self.recorder).record(&life);
        if let Some(observer) = &self.observer {
            observer(&life);
        }
    }

    /// Ends the frame if its deadline has passed; true if it did.
    fn expire_if_due(&self, state: &mut SlotState, now_us: u64) -> bool {
        match state.frame {
            Some(meta) if now_us >= meta.deadline_us => {
                self.end_life(state, LifeEnd::Expired);
                true
            }
            _ => false,
        }
    }
}

impl FramePool {
    /// A pool with `config.slots` buffers, allocated now and never again.
    pub fn new(config: PoolConfig, clock: Arc<dyn Clock>) -> Result<Self, CoreError> {
        Self::build(config, clock, None)
    }

    /// As [`FramePool::new`], also calling `observer` with every ended frame.
    pub fn with_observer(config: PoolConfig, clock: Arc<dyn Clock>, observer: LifeObserver) -> Result<Self, CoreError> {
        Self::build(config, clock, Some(observer))
    }

    fn build(config: PoolConfig, clock: Arc<dyn Clock>, observer: Option<LifeObserver>) -> Result<Self, CoreError> {
        config.validate()?;
        let slots = (0..config.slots)
            .map(|_| {
                Ok(Mutex::new(SlotState {
                    buffer: FrameBuffer::with_capacity(config.slot_capacity_bytes)?,
                    frame: None,
                    leased: false,
                    writing: false,
                }))
            })
            .collect::<Result<Box<[_]>, CoreError>>()?;
        let budget_us = config.budget_ms * 1_000;
        Ok(Self {
            shared: Arc::new(Shared {
                slots,
                clock,
                budget_us,
                next_generation: AtomicU64::new(1),
                recorder: Mutex::new(PermanenceRecorder::new(budget_us)),
                observer,
                #[cfg(any(test, feature = "negative-control"))]
                wiping_disabled: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The permanence budget in microseconds.
    pub fn budget_us(&self) -> u64 {
        self.shared.budget_us
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.shared.slots.len()
    }

    /// The clock the pool measures lives with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// Copies a frame in from `src`, laid out as `layout`.
    pub fn capture(&self, layout: FrameLayout, src: &[u8]) -> Result<Capture, CoreError> {
        // Refused before a slot is touched: the frame already there lives on.
        layout.check_source(src)?;
        self.store(layout.to_packed(), |buffer| buffer.write_from(layout, src))
    }

    /// Lets `writer` fill a `layout` frame straight into a slot.
    pub fn capture_with<E: fmt::Display>(
        &self,
        layout: FrameLayout,
        writer: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<Capture, CoreError> {
        self.store(layout, |buffer| buffer.write_with(layout, writer))
    }

    fn store(
        &self,
        layout: FrameLayout,
        write: impl FnOnce(&mut FrameBuffer) -> Result<(), CoreError>,
    ) -> Result<Capture, CoreError> {
        let shared = &self.shared;
        let Some((_, mut state, meta)) = self.begin_frame(layout)? else {
            return Ok(Capture::Dropped);
        };
        match write(&mut state.buffer) {
            Ok(()) => {
                state.frame = Some(meta);
                Ok(Capture::Stored {
                    generation: meta.generation,
                })
            }
            Err(error) => {
                // Whatever was written is wiped; count the partial frame's life too.
                shared.wipe(&mut state.buffer);
                shared.record(FrameLife {
                    generation: meta.generation,
                    written_at_us: meta.written_at_us,
                    wiped_at_us: shared.clock.now_us(),
                    end: LifeEnd::WriteFailed,
                });
                Err(error)
            }
        }
    }

    /// Opens a slot for a writer that fills it asynchronously, outside any
    /// Rust call (the browser's `VideoFrame.copyTo`, which writes into
    /// WebAssembly memory while the worker awaits): the two-phase form of
    /// [`FramePool::capture_with`]. The frame's life and deadline start now;
    /// the slot cannot be leased until [`WriteSlot::commit`], and a sweep
    /// still wipes it at its deadline. `None`: every slot was busy, the frame
    /// is dropped.
    pub fn open_write(&self, layout: FrameLayout) -> Result<Option<WriteSlot>, CoreError> {
        let Some((slot, mut state, meta)) = self.begin_frame(layout)? else {
            return Ok(None);
        };
        let mut start = std::ptr::null_mut();
        state.buffer.write_with(layout, |dst| {
            start = dst.as_mut_ptr();
            Ok::<(), std::convert::Infallible>(())
        })?;
        state.frame = Some(meta);
        state.writing = true;
        drop(state);
        Ok(Some(WriteSlot::new(
            Arc::clone(&self.shared),
            slot,
            meta,
            start,
            layout,
        )))
    }

    /// Picks the slot a new frame goes to and starts the frame's life there,
    /// or records a dropped capture. The slot comes back locked and empty.
    #[allow(clippy::type_complexity)] // a one-use tuple reads better than a struct here
    fn begin_frame(
        &self,
        layout: FrameLayout,
    ) -> Result<Option<(usize, MutexGuard<'_, SlotState>, FrameMeta)>, CoreError> {
        let shared = &self.shared;
        self.sweep();
        let Some((slot, mut state)) = self.writable_slot() else {
            lock(&shared.recorder).record_dropped_capture();
            return Ok(None);
        };
        if layout.len_bytes() > state.buffer.capacity_bytes() {
            // Refused before anything is written: the frame in the slot lives on.
            return Err(CoreError::FrameTooLarge {
                needed_bytes: layout.len_bytes(),
                capacity_bytes: state.buffer.capacity_bytes(),
            });
        }
        // The older frame is wiped before the writer sees the slot, so a writer
        // that fills less than it claimed can never pass old pixels off as new.
        shared.end_life(&mut state, LifeEnd::Overwritten);
        let generation = shared.next_generation.fetch_add(1, Ordering::SeqCst);
        let written_at_us = shared.clock.now_us();
        Ok(Some((
            slot,
            state,
            FrameMeta {
                generation,
                written_at_us,
                deadline_us: written_at_us + shared.budget_us,
            },
        )))
    }

    /// An empty unleased slot, or else the one with the oldest unleased frame
    /// (never one still being written), with its index.
    fn writable_slot(&self) -> Option<(usize, MutexGuard<'_, SlotState>)> {
        // The choice is re-checked under the chosen slot's lock; a reader may
        // have leased it in between, so try again a few times, then drop.
        for _ in 0..4 {
            let mut best: Option<(usize, Option<u64>)> = None;
            for (index, slot) in self.shared.slots.iter().enumerate() {
                let state = lock(slot);
                if state.leased || state.writing {
                    continue;
                }
                match state.frame {
                    None => {
                        best = Some((index, None));
                        break;
                    }
                    Some(meta) => {
                        let older = match best {
                            None => true,
                            Some((_, Some(best_generation))) => meta.generation < best_generation,
                            Some((_, None)) => false,
                        };
                        if older {
                            best = Some((index, Some(meta.generation)));
                        }
                    }
                }
            }
            let (index, expected) = best?;
            let state = lock(&self.shared.slots[index]);
            if !state.leased && !state.writing && state.frame.map(|meta| meta.generation) == expected {
                return Some((index, state));
            }
        }
        None
    }

    /// Leases the newest live, unleased frame for analysis.
    pub fn lease_newest(&self) -> Option<Lease> {
        self.sweep();
        for _ in 0..4 {
            let newest = self
                .shared
                .slots
                .iter()
                .enumerate()
                .filter_map(|(index, slot)| {
                    let state = lock(slot);
                    let meta = state.frame.filter(|_| !state.leased && !state.writing)?;
                    Some((index, meta.generation))
                })
                .max_by_key(|&(_, generation)| generation);
            let (index, generation) = newest?;
            let mut state = lock(&self.shared.slots[index]);
            match (state.frame, state.buffer.layout()) {
                (Some(meta), Some(layout)) if !state.leased && !state.writing && meta.generation == generation => {
                    state.leased = true;
                    return Some(Lease::new(Arc::clone(&self.shared), index, meta, layout));
                }
                _ => continue,
            }
        }
        None
    }

    /// Wipes every frame whose deadline has passed, leased or not.
    pub fn sweep(&self) -> Sweep {
        self.sweep_ahead(0)
    }

    /// Wipes every frame whose deadline falls within the next `lead_us`: the
    /// watchdog wipes slightly early, so its own wake-up latency does not
    /// push a frame past its budget.
    pub fn sweep_ahead(&self, lead_us: u64) -> Sweep {
        let mut sweep = Sweep {
            wiped: 0,
            next_deadline_us: None,
        };
        for slot in self.shared.slots.iter() {
            let mut state = lock(slot);
            let horizon_us = self.shared.clock.now_us().saturating_add(lead_us);
            if self.shared.expire_if_due(&mut state, horizon_us) {
                sweep.wiped += 1;
            } else if let Some(meta) = state.frame {
                sweep.next_deadline_us = Some(
                    sweep
                        .next_deadline_us
                        .map_or(meta.deadline_us, |d| d.min(meta.deadline_us)),
                );
            }
        }
        sweep
    }

    /// Wipes every frame now (stop, shutdown, page hide). Leases then read
    /// nothing but `Expired`.
    pub fn wipe_all(&self) {
        for slot in self.shared.slots.iter() {
            self.shared.end_life(&mut lock(slot), LifeEnd::Shutdown);
        }
    }

    /// The permanence report so far.
    pub fn report(&self) -> PermanenceReport {
        lock(&self.shared.recorder).report()
    }

    /// Scans all frame memory for bytes that outlived their frame.
    pub fn audit(&self) -> MemoryAudit {
        self.shared.slots.iter().fold(
            MemoryAudit {
                frames_held: 0,
                residue_bytes: 0,
            },
            |audit, slot| {
                let state = lock(slot);
                MemoryAudit {
                    frames_held: audit.frames_held + usize::from(state.frame.is_some()),
                    residue_bytes: audit.residue_bytes + state.buffer.residue_bytes(),
                }
            },
        )
    }

    /// What the OS agreed to for the frame memory (the first slot stands for
    /// all: they are allocated alike).
    pub fn memory_protection(&self) -> MemoryProtection {
        lock(&self.shared.slots[0]).buffer.protection().clone()
    }

    /// Switches wiping off for good: frames end without being zeroed. Only for
    /// negative controls (a test that must see its leak check fail); exists
    /// only in core's tests and with the `negative-control` feature, which
    /// only test builds enable.
    #[doc(hidden)]
    #[cfg(any(test, feature = "negative-control"))]
    pub fn disable_wiping_for_negative_control(&self) {
        self.shared.wiping_disabled.store(true, Ordering::SeqCst);
    }
}

impl fmt::Debug for FramePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramePool")
            .field("slots", &self.slots())
            .field("budget_us", &self.budget_us())
            .finish_non_exhaustive()
    }
}
