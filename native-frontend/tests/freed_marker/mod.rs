//! Shared by the zeroizing allocator's global test and its negative control:
//! fill heap blocks with a marker, free them, and count what a memory scan
//! still finds. The two test binaries differ only in their global allocator.

use std::time::{SystemTime, UNIX_EPOCH};

use parterre_native::memscan::{Needle, scan_process_memory};

/// Length of the marker, repeated back to back in each block.
pub const MARKER_BYTES: usize = 64;
/// Above glibc's tcache sizes and below its mmap threshold: a freed block
/// stays in the heap's free lists with its contents, bar the list pointers.
const BLOCK_BYTES: usize = 8 << 10;
const BLOCKS: usize = 16;
/// Marker copies planted.
pub const PLANTED: usize = BLOCKS * BLOCK_BYTES / MARKER_BYTES;

/// Byte `index` of the marker for `seed`, computed on demand so that no copy
/// of the whole marker is ever kept.
fn marker_byte(seed: u64, index: usize) -> u8 {
    let mut z = seed ^ (index as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 31)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 29)) as u8
}

/// Marker copies found while the blocks are live, and after they are freed.
pub fn free_marked_blocks() -> (usize, usize) {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let needle = [Needle::from_fn(MARKER_BYTES, |i| marker_byte(seed, i))];
    let mut blocks = Vec::with_capacity(BLOCKS);
    let mut guards = Vec::with_capacity(BLOCKS);
    for _ in 0..BLOCKS {
        // Built in place, one allocation each: no stray copy of the marker.
        blocks.push(
            (0..BLOCK_BYTES)
                .map(|i| marker_byte(seed, i % MARKER_BYTES))
                .collect::<Vec<u8>>(),
        );
        // A live neighbour keeps the freed block from merging into free
        // space that glibc may trim and return to the kernel.
        guards.push(vec![1u8; 64]);
    }
    let live = scan_process_memory(&needle).expect("scan").needles[0].hits;
    drop(blocks);
    let freed = scan_process_memory(&needle).expect("scan").needles[0].hits;
    drop(guards);
    (live, freed)
}
