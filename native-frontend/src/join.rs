//! `parterre join URL`: takes part in a webinar as a viewer from the command
//! line. Frames from a camera (or a file) are analyzed on this machine and
//! only the anonymous traits are sent to the Web Parterre server, over the
//! same WebSocket and in the same messages as the browser viewer
//! (`parterre_core::wire`); the server's decisions are printed.
//!
//! A simple synchronous loop: the source paces it (a camera delivers at its
//! rate). Traits go out at most [`TRAITS_INTERVAL`] apart, below the server's
//! per-connection rate limit; the permanence report every
//! [`PERMANENCE_INTERVAL`] and once more at the end.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parterre_core::wire::{PermanenceMessage, ViewerMessage};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::analyze::{FrameSession, Outcome};
use crate::error::NativeError;
use crate::options::AnalyzerOptions;
use crate::source::open_source;

/// Traits are sent at most this often (2 a second).
pub const TRAITS_INTERVAL: Duration = Duration::from_millis(500);
/// The permanence report is sent this often.
pub const PERMANENCE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a read waits for a server message before the loop moves on:
/// short, so the analysis is never held up by a quiet server.
const POLL: Duration = Duration::from_millis(1);
/// How long the server gets to answer our close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Options of `parterre join`.
#[derive(Debug, Clone, clap::Args)]
pub struct JoinArgs {
    /// The server's viewer endpoint, e.g. ws://127.0.0.1:8080/ws/viewer?webinar=ID.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Where frames come from: a camera device, a picture, a folder, a video, or `synthetic`.
    #[arg(long, default_value = "/dev/video0", value_name = "SPEC")]
    pub source: String,
    /// Stop after this many seconds [default: at the end of the source, or Ctrl-C].
    #[arg(long)]
    pub seconds: Option<f64>,
    /// The analyzer.
    #[command(flatten)]
    pub options: AnalyzerOptions,
}

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Connects, then analyzes and sends until the source ends, `--seconds`
/// pass or `stop` is set; server messages and the summary go to `diagnostics`.
pub fn run(args: &JoinArgs, stop: &AtomicBool, diagnostics: &mut impl Write) -> Result<(), NativeError> {
    let limit = match args.seconds {
        Some(seconds) if !(seconds.is_finite() && seconds > 0.0) => {
            return Err(NativeError::InvalidArgument(format!(
                "--seconds must be a positive number, not {seconds}"
            )));
        }
        seconds => seconds.map(Duration::from_secs_f64),
    };
    let config = args.options.config()?;
    let mut link = Link::connect(&args.url)?;
    let mut source = open_source(&args.source)?;
    let mut session = FrameSession::open(&args.options, config, source.max_layout())?;
    writeln!(diagnostics, "parterre: joined {} with {}", args.url, source.name())?;
    let started = Instant::now();
    let (mut last_traits, mut last_permanence) = (None::<Instant>, Instant::now());
    while !stop.load(Ordering::SeqCst) && limit.is_none_or(|limit| started.elapsed() < limit) && source.has_next()? {
        let frame = session.next(&mut source)?;
        let due = last_traits.is_none_or(|at| at.elapsed() >= TRAITS_INTERVAL);
        // An unchanged frame (skipped by a governor) leaves the last traits standing.
        if let (Outcome::Analyzed(observation), true) = (&frame.outcome, due)
            && !observation.unchanged
        {
            let traits = observation.traits(config.traits);
            // Core checks what the server will: never send what it would refuse.
            traits.validate(config.traits)?;
            link.send(&ViewerMessage::Traits { traits })?;
            last_traits = Some(Instant::now());
        }
        if last_permanence.elapsed() >= PERMANENCE_INTERVAL {
            link.send_permanence(&session)?;
            last_permanence = Instant::now();
        }
        link.print_incoming(diagnostics)?;
    }
    link.send_permanence(&session)?;
    drop(session);
    link.close(diagnostics)?;
    writeln!(
        diagnostics,
        "parterre: left after {:.1} s: {} traits and {} permanence messages sent",
        started.elapsed().as_secs_f64(),
        link.traits_sent,
        link.permanence_sent
    )?;
    Ok(())
}

/// The WebSocket to the server, with what went through it.
struct Link {
    url: String,
    socket: Socket,
    traits_sent: u64,
    permanence_sent: u64,
}

impl Link {
    fn connect(url: &str) -> Result<Self, NativeError> {
        let (mut socket, _response) = tungstenite::connect(url).map_err(|error| NativeError::Server {
            url: url.to_owned(),
            reason: format!(
                "cannot connect ({error}): is the server running, and is this its viewer address, \
                 like ws://HOST:PORT/ws/viewer?webinar=ID?"
            ),
        })?;
        if let MaybeTlsStream::Plain(stream) = socket.get_mut() {
            stream.set_read_timeout(Some(POLL))?;
        }
        Ok(Self {
            url: url.to_owned(),
            socket,
            traits_sent: 0,
            permanence_sent: 0,
        })
    }

    fn error(&self, what: &str, error: impl std::fmt::Display) -> NativeError {
        NativeError::Server {
            url: self.url.clone(),
            reason: format!("{what}: {error}"),
        }
    }

    fn send(&mut self, message: &ViewerMessage) -> Result<(), NativeError> {
        let text = serde_json::to_string(message).map_err(std::io::Error::from)?;
        self.socket
            .send(Message::text(text))
            .map_err(|error| self.error("the connection was lost", error))?;
        match message {
            ViewerMessage::Traits { .. } => self.traits_sent += 1,
            ViewerMessage::Permanence(_) => self.permanence_sent += 1,
        }
        Ok(())
    }

    fn send_permanence(&mut self, session: &FrameSession) -> Result<(), NativeError> {
        let report = session.pool().report();
        self.send(&ViewerMessage::Permanence(PermanenceMessage::from_report(&report)))
    }

    /// Prints whatever the server has sent, without waiting for more.
    fn print_incoming(&mut self, diagnostics: &mut impl Write) -> Result<(), NativeError> {
        loop {
            match self.socket.read() {
                Ok(Message::Text(text)) => writeln!(diagnostics, "parterre: server: {}", text.as_str())?,
                Ok(Message::Close(frame)) => {
                    let why =
                        frame.map_or_else(|| "no reason given".to_owned(), |f| format!("{} {}", f.code, f.reason));
                    return Err(self.error("the server closed the connection", why));
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(error)) if is_timeout(&error) => return Ok(()),
                Err(error) => return Err(self.error("the connection was lost", error)),
            }
        }
    }

    /// Closes politely, printing what the server sent before its close.
    fn close(&mut self, diagnostics: &mut impl Write) -> Result<(), NativeError> {
        self.socket.close(None).map_err(|error| self.error("closing", error))?;
        let deadline = Instant::now() + CLOSE_WAIT;
        while Instant::now() < deadline {
            match self.socket.read() {
                Ok(Message::Text(text)) => writeln!(diagnostics, "parterre: server: {}", text.as_str())?,
                Ok(_) => {}
                Err(tungstenite::Error::Io(error)) if is_timeout(&error) => {}
                // Closed, or the server hung up: either way we are done.
                Err(_) => break,
            }
        }
        Ok(())
    }
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
