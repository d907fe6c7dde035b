//! A write slot: a frame being filled by a writer outside Rust, in two phases
//! (open, then commit), as the browser's `VideoFrame.copyTo` does.
//!
//! `copyTo` is asynchronous: the worker hands it a view of WebAssembly memory
//! and awaits a promise while the browser writes the pixels. No Rust borrow
//! can span that wait, so the slot hands out the address and length of its
//! buffer instead, and nothing in Rust holds a reference into it meanwhile
//! (the pool only reads it under the slot lock, for audits and wipes). The
//! buffer never moves: it is allocated once, with the pool.
//!
//! The frame's life starts when the slot opens. If its deadline passes before
//! the commit, the sweep wipes it; since the writer may still land bytes after
//! that wipe, the commit (or the drop) wipes the span again, and the slot
//! stays reserved for this writer until then.

use std::fmt;
use std::sync::Arc;

use super::{Capture, FrameMeta, Shared, lock};
use crate::error::CoreError;
use crate::frame::FrameLayout;
use crate::telemetry::LifeEnd;

/// A frame slot open for one asynchronous write. Commit it to make the frame
/// leasable; dropping it uncommitted wipes the slot (the write failed).
pub struct WriteSlot {
    shared: Arc<Shared>,
    slot: usize,
    meta: FrameMeta,
    start: *mut u8,
    layout: FrameLayout,
    ended: bool,
}

impl WriteSlot {
    pub(super) fn new(shared: Arc<Shared>, slot: usize, meta: FrameMeta, start: *mut u8, layout: FrameLayout) -> Self {
        Self {
            shared,
            slot,
            meta,
            start,
            layout,
            ended: false,
        }
    }

    /// Where the writer puts the frame: the first of [`WriteSlot::len_bytes`]
    /// bytes, zeroed, laid out as [`WriteSlot::layout`]. In wasm32 this is the
    /// byte offset in the module's memory. Valid until commit or drop.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.start
    }

    /// Bytes the writer must fill.
    pub fn len_bytes(&self) -> usize {
        self.layout.len_bytes()
    }

    /// Format and size of the frame being written.
    pub fn layout(&self) -> FrameLayout {
        self.layout
    }

    /// The frame's number in its pool.
    pub fn generation(&self) -> u64 {
        self.meta.generation
    }

    /// When the frame is wiped, committed or not.
    pub fn deadline_us(&self) -> u64 {
        self.meta.deadline_us
    }

    /// The writer is done: the frame becomes the pool's newest, leasable one.
    /// `Expired` if its deadline passed or the pool was wiped meanwhile; then
    /// the slot has been wiped again, in case the writer finished after the
    /// sweep's wipe.
    pub fn commit(mut self) -> Result<Capture, CoreError> {
        self.end(true)
    }

    /// The write failed: wipes the slot now and counts the frame's life as
    /// [`LifeEnd::WriteFailed`].
    pub fn abort(self) {
        drop(self);
    }

    fn end(&mut self, commit: bool) -> Result<Capture, CoreError> {
        self.ended = true;
        let shared = &self.shared;
        let mut state = lock(&shared.slots[self.slot]);
        state.writing = false;
        let ours = state.frame.is_some_and(|meta| meta.generation == self.meta.generation);
        if !ours {
            shared.wipe_span(&mut state.buffer, self.layout);
            return Err(CoreError::Expired);
        }
        if !commit {
            shared.end_life(&mut state, LifeEnd::WriteFailed);
            return Err(CoreError::WriteFailed("the asynchronous write was abandoned".into()));
        }
        if shared.expire_if_due(&mut state, shared.clock.now_us()) {
            return Err(CoreError::Expired);
        }
        Ok(Capture::Stored {
            generation: self.meta.generation,
        })
    }
}

impl Drop for WriteSlot {
    fn drop(&mut self) {
        if !self.ended {
            // Either way the slot is wiped; the outcome was already recorded.
            let _ = self.end(false);
        }
    }
}

impl fmt::Debug for WriteSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteSlot")
            .field("generation", &self.meta.generation)
            .field("deadline_us", &self.meta.deadline_us)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}
