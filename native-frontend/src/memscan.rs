//! A scan of this process's own writable memory for marker byte patterns.
//!
//! The privacy promise is that no frame, nor anything derived from it,
//! outlives its permanence budget anywhere in memory. The canary tests check
//! it from the outside: frames carry markers ([`canary`]), and after each
//! budget and after shutdown [`scan_process_memory`] reads every private
//! writable mapping listed in `/proc/self/maps` through `/proc/self/mem`
//! and counts the markers it finds. Linux only: it needs procfs.
//!
//! The scanner must not find itself. Callers hold each marker only as a
//! [`Needle`], XOR-masked, so their copy never matches. During a scan the
//! needles are unmasked into one arena, and file contents pass through one
//! read buffer; both address ranges are left out of the scan, and both are
//! wiped before the scan returns, so no later scan finds their leftovers.
#![cfg(target_os = "linux")]

use std::fmt;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use memchr::memmem::Finder;

use crate::NativeError;
use parterre_core::zeroizing_alloc::wipe;

/// Bytes read from `/proc/self/mem` per `pread`.
const CHUNK_BYTES: usize = 1 << 20;

/// XOR key of a needle's stored form: no byte is zero, so the stored form
/// differs from the marker in every byte.
const MASK: [u8; 8] = [0x5A, 0xC3, 0x96, 0x3C, 0xA5, 0x69, 0xF0, 0x0F];

/// Mappings that are not ordinary memory, even when readable.
const SKIPPED_REGIONS: [&str; 3] = ["[vvar]", "[vvar_vclock]", "[vsyscall]"];

/// A byte pattern to look for, stored XOR-masked so the stored copy is never
/// a hit. Its `Debug` shows only the length.
pub struct Needle {
    masked: Vec<u8>,
}

impl Needle {
    /// The `len_bytes` bytes `byte(0)`, `byte(1)`, …, masked one at a time as
    /// they are produced, so the plain pattern never sits in memory.
    pub fn from_fn(len_bytes: usize, mut byte: impl FnMut(usize) -> u8) -> Self {
        let masked = (0..len_bytes).map(|i| byte(i) ^ MASK[i % MASK.len()]).collect();
        Self { masked }
    }

    /// Length of the pattern.
    pub fn len_bytes(&self) -> usize {
        self.masked.len()
    }

    /// Appends the plain pattern to `out`.
    fn unmask_into(&self, out: &mut Vec<u8>) {
        out.extend(self.masked.iter().enumerate().map(|(i, b)| b ^ MASK[i % MASK.len()]));
    }
}

impl fmt::Debug for Needle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Needle").field("len_bytes", &self.len_bytes()).finish()
    }
}

/// What one scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// One entry per needle, in the order they were given.
    pub needles: Vec<NeedleHits>,
    /// Mappings read (wholly or in part).
    pub regions_scanned: usize,
    /// Mappings, or parts of them, that could not be read and were skipped.
    pub regions_unreadable: usize,
    /// Bytes read and searched.
    pub bytes_scanned: u64,
}

impl ScanReport {
    /// Hits of every needle together.
    pub fn total_hits(&self) -> usize {
        self.needles.iter().map(|n| n.hits).sum()
    }
}

/// Where one needle was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedleHits {
    /// Non-overlapping occurrences.
    pub hits: usize,
    /// Names of the mappings with hits (`[heap]`, `[stack]`, a file path, or
    /// `[anon]`), each once. Addresses are left out on purpose.
    pub regions: Vec<String>,
}

/// Counts every needle in this process's private writable memory.
///
/// Needles must not be empty. Takes well under a second per few hundred MiB.
pub fn scan_process_memory(needles: &[Needle]) -> Result<ScanReport, NativeError> {
    if needles.iter().any(|n| n.len_bytes() == 0) {
        return Err(NativeError::InvalidArgument(
            "an empty needle matches everywhere".into(),
        ));
    }
    // Read the map before allocating the arena and buffer: they are excluded
    // by address anyway, and the listing should not change under the scan.
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mem = File::open("/proc/self/mem")?;

    // Exact capacity: the arena never reallocates, which would leave a copy.
    let mut arena = Vec::with_capacity(needles.iter().map(Needle::len_bytes).sum());
    for needle in needles {
        needle.unmask_into(&mut arena);
    }
    let overlap_bytes = needles.iter().map(Needle::len_bytes).max().unwrap_or(1) - 1;
    let mut buffer = vec![0u8; overlap_bytes + CHUNK_BYTES];
    let excluded = [address_range(&arena), address_range(&buffer)];

    let report = {
        let mut start = 0;
        let finders: Vec<Finder<'_>> = needles
            .iter()
            .map(|n| {
                let finder = Finder::new(&arena[start..start + n.len_bytes()]);
                start += n.len_bytes();
                finder
            })
            .collect();
        scan_regions(&maps, &mem, &finders, &excluded, &mut buffer)
    };
    wipe(&mut arena);
    wipe(&mut buffer);
    Ok(report)
}

