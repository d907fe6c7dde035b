//! A global allocator wrapper that zeroes every heap block before freeing it.
//!
//! Frame pixels live in core's locked, wiped frame pool, but the analysis
//! derives heap data from them (resized input tensors, face crops, decoder
//! scratch). Freed, those blocks would keep image-derived bytes in the
//! allocator's free lists until reused. Installed as the binary's
//! `#[global_allocator]`, [`ZeroizingAllocator`] wipes each block on `dealloc`
//! (and on every `realloc` that moves it), so nothing outlives its owner.
//!
//! The one `unsafe` here is the `GlobalAlloc` contract itself and the raw
//! slice over a block about to be freed.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// Wraps an allocator `A` and zeroes every block before `A` frees it.
///
/// `realloc` is deliberately the trait's default (allocate, copy, `dealloc`
/// the old block through this wrapper): delegating to `A::realloc` would let a
/// moving reallocation free the old block unwiped. The price is that a
/// growing `Vec` never grows in place.
#[derive(Debug)]
pub struct ZeroizingAllocator<A = System> {
    inner: A,
    /// Bytes wiped so far; relaxed, for tests and benchmarks only.
    wiped_bytes: AtomicU64,
}

impl ZeroizingAllocator<System> {
    /// Wraps the system allocator; `const`, so it can initialise a `static`.
    pub const fn new() -> Self {
        Self::wrapping(System)
    }
}

impl Default for ZeroizingAllocator<System> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A> ZeroizingAllocator<A> {
    /// Wraps `inner`.
    pub const fn wrapping(inner: A) -> Self {
        Self {
            inner,
            wiped_bytes: AtomicU64::new(0),
        }
    }

    /// How many bytes this allocator has zeroed before freeing them.
    pub fn wiped_bytes(&self) -> u64 {
        self.wiped_bytes.load(Ordering::Relaxed)
    }
}

