//! `parterre`: Web Parterre's native command line.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use parterre_native::demo::{self, DemoArgs};

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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("parterre: {error}");
            ExitCode::FAILURE
        }
    }
}