/// The addresses `bytes` occupies, up to its capacity.
fn address_range(bytes: &Vec<u8>) -> Range<usize> {
    let start = bytes.as_ptr().addr();
    start..start + bytes.capacity()
}

/// Scans every mapping in `maps` that [`scannable`] accepts.
fn scan_regions(
    maps: &str,
    mem: &File,
    finders: &[Finder<'_>],
    excluded: &[Range<usize>],
    buffer: &mut [u8],
) -> ScanReport {
    let mut report = ScanReport {
        needles: vec![NeedleHits::default(); finders.len()],
        ..ScanReport::default()
    };
    let mut counts = vec![0; finders.len()];
    for (range, name) in maps.lines().filter_map(scannable) {
        report.regions_scanned += 1;
        counts.fill(0);
        for part in subtract(range, excluded) {
            match scan_range(mem, part, finders, buffer, &mut counts) {
                RangeScan::Whole(bytes) => report.bytes_scanned += bytes,
                RangeScan::Partial(bytes) => {
                    report.bytes_scanned += bytes;
                    report.regions_unreadable += 1;
                }
            }
        }
        let name = if name.is_empty() { "[anon]" } else { name };
        for (hits, &count) in report.needles.iter_mut().zip(&counts) {
            hits.hits += count;
            if count > 0 && !hits.regions.iter().any(|r| r == name) {
                hits.regions.push(name.to_owned());
            }
        }
    }
    report
}

/// The address range and name of a `/proc/self/maps` line, if it is a
/// readable, writable, private mapping of ordinary memory.
fn scannable(line: &str) -> Option<(Range<usize>, &str)> {
    let mut fields = line.splitn(6, ' ');
    let (range, perms) = (fields.next()?, fields.next()?);
    let name = fields.nth(3).unwrap_or("").trim();
    let perms = perms.as_bytes();
    let private_rw = perms.len() == 4 && perms[0] == b'r' && perms[1] == b'w' && perms[3] == b'p';
    if !private_rw || SKIPPED_REGIONS.contains(&name) {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    (start < end).then_some((start..end, name))
}

/// The parts of `range` outside every `excluded` range, in order.
fn subtract(range: Range<usize>, excluded: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut parts = vec![range];
    for cut in excluded.iter().filter(|c| !c.is_empty()) {
        parts = parts
            .into_iter()
            .flat_map(|part| {
                let before = part.start..part.end.min(cut.start);
                let after = part.start.max(cut.end)..part.end;
                [before, after].into_iter().filter(|r| !r.is_empty())
            })
            .collect();
    }
    parts
}

/// How far a range could be read.
enum RangeScan {
    /// Every byte, this many.
    Whole(u64),
    /// Only this many bytes from the start.
    Partial(u64),
}

/// Reads `range` of `mem` in chunks and adds each finder's hits to `counts`.
///
/// Each chunk is read after the last `overlap` bytes of the previous one, so
/// a match across a chunk border is seen; a match is counted only in the
/// chunk where it ends, so none is counted twice.
fn scan_range(
    mem: &File,
    range: Range<usize>,
    finders: &[Finder<'_>],
    buffer: &mut [u8],
    counts: &mut [usize],
) -> RangeScan {
    let overlap = buffer.len() - CHUNK_BYTES;
    let mut carry = 0;
    let mut address = range.start;
    while address < range.end {
        let wanted = CHUNK_BYTES.min(range.end - address);
        let read = read_fully(mem, &mut buffer[carry..carry + wanted], address);
        let window = &buffer[..carry + read];
        for (finder, count) in finders.iter().zip(counts.iter_mut()) {
            let len = finder.needle().len();
            *count += finder.find_iter(window).filter(|&at| at + len > carry).count();
        }
        address += read;
        if read < wanted {
            return RangeScan::Partial((address - range.start) as u64);
        }
        let keep = overlap.min(window.len());
        buffer.copy_within(carry + read - keep..carry + read, 0);
        carry = keep;
    }
    RangeScan::Whole((range.end - range.start) as u64)
}

/// Fills `out` from `mem` at `address`; fewer bytes when a page cannot be read.
fn read_fully(mem: &File, out: &mut [u8], address: usize) -> usize {
    let mut done = 0;
    while done < out.len() {
        match mem.read_at(&mut out[done..], (address + done) as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => done += n,
        }
    }
    done
}

pub mod canary {
    //! Canary marks to paint into test frames, and the needles that find them.
    //!
    //! Two marks, because image-derived data comes in two kinds: exact copies
    //! of the frame (decoder output, the pool slot, a crop) keep any byte
    //! pattern, so a 64-byte pseudo-random row identifies them; resized
    //! network inputs keep no byte of the frame, but a large flat block
    //! resizes to the same flat colour, so a 96x96 block of a colour no camera
    //! produces, RGB (3, 251, 7), identifies them as a run of equal values.

    use super::Needle;
    use crate::NativeError;

    /// The flat block's colour.
    pub const COLOUR_RGB: [u8; 3] = [3, 251, 7];
    /// Side of the flat block, at the frame's top-left corner (detectors pad
    /// at the bottom and right, so the corner keeps its place in their input).
    pub const BLOCK_SIDE_PX: u32 = 96;
    /// Length of the pseudo-random row, written just below the block.
    pub const ROW_BYTES: usize = 64;
    /// Pixels of the block colour in [`block_needle`]: a third of the block,
    /// so a copy of a crop of it still matches.
    const BLOCK_NEEDLE_PX: usize = 32;
    /// Values in [`block_plane_needle`]: the block resized to a third (320
    /// input for a 960 px frame) still spans 32 values.
    const BLOCK_PLANE_NEEDLE_VALUES: usize = 16;

    /// Paints the flat block at the top-left corner of a packed RGB8 frame
    /// and the row of [`ROW_BYTES`] bytes from `pattern_seed` just below it.
    ///
    /// The frame must be at least [`BLOCK_SIDE_PX`] wide and one pixel
    /// taller; `frame_rgb` must be exactly `width_px * height_px * 3` bytes.
    pub fn paint_canary(
        frame_rgb: &mut [u8],
        width_px: u32,
        height_px: u32,
        pattern_seed: u64,
    ) -> Result<(), NativeError> {
        let stride_bytes = width_px as usize * 3;
        if width_px < BLOCK_SIDE_PX || height_px <= BLOCK_SIDE_PX {
            return Err(NativeError::InvalidArgument(format!(
                "a {width_px}x{height_px} frame cannot hold the {BLOCK_SIDE_PX} px canary block and its row"
            )));
        }
        if frame_rgb.len() != stride_bytes * height_px as usize {
            return Err(NativeError::InvalidArgument(format!(
                "{} bytes are not a packed RGB8 {width_px}x{height_px} frame",
                frame_rgb.len()
            )));
        }
        let block_row_bytes = BLOCK_SIDE_PX as usize * 3;
        for row in frame_rgb.chunks_exact_mut(stride_bytes).take(BLOCK_SIDE_PX as usize) {
            for (byte, colour) in row[..block_row_bytes].iter_mut().zip(COLOUR_RGB.iter().cycle()) {
                *byte = *colour;
            }
        }
        // Written byte by byte from the seed: no copy of the row is kept.
        let row_start = BLOCK_SIDE_PX as usize * stride_bytes;
        for (i, byte) in frame_rgb[row_start..row_start + ROW_BYTES].iter_mut().enumerate() {
            *byte = pattern_byte(pattern_seed, i);
        }
        Ok(())
    }

    /// Finds the row [`paint_canary`] wrote for `pattern_seed`.
    pub fn row_needle(pattern_seed: u64) -> Needle {
        Needle::from_fn(ROW_BYTES, |i| pattern_byte(pattern_seed, i))
    }

    /// Finds a row of 32 block pixels as packed RGB8 bytes: the frame itself,
    /// copies of it, and 8-bit resizes of it.
    pub fn block_needle() -> Needle {
        Needle::from_fn(BLOCK_NEEDLE_PX * 3, |i| COLOUR_RGB[i % 3])
    }

    /// Finds the block in a planar f32 network input (vision's
    /// `square_input`: `(level - mean) / 255` per channel, NCHW): 16 equal
    /// values of `channel` normalised with `mean_level`, little-endian.
    /// Bilinear resizing keeps a flat area's value exactly.
    pub fn block_plane_needle(channel: usize, mean_level: f32) -> Needle {
        let level = f32::from(COLOUR_RGB[channel % 3]);
        let value = ((level - mean_level) / 255.0).to_le_bytes();
        Needle::from_fn(BLOCK_PLANE_NEEDLE_VALUES * 4, |i| value[i % 4])
    }

    /// Byte `index` of the row for `seed`: SplitMix64 over the row's words.
    fn pattern_byte(seed: u64, index: usize) -> u8 {
        let word = (index / 8) as u64 + 1;
        let mut z = seed.wrapping_add(word.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> ((index % 8) * 8)) as u8
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn plain(needle: &Needle) -> Vec<u8> {
            let mut out = Vec::new();
            needle.unmask_into(&mut out);
            out
        }

        #[test]
        fn paint_writes_the_block_and_the_row_and_nothing_else() {
            let (width_px, height_px) = (100u32, 98u32);
            let mut frame = vec![0x11u8; width_px as usize * height_px as usize * 3];
            paint_canary(&mut frame, width_px, height_px, 42).expect("paint");
            let stride = width_px as usize * 3;
            let pixel = |x: usize, y: usize| &frame[y * stride + x * 3..y * stride + x * 3 + 3];
            for (x, y) in [(0, 0), (95, 0), (0, 95), (95, 95), (50, 40)] {
                assert_eq!(pixel(x, y), COLOUR_RGB, "block pixel ({x}, {y})");
            }
            for (x, y) in [(96, 0), (99, 95), (30, 97)] {
                assert_eq!(pixel(x, y), [0x11; 3], "outside pixel ({x}, {y})");
            }
            let row = &frame[96 * stride..96 * stride + ROW_BYTES];
            assert_eq!(row, plain(&row_needle(42)).as_slice());
            assert_ne!(row, plain(&row_needle(43)).as_slice(), "the seed must matter");
            assert_eq!(frame[96 * stride + ROW_BYTES], 0x11);
        }

        #[test]
        fn paint_refuses_frames_that_cannot_hold_it() {
            for (width_px, height_px, len) in [
                (95, 200, 95 * 200 * 3),
                (96, 96, 96 * 96 * 3),
                (96, 97, 96 * 97 * 3 - 1),
            ] {
                let mut frame = vec![0u8; len];
                assert!(
                    paint_canary(&mut frame, width_px, height_px, 1).is_err(),
                    "{width_px}x{height_px}"
                );
            }
        }

        #[test]
        fn needles_unmask_to_the_marks() {
            let block = plain(&block_needle());
            assert_eq!(block.len(), 96);
            assert!(block.chunks(3).all(|px| px == COLOUR_RGB));
            // Green 251 with the tiny detector's mean 114.697, by hand: 0.534522…
            let plane = plain(&block_plane_needle(1, 114.697));
            let values: Vec<f32> = plane
                .chunks(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            assert_eq!(values.len(), 16);
            assert!(values.iter().all(|&v| (v - 0.534_522).abs() < 1e-6), "{values:?}");
        }

        #[test]
        fn the_stored_needle_differs_from_the_mark_in_every_byte() {
            let needle = row_needle(7);
            let mark = plain(&needle);
            assert!(needle.masked.iter().zip(&mark).all(|(m, p)| m != p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_keep_only_private_writable_ordinary_memory() {
        let cases = [
            (
                "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]",
                Some((0x55d0_c0a0_0000, 0x55d0_c0a2_1000, "[heap]")),
            ),
            (
                "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ",
                Some((0x7f00_0000_0000, 0x7f00_0000_1000, "")),
            ),
            (
                "7f0000000000-7f0000002000 rw-p 00001000 08:01 1234   /usr/lib/libc.so.6",
                Some((0x7f00_0000_0000, 0x7f00_0000_2000, "/usr/lib/libc.so.6")),
            ),
            (
                "7f0000000000-7f0000001000 r--p 00000000 08:01 1234   /usr/lib/libc.so.6",
                None,
            ),
            ("7f0000000000-7f0000001000 rw-s 00000000 00:05 99     /dev/video0", None),
            ("7f0000000000-7f0000001000 ---p 00000000 00:00 0 ", None),
            ("7ffd00000000-7ffd00002000 rw-p 00000000 00:00 0      [vvar]", None),
            (
                "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]",
                None,
            ),
            ("garbage", None),
        ];
        for (line, expected) in cases {
            let got = scannable(line).map(|(r, name)| (r.start, r.end, name));
            assert_eq!(got, expected, "{line}");
        }
    }

    #[test]
    fn subtract_cuts_excluded_ranges_out() {
        type Spans = &'static [(usize, usize)];
        let ranges = |spans: Spans| spans.iter().map(|&(start, end)| start..end).collect::<Vec<_>>();
        let cases: [((usize, usize), Spans, Spans); 6] = [
            ((0, 100), &[], &[(0, 100)]),
            ((0, 100), &[(200, 300)], &[(0, 100)]),
            ((0, 100), &[(20, 30)], &[(0, 20), (30, 100)]),
            ((0, 100), &[(0, 30), (90, 150)], &[(30, 90)]),
            (
                (0, 100),
                &[(20, 30), (50, 60), (40, 40)],
                &[(0, 20), (30, 50), (60, 100)],
            ),
            ((10, 20), &[(0, 100)], &[]),
        ];
        for ((start, end), excluded, expected) in cases {
            let excluded = ranges(excluded);
            assert_eq!(
                subtract(start..end, &excluded),
                ranges(expected),
                "{start}..{end} minus {excluded:?}"
            );
        }
    }

    #[test]
    fn empty_needles_are_refused() {
        assert!(scan_process_memory(&[Needle::from_fn(0, |_| 0)]).is_err());
    }
}
