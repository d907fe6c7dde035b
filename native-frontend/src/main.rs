//! `parterre`: Web Parterre's native command line.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use parterre_core::zeroizing_alloc::ZeroizingAllocator;
use parterre_native::demo::{self, DemoArgs};

/// Every heap block is wiped when freed: resized tensors and crops made from
/// a frame do not linger in freed memory (cost: `parterre bench`).
#[global_allocator]
static ALLOCATOR: ZeroizingAllocator = ZeroizingAllocator::new();

/// Each net runs on one thread unless the user says otherwise. The runtime
/// already uses both cores by pipelining (detection of the next frame beside
/// the face nets of this one); candle splitting every op over the same cores
/// on top of that made frames slower and their lives longer (measured in the
/// README). Candle reads its thread count only from `RAYON_NUM_THREADS`, on
/// every op.
#[allow(unsafe_code)]
fn one_thread_per_net() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: called first thing in `main`, before any thread exists, so
        // nothing can read the environment while it changes.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") }
    }
}

fn wiped_bytes() -> u64 {
    ALLOCATOR.wiped_bytes()
}

/// Reads an audience without watching anyone: frames are analyzed on this
/// device, wiped within the permanence budget, and only anonymous numbers leave.
#[derive(Debug, Parser)]
#[command(name = "parterre", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the frame pool on a synthetic camera, printing the live permanence report.
    Demo(DemoArgs),
    /// Analyze pictures, folders and videos: one record per frame (a table, or JSON lines with --json).
    Analyze(parterre_native::analyze::AnalyzeArgs),
    /// Join a webinar as a viewer: analyze a camera here, send only the anonymous traits.
    Join(parterre_native::join::JoinArgs),
    /// Live analysis of a camera (or a video standing in for one) in the terminal.
    Camera(parterre_native::camera::CameraArgs),
    /// Per-stage latency, real-time rate, permanence and allocator cost on the test videos.
    Bench(parterre_native::bench::BenchArgs),
}

fn main() -> ExitCode {
    one_thread_per_net();
    let cli = Cli::parse();
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = Arc::clone(&stop);
    if let Err(error) = ctrlc::set_handler(move || on_signal.store(true, Ordering::SeqCst)) {
        eprintln!("parterre: cannot catch Ctrl-C ({error}); stop with the --seconds limit");
    }
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args, &stop, &mut std::io::stdout().lock()),
        Command::Analyze(args) => {
            parterre_native::analyze::run(&args, &stop, &mut std::io::stdout().lock(), &mut std::io::stderr())
        }
        Command::Join(args) => parterre_native::join::run(&args, &stop, &mut std::io::stderr()),
        Command::Camera(args) => parterre_native::camera::run(&args, &stop, &mut std::io::stdout().lock()).map(|_| ()),
        Command::Bench(args) => {
            parterre_native::bench::run(&args, &stop, &mut std::io::stdout().lock(), Some(wiped_bytes))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("parterre: {error}");
            ExitCode::FAILURE
        }
    }
}
