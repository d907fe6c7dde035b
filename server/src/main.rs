//! `parterre-server`: runs the webinar server (`serve`, the default), exports
//! stored reports as CSV (`export`), or runs the load test (`loadtest`).

use std::{io::Write, path::PathBuf};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use parterre_server::{
    config::{Config, Settings},
    loadtest::{self, LoadOptions},
    server,
    storage::Store,
};

#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Write a webinar's stored minute reports as CSV to stdout.
    Export {
        /// The SQLite file.
        #[arg(long, env = "PARTERRE_DB")]
        db: PathBuf,
        /// The webinar's id.
        #[arg(long)]
        webinar: String,
    },
    /// Load-test a server on loopback and print the figures.
    Loadtest {
        /// Simulated viewers.
        #[arg(long, default_value_t = 2_000)]
        viewers: u32,
        /// Seconds each viewer sends for.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
        /// Messages per second per viewer.
        #[arg(long, default_value_t = 2)]
        rate: u32,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct ServeArgs {
    /// A TOML file with any of the settings below (flags and environment win).
    #[arg(long, env = "PARTERRE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        None => runtime.block_on(serve(cli.serve)),
        Some(Command::Serve(args)) => runtime.block_on(serve(args)),
        Some(Command::Export { db, webinar }) => export(&db, &webinar),
        Some(Command::Loadtest { viewers, seconds, rate }) => {
            let report = runtime.block_on(loadtest::run(LoadOptions {
                viewers,
                seconds,
                rate_hz: rate,
            }))?;
            out(&format!(
                "viewers {viewers}, {rate} msg/s each, {seconds} s\n\
                 messages sent {}, ingested {}, lost {}, refused {}, failed viewers {}\n\
                 ingest-to-panel latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n\
                 memory {:.1} KiB per viewer (process RSS, clients included)\n\
                 CPU {:.2} cores (process, clients included; this machine has {})\n",
                report.sent,
                report.ingested,
                report.sent.saturating_sub(report.ingested),
                report.rejected,
                report.failed_viewers,
                report.latency_p50_ms,
                report.latency_p99_ms,
                report.latency_max_ms,
                report.rss_per_viewer_kib,
                report.cpu_cores,
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ))
        }
    }
}

/// Writes what the user asked for to stdout.
#[allow(clippy::print_stdout)] // the binary's output
fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let settings = match &args.config {
        Some(path) => args.settings.or(Settings::from_file(path)?),
        None => args.settings,
    };
    let config = Config::resolve(settings)?;
    let simulate = config.simulate;
    let db = config.db.clone();
    let running = server::start(config).await?;
    out(&format!(
        "Web Parterre server on http://{addr}\n\
         \n  host panel:  {panel}\n  host token:  {token}\n  viewer page: {viewer}\n  webinar:     {id} ({context})\n  \
         storage:     {db}\n  simulated:   {simulate} viewers\n\nCtrl-C (or SIGTERM) stops the server and stores the current minute.\n",
        addr = running.addr,
        panel = running.panel_url(),
        token = running.token.as_str(),
        viewer = running.viewer_url(),
        id = running.webinar.id,
        context = running.webinar.context.as_str(),
        db = db.display(),
    ))?;
    stop_signal().await?;
    tracing::info!("shutting down");
    running.shutdown().await?;
    Ok(())
}

/// Ctrl-C, or SIGTERM (what service managers and containers send).
async fn stop_signal() -> Result<()> {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("listening for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("waiting for Ctrl-C"),
        _ = terminate.recv() => Ok(()),
    }
}

fn export(db: &std::path::Path, webinar: &str) -> Result<()> {
    let store = Store::open(db)?;
    out(&store.export_csv(webinar)?)
}
