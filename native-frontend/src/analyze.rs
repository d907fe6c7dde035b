//! `parterre analyze PATH...`: batch analysis of pictures, folders and videos,
//! one record per frame, as JSON lines (`--json`) or a readable table.
//!
//! Batch mode analyzes every frame: the source is read only when the previous
//! frame is done, so no frame is dropped for being late. Frames still live in
//! the frame pool under the permanence budget like live ones: a frame whose
//! analysis outlives the budget is wiped and recorded as skipped, never
//! analyzed past it. A path that cannot be read is reported and the others
//! still run; the command fails at the end if any path did.

mod record;
mod session;
mod table;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parterre_vision::analyzer::AnalyzerConfig;

pub use record::{FaceRecord, FrameRecord};
pub use session::{AnalyzedFrame, FrameSession, Outcome};

use crate::error::NativeError;
use crate::options::AnalyzerOptions;
use crate::source::open_source;

/// Options of `parterre analyze`.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzeArgs {
    /// Pictures (.jpg, .png), folders of pictures, or videos (.y4m; others through ffmpeg).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object per frame (JSON lines) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The analyzer.
    #[command(flatten)]
    pub options: AnalyzerOptions,
}

/// Analyzes every frame of every path, writing records to `out` and errors
/// and progress to `diagnostics`. Fails at the end if any path failed.
pub fn run(
    args: &AnalyzeArgs,
    stop: &AtomicBool,
    out: &mut impl Write,
    diagnostics: &mut impl Write,
) -> Result<(), NativeError> {
    // Batch analysis: every frame as configured, no compute governor
    // skipping still frames or shrinking the detector's input.
    let config = AnalyzerConfig {
        governor: None,
        ..args.options.config()?
    };
    let progress = progress_bar(args.json);
    if !args.json {
        writeln!(out, "{}", table::header())?;
    }
    let mut failed = Vec::new();
    for path in &args.paths {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let spec = path.display().to_string();
        progress.set_message(spec.clone());
        if let Err(error) = analyze_path(&spec, args, config, stop, out, &progress) {
            // An output error (a closed pipe) ends everything; a bad input only itself.
            if let NativeError::Output(_) = error {
                return Err(error);
            }
            progress.suspend(|| writeln!(diagnostics, "parterre: {spec}: {error}"))?;
            failed.push(spec);
        }
    }
    progress.finish_and_clear();
    match failed.len() {
        0 => Ok(()),
        count => Err(NativeError::InvalidArgument(format!(
            "{count} of {} inputs could not be analyzed: {}",
            args.paths.len(),
            failed.join(", ")
        ))),
    }
}

/// Analyzes one path's frames, one at a time, each to a record.
fn analyze_path(
    spec: &str,
    args: &AnalyzeArgs,
    config: AnalyzerConfig,
    stop: &AtomicBool,
    out: &mut impl Write,
    progress: &ProgressBar,
) -> Result<(), NativeError> {
    let mut source = open_source(spec)?;
    let mut session = FrameSession::open(&args.options, config, source.max_layout())?;
    while !stop.load(Ordering::SeqCst) && source.has_next()? {
        let frame = session.next(&mut source)?;
        let record = FrameRecord::new(&frame, &config);
        if args.json {
            serde_json::to_writer(&mut *out, &record).map_err(std::io::Error::from)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", table::row(&record))?;
        }
        progress.inc(1);
    }
    // Dropping the session wipes the pool and everything the analyzer kept.
    drop(session);
    out.flush()?;
    Ok(())
}

/// A frame counter on stderr, only where a person watches it: not when
/// stderr is redirected, nor when JSON goes to another program.
fn progress_bar(json: bool) -> ProgressBar {
    let json_to_a_program = json && !std::io::stdout().is_terminal();
    let watched = std::io::stderr().is_terminal() && !json_to_a_program;
    if !watched {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {pos} frames, {per_sec} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar
}
