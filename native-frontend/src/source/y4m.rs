//! Y4M (YUV4MPEG2) video, read natively: the one uncompressed video format
//! that ffmpeg and every test tool write, so tests and benchmarks need no
//! external program. 8-bit 4:2:0 (`C420jpeg`, `C420`, `C420mpeg2`,
//! `C420paldv`: the siting of chroma is ignored), `C444` and `Cmono`; limited
//! range unless the header says `XCOLORRANGE=FULL` (see `yuv` for the
//! BT.601 formulas).
//!
//! The file is read unbuffered: a `BufReader` would keep raw pixels in a
//! buffer nobody wipes. Each frame's planes go into a `Zeroizing` scratch,
//! wiped as soon as the frame is converted into the slot.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use parterre_core::FrameLayout;
use zeroize::Zeroizing;

use super::yuv::{Chroma, ColorRange, planar_to_rgb};
use super::{FrameSource, check_dst, check_frame_size};
use crate::error::NativeError;

/// The header line and `FRAME` lines are short; a longer one is not Y4M.
const MAX_LINE_BYTES: usize = 1024;

/// The rate assumed when the header names none.
const DEFAULT_FPS: f64 = 30.0;

/// What a Y4M stream header says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Y4mHeader {
    /// Frame width.
    pub width_px: u32,
    /// Frame height.
    pub height_px: u32,
    /// Frames per second.
    pub fps: f64,
    /// The chroma layout.
    chroma: Chroma,
    /// Limited unless `XCOLORRANGE=FULL`.
    pub range: ColorRange,
}

impl Y4mHeader {
    /// Parses the stream header line, without its newline.
    pub fn parse(line: &str) -> Result<Self, String> {
        let mut fields = line.split(' ').filter(|field| !field.is_empty());
        if fields.next() != Some("YUV4MPEG2") {
            return Err("not a Y4M file (no YUV4MPEG2 signature)".to_owned());
        }
        let (mut width_px, mut height_px) = (None, None);
        let mut header = Self {
            width_px: 0,
            height_px: 0,
            fps: DEFAULT_FPS,
            chroma: Chroma::Planes { shift_x: 1, shift_y: 1 },
            range: ColorRange::Limited,
        };
        for field in fields {
            let (tag, value) = field
                .split_at_checked(1)
                .ok_or_else(|| format!("bad header field `{field}`"))?;
            match tag {
                "W" => width_px = Some(value.parse::<u32>().map_err(|_| format!("bad width `{value}`"))?),
                "H" => height_px = Some(value.parse::<u32>().map_err(|_| format!("bad height `{value}`"))?),
                "F" => header.fps = parse_rate(value)?,
                "C" => header.chroma = parse_chroma(value)?,
                "X" if value.eq_ignore_ascii_case("COLORRANGE=FULL") => header.range = ColorRange::Full,
                // Interlacing, aspect ratio, other extensions: nothing to convert.
                _ => {}
            }
        }
        header.width_px = width_px.ok_or("the header has no width (W)")?;
        header.height_px = height_px.ok_or("the header has no height (H)")?;
        Ok(header)
    }

    /// Bytes of one frame's planes.
    pub fn frame_bytes(&self) -> usize {
        self.chroma.frame_bytes(self.width_px as usize, self.height_px as usize)
    }
}

fn parse_rate(value: &str) -> Result<f64, String> {
    let bad = || format!("bad frame rate `{value}`");
    let (numerator, denominator) = value.split_once(':').ok_or_else(bad)?;
    let numerator: u32 = numerator.parse().map_err(|_| bad())?;
    let denominator: u32 = denominator.parse().map_err(|_| bad())?;
    if numerator == 0 || denominator == 0 {
        return Err(bad());
    }
    Ok(f64::from(numerator) / f64::from(denominator))
}

fn parse_chroma(value: &str) -> Result<Chroma, String> {
    match value {
        "420jpeg" | "420" | "420mpeg2" | "420paldv" => Ok(Chroma::Planes { shift_x: 1, shift_y: 1 }),
        "444" => Ok(Chroma::Planes { shift_x: 0, shift_y: 0 }),
        "mono" => Ok(Chroma::Mono),
        other => Err(format!(
            "colour space C{other} is not supported (8-bit 420jpeg, 420, 420mpeg2, 444 and mono are): \
             convert with `ffmpeg -i IN -pix_fmt yuv420p OUT.y4m`"
        )),
    }
}

/// A Y4M video: a file, or any byte stream (a pipe, a test's cursor).
#[derive(Debug)]
pub struct Y4mSource<R> {
    reader: R,
    name: String,
    header: Y4mHeader,
    layout: FrameLayout,
    /// A `FRAME` line was read and its planes not yet.
    frame_pending: bool,
    frames_written: u64,
}

impl Y4mSource<File> {
    /// Opens a Y4M file and reads its header.
    pub fn open(path: &Path) -> Result<Self, NativeError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|error| NativeError::Decode {
            name: name.clone(),
            reason: error.to_string(),
        })?;
        Self::from_reader(file, name)
    }
}

