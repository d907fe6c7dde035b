//! The frame sources on real files: the tiny fixtures in `tests/fixtures`
//! (made by `make_fixtures.py` there), whose expected pixels are worked out
//! by hand below, broken files that must fail cleanly, ffmpeg when it is
//! installed, and the runtime fed by a folder of pictures of mixed sizes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use parterre_core::{MemoryAudit, PixelFormat, PoolConfig};
use parterre_native::NativeError;
use parterre_native::probe::BrightnessProbe;
use parterre_native::runtime::{Runtime, RuntimeConfig};
use parterre_native::source::ffmpeg::{FfmpegSource, FfmpegTools};
use parterre_native::source::image::ImageSource;
use parterre_native::source::y4m::Y4mSource;
use parterre_native::source::{FrameSource, open_source};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Writes the next frame into a fresh buffer of the size `layout` asks for.
fn next_frame(source: &mut dyn FrameSource) -> Result<Vec<u8>, NativeError> {
    assert!(source.has_next()?, "a frame should follow");
    let mut frame = vec![0; source.layout().len_bytes()];
    source.write_next(&mut frame)?;
    Ok(frame)
}

fn open_fixture(name: &str) -> Box<dyn FrameSource> {
    open_source(&fixture(name).display().to_string()).expect(name)
}

#[test]
fn png_pixels_decode_exactly() {
    let mut source = ImageSource::open(&fixture("tiny.png"), 2.0).expect("open");
    let layout = source.layout();
    assert_eq!(
        (layout.format, layout.width_px, layout.height_px),
        (PixelFormat::Rgb8, 3, 2)
    );
    assert_eq!(source.frame_index(), None);
    let frame = next_frame(&mut source).expect("frame");
    #[rustfmt::skip]
    let expected = [255, 0, 0, 0, 255, 0, 0, 0, 255, /* row 2 */ 10, 20, 30, 200, 100, 50, 255, 255, 255];
    assert_eq!(frame, expected);
    assert_eq!(source.frame_index(), Some(0));
    assert!(source.name().ends_with("tiny.png"));
    assert!(!source.has_next().expect("end"));
}

#[test]
fn other_png_colour_types_become_rgb() {
    // (file, RGB): grey+alpha drops alpha; a palette expands to its colours.
    let cases: [(&str, &[u8]); 2] = [
        ("gray_alpha.png", &[40, 40, 40, 200, 200, 200]),
        ("palette.png", &[250, 128, 4, 1, 2, 3]),
    ];
    for (name, expected) in cases {
        let frame = next_frame(&mut *open_fixture(name)).expect(name);
        assert_eq!(frame, expected, "{name}");
    }
}

#[test]
fn jpeg_decodes_close_to_its_source() {
    // JPEG is lossy: a flat colour comes back within a few levels.
    let solid = next_frame(&mut *open_fixture("solid.jpg")).expect("solid");
    assert_eq!(solid.len(), 16 * 16 * 3);
    for pixel in solid.chunks_exact(3) {
        for (got, want) in pixel.iter().zip([200u8, 40, 60]) {
            assert!(got.abs_diff(want) <= 4, "{pixel:?}");
        }
    }
    // Black left half, white right half: rows are not mirrored or shifted.
    let halves = next_frame(&mut *open_fixture("halves.jpg")).expect("halves");
    let at = |x: usize, y: usize| halves[(y * 16 + x) * 3];
    for y in 0..8 {
        assert!(at(2, y) < 30 && at(13, y) > 225, "row {y}: {} {}", at(2, y), at(13, y));
    }
}

