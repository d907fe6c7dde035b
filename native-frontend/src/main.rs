//! `parterre`: Web Parterre's native command line.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use parterre_native::demo::{self, DemoArgs};
use parterre_native::zeroizing_alloc::ZeroizingAllocator;

/// Every heap block is wiped when freed: resized tensors and crops made from
/// a frame do not linger in freed memory (cost: `parterre bench`).
#[global_allocator]
static ALLOCATOR: ZeroizingAllocator = ZeroizingAllocator::new();

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