// SAFETY: every method forwards to `inner` with the caller's own pointer and
// layout, so `inner`'s guarantees carry over; `dealloc` only writes zeros into
// the block the caller hands back, which it owns until `inner.dealloc`.
unsafe impl<A: GlobalAlloc> GlobalAlloc for ZeroizingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size).
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` is a live block of this
        // allocator of `layout.size()` bytes, which nobody else uses any more.
        let block = unsafe { std::slice::from_raw_parts_mut(ptr, layout.size()) };
        wipe(block);
        self.wiped_bytes.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same pointer and layout the caller gave us.
        unsafe { self.inner.dealloc(ptr, layout) }
    }
}

/// Zeroes `bytes` at `memset` speed, in a way the optimiser may not remove.
///
/// The block is freed right after, so a plain `memset` before `free` is a
/// dead store the optimiser is allowed to delete; volatile stores are not
/// deleted, but they are issued one at a time, at a fraction of `memset`'s
/// speed (on this allocator's tens of MiB a frame, that is milliseconds).
/// Instead: one `memset`, then an empty `asm!` block that takes the block's
/// address and may read memory. The compiler must assume the assembly reads
/// the zeros, so it has to write them, all before the block is handed back
/// (the same barrier as the Linux kernel's `memzero_explicit`).
pub fn wipe(bytes: &mut [u8]) {
    let start = bytes.as_mut_ptr();
    // SAFETY: `start` points to `bytes.len()` writable bytes of `bytes`.
    unsafe { std::ptr::write_bytes(start, 0, bytes.len()) };
    keep_stores(start);
}

/// Makes the stores to `block` observable: an empty assembly block that may
/// read memory through the pointer.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn keep_stores(block: *mut u8) {
    // SAFETY: the assembly is empty: it reads nothing, writes nothing, and
    // leaves the stack and flags alone; only the compiler must assume it reads.
    unsafe { std::arch::asm!("/* {0} */", in(reg) block, options(nostack, preserves_flags, readonly)) };
}

/// Elsewhere (wasm32 among them, which has no stable `asm!`): `black_box`,
/// which the compiler treats the same way (its documentation only promises
/// best effort).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn keep_stores(block: *mut u8) {
    std::hint::black_box(block);
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The system allocator, recording whether each block it frees is all zeros.
    #[derive(Default)]
    struct Recording {
        freed_clean: Mutex<Vec<bool>>,
    }

    // SAFETY: forwards to `System`; `dealloc` only reads the block it is
    // handed, before freeing it.
    unsafe impl GlobalAlloc for Recording {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded contract.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: a live block of `layout.size()` bytes, ours until freed.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let clean = block.iter().all(|&b| b == 0);
            self.freed_clean.lock().unwrap_or_else(|e| e.into_inner()).push(clean);
            // SAFETY: forwarded contract.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    impl Recording {
        fn freed_clean(&self) -> Vec<bool> {
            self.freed_clean.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
    }

    /// Allocates `size` bytes through `alloc`, fills them with a pattern and frees them.
    fn fill_and_free(alloc: &impl GlobalAlloc, size: usize, align: usize) {
        let layout = Layout::from_size_align(size, align).expect("layout");
        // SAFETY: non-zero size; the block is written within bounds, then freed once.
        unsafe {
            let ptr = alloc.alloc(layout);
            assert!(!ptr.is_null());
            for i in 0..size {
                ptr.add(i).write((i % 251) as u8 + 1);
            }
            alloc.dealloc(ptr, layout);
        }
    }

    #[test]
    fn wipe_zeroes_every_byte_at_any_offset_and_length() {
        // Unaligned starts and odd lengths exercise the head, words and tail.
        for (offset, len) in [(0, 0), (0, 1), (1, 7), (3, 8), (0, 64), (5, 1000), (7, 4097)] {
            let mut buffer = vec![0xA5u8; offset + len + 3];
            wipe(&mut buffer[offset..offset + len]);
            assert!(
                buffer[offset..offset + len].iter().all(|&b| b == 0),
                "({offset}, {len})"
            );
            let untouched = buffer[..offset].iter().chain(&buffer[offset + len..]);
            assert!(
                untouched.into_iter().all(|&b| b == 0xA5),
                "({offset}, {len}) wrote outside"
            );
        }
    }

    #[test]
    fn dealloc_hands_the_inner_allocator_zeroed_blocks() {
        let zeroizing = ZeroizingAllocator::wrapping(Recording::default());
        for (size, align) in [(1, 1), (24, 8), (4096, 64), (1 << 20, 16)] {
            fill_and_free(&zeroizing, size, align);
        }
        assert_eq!(zeroizing.inner.freed_clean(), vec![true; 4]);
        assert_eq!(zeroizing.wiped_bytes(), 1 + 24 + 4096 + (1 << 20));
    }

    #[test]
    fn negative_control_without_the_wrapper_blocks_are_freed_dirty() {
        let plain = Recording::default();
        fill_and_free(&plain, 4096, 8);
        assert_eq!(plain.freed_clean(), vec![false]);
    }

    #[test]
    fn realloc_keeps_the_contents_and_wipes_the_old_block() {
        let zeroizing = ZeroizingAllocator::wrapping(Recording::default());
        for (old_size, new_size) in [(64, 1 << 16), (1 << 16, 100)] {
            let layout = Layout::from_size_align(old_size, 8).expect("layout");
            // SAFETY: the block is written within its old size, reallocated
            // once, read within the smaller of both sizes, then freed with its
            // new layout.
            unsafe {
                let ptr = zeroizing.alloc(layout);
                assert!(!ptr.is_null());
                for i in 0..old_size {
                    ptr.add(i).write((i % 13) as u8 + 1);
                }
                let moved = zeroizing.realloc(ptr, layout, new_size);
                assert!(!moved.is_null());
                let kept = std::slice::from_raw_parts(moved, old_size.min(new_size));
                assert!(kept.iter().enumerate().all(|(i, &b)| b == (i % 13) as u8 + 1));
                zeroizing.dealloc(moved, Layout::from_size_align(new_size, 8).expect("layout"));
            }
        }
        // Two reallocs and two final frees, every one handed over zeroed.
        assert_eq!(zeroizing.inner.freed_clean(), vec![true; 4]);
        assert_eq!(zeroizing.wiped_bytes(), (64 + (1 << 16)) + ((1 << 16) + 100));
    }

    /// Median nanoseconds of allocating `size_bytes` through `alloc`,
    /// filling the block as its owner would, and freeing it.
    #[allow(clippy::disallowed_methods)] // a measurement of wall time, never a check
    fn median_cycle_ns(alloc: &impl GlobalAlloc, size_bytes: usize) -> u128 {
        let layout = Layout::from_size_align(size_bytes, 16).expect("layout");
        let mut times_ns: Vec<u128> = (0..501)
            .map(|_| {
                let started = std::time::Instant::now();
                // SAFETY: non-zero size; filled within bounds, then freed once.
                unsafe {
                    let ptr = alloc.alloc(layout);
                    assert!(!ptr.is_null());
                    ptr.write_bytes(0xAB, size_bytes);
                    alloc.dealloc(std::hint::black_box(ptr), layout);
                }
                started.elapsed().as_nanos()
            })
            .collect();
        times_ns.sort_unstable();
        times_ns[times_ns.len() / 2]
    }

    /// The figure for the README: run with
    /// `cargo test --release -p parterre-core --lib zeroizing_alloc -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn measure_the_cost_of_wiping() {
        let zeroizing = ZeroizingAllocator::new();
        for size_bytes in [64 << 10, 1 << 20] {
            let system_ns = median_cycle_ns(&System, size_bytes);
            let zeroizing_ns = median_cycle_ns(&zeroizing, size_bytes);
            let extra_us_per_mib =
                (zeroizing_ns as f64 - system_ns as f64) / 1e3 * (1 << 20) as f64 / size_bytes as f64;
            eprintln!(
                "{} KiB alloc+fill+free: System {:.1} us, Zeroizing {:.1} us: +{extra_us_per_mib:.1} us per MiB freed",
                size_bytes >> 10,
                system_ns as f64 / 1e3,
                zeroizing_ns as f64 / 1e3,
            );
        }
        assert_eq!(zeroizing.wiped_bytes(), 501 * ((64 << 10) + (1 << 20)));
    }
}