impl<R: Read + Send> Y4mSource<R> {
    /// Reads the header of a Y4M stream; `name` is for messages and reports.
    pub fn from_reader(mut reader: R, name: String) -> Result<Self, NativeError> {
        let decode = |reason: String| NativeError::Decode {
            name: name.clone(),
            reason,
        };
        let line = read_line(&mut reader)
            .map_err(&decode)?
            .ok_or_else(|| decode("empty file".to_owned()))?;
        let header = Y4mHeader::parse(&line).map_err(&decode)?;
        let layout = check_frame_size(&name, header.width_px, header.height_px)?;
        Ok(Self {
            reader,
            name,
            header,
            layout,
            frame_pending: false,
            frames_written: 0,
        })
    }

    /// The stream header.
    pub fn header(&self) -> &Y4mHeader {
        &self.header
    }

    fn error(&self, reason: String) -> NativeError {
        NativeError::Decode {
            name: self.name.clone(),
            reason: format!("frame {}: {reason}", self.frames_written),
        }
    }
}

/// Reads one line without its newline, a byte at a time so that nothing past
/// it is read. `None` at a clean end of stream.
fn read_line(reader: &mut impl Read) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match reader.read(&mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => return Err("truncated header line".to_owned()),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if line.len() >= MAX_LINE_BYTES => return Err("header line too long: not Y4M".to_owned()),
            Ok(_) => line.push(byte[0]),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| "header line is not text: not Y4M".to_owned())
}

impl<R: Read + Send> FrameSource for Y4mSource<R> {
    fn layout(&self) -> FrameLayout {
        self.layout
    }

    fn fps(&self) -> f64 {
        self.header.fps
    }

    fn has_next(&mut self) -> Result<bool, NativeError> {
        if self.frame_pending {
            return Ok(true);
        }
        match read_line(&mut self.reader).map_err(|reason| self.error(reason))? {
            None => Ok(false),
            Some(line) if line == "FRAME" || line.starts_with("FRAME ") => {
                self.frame_pending = true;
                Ok(true)
            }
            Some(_) => Err(self.error("expected a FRAME line: corrupt or not Y4M".to_owned())),
        }
    }

    fn write_next(&mut self, dst: &mut [u8]) -> Result<(), NativeError> {
        if !self.has_next()? {
            return Err(self.error("no frame left".to_owned()));
        }
        check_dst(&self.layout, dst)?;
        self.frame_pending = false;
        // Scratch for the raw planes: wiped when dropped, at the end of this call.
        let mut planes = Zeroizing::new(vec![0u8; self.header.frame_bytes()]);
        if let Err(error) = self.reader.read_exact(&mut planes) {
            let reason = if error.kind() == ErrorKind::UnexpectedEof {
                "truncated: the file ends inside the frame".to_owned()
            } else {
                error.to_string()
            };
            return Err(self.error(reason));
        }
        planar_to_rgb(
            &planes,
            self.header.width_px as usize,
            self.header.height_px as usize,
            self.header.chroma,
            self.header.range,
            dst,
        );
        self.frames_written += 1;
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn frame_index(&self) -> Option<u64> {
        self.frames_written.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse() {
        let header = Y4mHeader::parse("YUV4MPEG2 W640 H480 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG").expect("ok");
        assert_eq!((header.width_px, header.height_px), (640, 480));
        assert!((header.fps - 29.97).abs() < 0.001);
        assert_eq!(header.range, ColorRange::Limited);
        assert_eq!(header.frame_bytes(), 640 * 480 * 3 / 2);
        let header = Y4mHeader::parse("YUV4MPEG2 W3 H3 C444 XCOLORRANGE=FULL").expect("ok");
        assert_eq!(
            (header.fps, header.range, header.frame_bytes()),
            (DEFAULT_FPS, ColorRange::Full, 27)
        );
        assert_eq!(Y4mHeader::parse("YUV4MPEG2 W5 H3 Cmono").expect("ok").frame_bytes(), 15);
        // Odd sizes round the chroma planes up: 3x3 luma, 2x2 chroma.
        assert_eq!(
            Y4mHeader::parse("YUV4MPEG2 W3 H3 C420").expect("ok").frame_bytes(),
            9 + 8
        );
    }

    #[test]
    fn bad_headers_say_what_is_wrong() {
        let cases = [
            ("YUV4MPEG W4 H4", "signature"),
            ("YUV4MPEG2 H4", "width"),
            ("YUV4MPEG2 W4", "height"),
            ("YUV4MPEG2 Wx H4", "bad width"),
            ("YUV4MPEG2 W4 H4 F30:0", "frame rate"),
            ("YUV4MPEG2 W4 H4 C420p10", "not supported"),
        ];
        for (line, expected) in cases {
            let error = Y4mHeader::parse(line).expect_err(line);
            assert!(error.contains(expected), "{line}: {error}");
        }
    }
}
