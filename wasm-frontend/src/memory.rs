//! WebAssembly memory, reserved once. Growing the memory replaces its
//! `ArrayBuffer`: a copy in flight into a view of the old buffer would fail,
//! and the engine may move the memory, leaving an old copy of whatever it
//! held (frames included) behind in the browser's heap, beyond any wipe. So
//! the worker grows the memory once, before the first camera frame, and
//! never again: the analysis on a blank frame takes the heap to its working
//! size, and a headroom allocation, freed at once, leaves the allocator
//! room for what a later frame needs more (a larger detector input, more
//! faces) without growing.

/// Heap kept free for later frames: the tiny detector at its largest input
/// (416 px) needs about 12 MiB more than at the 320 px it starts with.
const HEADROOM_BYTES: usize = 32 << 20;

/// Bytes in one WebAssembly page.
const PAGE_BYTES: usize = 64 << 10;

/// Grows the heap by the headroom, through the allocator so it can use it.
pub fn reserve_headroom() {
    let headroom: Vec<u8> = Vec::with_capacity(HEADROOM_BYTES);
    // Kept opaque so the optimizer cannot drop the unused allocation.
    drop(std::hint::black_box(headroom));
}

/// Current size of the module's memory.
#[cfg(target_arch = "wasm32")]
pub fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size::<0>() * PAGE_BYTES
}

/// No WebAssembly memory on the host: nothing to report.
#[cfg(not(target_arch = "wasm32"))]
pub fn memory_bytes() -> usize {
    let _ = PAGE_BYTES;
    0
}