#[test]
fn a_folder_is_read_in_name_order_at_each_pictures_size() {
    let mut source = ImageSource::open(&fixture("folder"), 30.0).expect("open");
    let names: Vec<_> = source
        .files()
        .iter()
        .filter_map(|file| file.file_name()?.to_str().map(str::to_owned))
        .collect();
    assert_eq!(
        names,
        ["a_first.jpg", "b_second.png", "c_third.PNG"],
        "notes.txt is skipped"
    );
    let max = source.max_layout();
    assert_eq!((max.width_px, max.height_px), (16, 9), "widest and tallest");
    let mut sizes = Vec::new();
    let mut frames = Vec::new();
    while source.has_next().expect("has_next") {
        let layout = source.layout();
        assert!(layout.len_bytes() <= max.len_bytes());
        sizes.push((layout.width_px, layout.height_px));
        frames.push(next_frame(&mut source).expect("frame"));
        assert!(source.name().ends_with(&names[frames.len() - 1]), "{}", source.name());
    }
    assert_eq!(sizes, [(16, 8), (3, 2), (5, 9)]);
    assert_eq!(frames[1][..3], [255, 0, 0], "tiny.png's first pixel");
    assert!(frames[2].iter().all(|&value| value == 77), "flat grey 77");
    assert_eq!(source.frame_index(), Some(2));
}

#[test]
fn broken_pictures_fail_with_an_error_naming_the_file() {
    // Each fails either on opening (header) or on decoding: never a panic,
    // always a Decode error that names the file.
    for name in ["truncated.png", "truncated.jpg", "corrupt.jpg", "not_an_image.png"] {
        let result = ImageSource::open(&fixture(name), 1.0).and_then(|mut source| next_frame(&mut source));
        match result {
            Err(NativeError::Decode { name: file, reason }) => {
                assert!(file.ends_with(name), "{file}: {reason}");
            }
            other => panic!(
                "{name}: expected a decode error, got {:?}",
                other.map(|frame| frame.len())
            ),
        }
    }
    // Negative control: the same path through a good file works.
    assert!(
        ImageSource::open(&fixture("tiny.png"), 1.0)
            .and_then(|mut source| next_frame(&mut source))
            .is_ok()
    );
    let error = ImageSource::open(&fixture("not_an_image.png"), 1.0).expect_err("text");
    assert!(error.to_string().contains("neither JPEG nor PNG"), "{error}");
}

#[test]
fn y4m_420_frames_match_hand_computed_rgb() {
    let mut source = Y4mSource::open(&fixture("tiny420.y4m")).expect("open");
    assert_eq!(source.fps(), 25.0);
    // Full range: R = Y + 1.402(V-128), G = Y - 0.344(U-128) - 0.714(V-128),
    // B = Y + 1.772(U-128). Pixels 0,1 (both rows) share U 128, V 228;
    // pixels 2,3 share U 0, V 128.
    #[rustfmt::skip]
    let first = [
        150, 0, 10,   160, 0, 20,   30, 74, 0,    40, 84, 0,
        190, 0, 50,   200, 0, 60,   70, 114, 0,   80, 124, 0,
    ];
    assert_eq!(next_frame(&mut source).expect("frame 1"), first);
    assert_eq!(
        next_frame(&mut source).expect("frame 2"),
        [128; 24],
        "grey; FRAME parameters skipped"
    );
    assert_eq!(source.frame_index(), Some(1));
    assert!(!source.has_next().expect("end"));
}

#[test]
fn y4m_without_a_range_tag_is_limited_range() {
    let frame = next_frame(&mut *open_fixture("limited444.y4m")).expect("frame");
    // BT.601 limited red (Y 81, U 90, V 240), then white (Y 235).
    assert_eq!(frame, [255, 0, 0, 255, 255, 255]);
}

#[test]
fn broken_y4m_files_fail_cleanly() {
    let mut truncated = Y4mSource::open(&fixture("truncated.y4m")).expect("header is fine");
    next_frame(&mut truncated).expect("the first frame is whole");
    let error = next_frame(&mut truncated).expect_err("the second is cut");
    assert!(error.to_string().contains("truncated"), "{error}");

    let mut bad_line = Y4mSource::open(&fixture("bad_frame_line.y4m")).expect("header is fine");
    let error = bad_line.has_next().expect_err("FRAMX");
    assert!(error.to_string().contains("FRAME"), "{error}");

    for (name, expected) in [("zero_size.y4m", "zero-size"), ("not_y4m.y4m", "not a Y4M")] {
        let error = Y4mSource::open(&fixture(name)).expect_err(name);
        assert!(matches!(error, NativeError::Decode { .. }), "{error}");
        assert!(error.to_string().contains(expected), "{name}: {error}");
    }
}

#[test]
fn a_missing_ffmpeg_is_a_clear_error() {
    let tools = FfmpegTools {
        ffmpeg: "/nonexistent/ffmpeg".into(),
        ffprobe: "/nonexistent/ffprobe".into(),
    };
    let error = FfmpegSource::open_with(&fixture("tiny.png"), &tools).expect_err("no ffmpeg");
    assert!(matches!(error, NativeError::ToolMissing { .. }), "{error}");
    let text = error.to_string();
    assert!(text.contains("not installed") && text.contains(".y4m"), "{text}");
}

fn ffmpeg_installed() -> bool {
    let works = |tool: &str| {
        Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|out| out.status.success())
    };
    works("ffmpeg") && works("ffprobe")
}

#[test]
fn ffmpeg_decodes_a_video_through_a_pipe() {
    if !ffmpeg_installed() {
        eprintln!("SKIPPED ffmpeg_decodes_a_video_through_a_pipe: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("parterre-sources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let video = dir.join("red.nut");
    // Three 32x24 red frames at 10 fps, stored losslessly as RGB.
    let made = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", "color=c=red:s=32x24:r=10:d=0.3", "-frames:v", "3"])
        .args(["-c:v", "rawvideo", "-pix_fmt", "rgb24"])
        .arg(&video)
        .status()
        .expect("run ffmpeg");
    assert!(made.success());
    let mut source = open_source(&video.display().to_string()).expect("open");
    assert_eq!(source.fps(), 10.0);
    let mut frames = 0;
    while source.has_next().expect("has_next") {
        let frame = next_frame(&mut *source).expect("frame");
        assert_eq!(frame.len(), 32 * 24 * 3);
        for pixel in frame.chunks_exact(3) {
            assert!(pixel[0] > 240 && pixel[1] < 15 && pixel[2] < 15, "{pixel:?}");
        }
        frames += 1;
    }
    assert_eq!(frames, 3);
    assert_eq!(source.frame_index(), Some(2));
    // Not a video: ffprobe's complaint comes back as a decode error.
    let error = FfmpegSource::open(&fixture("not_y4m.y4m")).expect_err("not a video");
    assert!(matches!(error, NativeError::Decode { .. }), "{error}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn open_source_picks_by_what_the_spec_names() {
    // (spec, width, height, fps) of the first frame.
    let cases = [
        ("synthetic".to_owned(), 640, 480, 30.0),
        (fixture("tiny.png").display().to_string(), 3, 2, 1.0),
        (fixture("folder").display().to_string(), 16, 8, 1.0),
        (fixture("tiny420.y4m").display().to_string(), 4, 2, 25.0),
    ];
    for (spec, width_px, height_px, fps) in cases {
        let mut source = open_source(&spec).expect(&spec);
        assert!(source.has_next().expect("has_next"));
        let layout = source.layout();
        assert_eq!(
            (layout.width_px, layout.height_px, source.fps()),
            (width_px, height_px, fps),
            "{spec}"
        );
    }
    let missing = open_source("/no/such/video.mp4").err().map(|error| error.to_string());
    assert!(missing.is_some_and(|text| text.contains("no such file")));
    let camera = open_source("/dev/video-parterre-missing").err();
    assert!(matches!(camera, Some(NativeError::Camera { .. })), "{camera:?}");
}

#[test]
fn the_runtime_runs_a_folder_of_mixed_sizes_and_keeps_nothing() {
    let source = open_source(&fixture("folder").display().to_string()).expect("open");
    let config = RuntimeConfig {
        pool: PoolConfig {
            budget_ms: 100,
            ..PoolConfig::default()
        },
        ..RuntimeConfig::default()
    };
    // 30 fps would take long: the folder is shown at the default 1 fps, so
    // three pictures take about 2 s.
    let runtime = Runtime::start(source, BrightnessProbe::default(), config).expect("start");
    while !runtime.is_finished() {
        thread::sleep(Duration::from_millis(20));
    }
    let summary = runtime.stop().expect("stop");
    assert_eq!(summary.stats.failure, None, "each size fits the slot");
    assert_eq!(summary.stats.captured + summary.stats.dropped, 3);
    assert_eq!(
        summary.audit,
        MemoryAudit {
            frames_held: 0,
            residue_bytes: 0
        }
    );
}

/// Mirrors `xtask/src/fixtures.rs`: pixel (x, y) of the canary video's
/// top-left 64x64 block is grey `CANARY_PATTERN[(x + 3y) % 16]`, exact after
/// decoding (full range, neutral chroma).
const CANARY_PATTERN: [u8; 16] = *b"PARTERRE-CANARY!";
const CANARY_BLOCK_PX: usize = 64;

#[test]
fn the_generated_canary_video_carries_the_documented_pattern() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-video/canary_640x480.y4m");
    if !path.exists() {
        eprintln!(
            "SKIPPED the canary check: run `cargo xtask fixtures` to make {}",
            path.display()
        );
        return;
    }
    let mut source = Y4mSource::open(&path).expect("open");
    let frame = next_frame(&mut source).expect("frame");
    let width = source.layout().width_px as usize;
    for y in 0..CANARY_BLOCK_PX {
        for x in 0..CANARY_BLOCK_PX {
            let value = CANARY_PATTERN[(x + 3 * y) % CANARY_PATTERN.len()];
            let at = (y * width + x) * 3;
            assert_eq!(frame[at..at + 3], [value; 3], "pixel ({x}, {y})");
        }
    }
    // Negative control: just outside the block the scene is not the pattern.
    let outside: Vec<u8> = (0..16).map(|x| frame[(CANARY_BLOCK_PX + x) * 3]).collect();
    let pattern: Vec<u8> = (0..16).map(|x| CANARY_PATTERN[(CANARY_BLOCK_PX + x) % 16]).collect();
    assert_ne!(outside, pattern);
}

mod never_panics {
    //! Damaged input of any shape gives frames or errors, never a panic.

    use std::io::Cursor;

    use proptest::prelude::*;

    use super::*;

    /// Reads up to a few frames, whatever happens.
    fn drain(source: &mut dyn FrameSource) {
        for _ in 0..4 {
            match source.has_next() {
                Ok(true) => {
                    let mut frame = vec![0; source.layout().len_bytes()];
                    if source.write_next(&mut frame).is_err() {
                        return;
                    }
                }
                Ok(false) | Err(_) => return,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn y4m_streams(prefix in 0usize..3, tail in proptest::collection::vec(any::<u8>(), 0..160)) {
            let head: &[u8] = [&b""[..], b"YUV4MPEG2 W4 H2 C420jpeg\n", b"YUV4MPEG2 W4 H2 C420jpeg\nFRAME\n"][prefix];
            let bytes = [head, &tail].concat();
            if let Ok(mut source) = Y4mSource::from_reader(Cursor::new(bytes), "fuzz".to_owned()) {
                drain(&mut source);
            }
        }

        #[test]
        fn pictures(
            which in 0usize..4,
            keep in 0.0f64..=1.0,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let name = ["tiny.png", "palette.png", "solid.jpg", "halves.jpg"][which];
            let mut bytes = std::fs::read(fixture(name)).expect("fixture");
            bytes.truncate((bytes.len() as f64 * keep) as usize);
            for (at, value) in flips {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes[at] ^= value;
                }
            }
            let dir = std::env::temp_dir().join(format!("parterre-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let path = dir.join(format!("{:?}-{name}", thread::current().id()));
            std::fs::write(&path, &bytes).expect("write");
            if let Ok(mut source) = ImageSource::open(&path, 1.0) {
                drain(&mut source);
            }
            std::fs::remove_file(&path).expect("clean up");
        }
    }
}
