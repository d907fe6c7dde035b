//! The aggregation task: the one owner of the webinar's live views, decision
//! engine, minute reports and store. Connection tasks send it samples over
//! a bounded channel; it ticks the decision engine once a second (pushing
//! decisions to every viewer), publishes a k-anonymous panel frame five
//! times a second, and stores each minute as it closes.
//!
//! Time is the server's monotonic clock, in ms since the webinar started.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use parterre_aggregate::{
    AggregateError, Band, Catalog, Decision, DecisionEngine, HostOverride, KAnonymity, Live, LogEntry, Snapshot,
    ViewerIndex,
};
use parterre_core::{AnonymousTraits, PermanenceReport};
use rand::{SeedableRng, rngs::StdRng};
use serde::Serialize;
use tokio::{
    sync::{broadcast, mpsc, oneshot, watch},
    time::{MissedTickBehavior, interval},
};

use crate::{
    ServerError,
    protocol::ServerMessage,
    reports::{MinuteReports, StorageStatus},
    stats::Stats,
    storage::{ReportRow, Store},
    webinar::Webinar,
};

/// How often the panel frame is recomputed.
const PANEL_PERIOD: Duration = Duration::from_millis(200);
/// How often the decision engine reads the room.
const DECISION_PERIOD: Duration = Duration::from_secs(1);
/// Decisions shown on the panel's log.
const LOG_SHOWN: usize = 20;
/// Seconds of chart history kept for a panel opened late.
const HISTORY_S: usize = 600;

/// One second of the panel's charts, from the k-anonymous 10 s snapshot
/// (so a suppressed cell is `None` here too).
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPoint {
    /// Seconds since the webinar started.
    pub t_s: u64,
    /// Viewers connected.
    pub connected: u64,
    /// Viewers seen in the last 10 s.
    pub viewers: u64,
    /// Mean attention and its band.
    pub attention: Option<Band>,
    /// The expression mix's estimates.
    pub expression: Option<[f64; 7]>,
}

/// One valid viewer sample.
#[derive(Debug)]
pub struct Sample {
    /// The connection's ephemeral index.
    pub viewer: ViewerIndex,
    /// The traits.
    pub traits: AnonymousTraits,
    /// The connection's latest permanence report.
    pub permanence: Option<PermanenceReport>,
}

/// What the aggregation task is asked to do.
#[derive(Debug)]
pub enum HubCommand {
    /// Count a sample.
    Ingest(Sample),
    /// A host override.
    Override {
        /// The command.
        command: HostOverride,
        /// The decision it made, if any.
        reply: oneshot::Sender<Result<Option<Decision>, AggregateError>>,
    },
    /// The charts' last ten minutes.
    History {
        /// The points, oldest first.
        reply: oneshot::Sender<Vec<HistoryPoint>>,
    },
    /// The stored reports as CSV.
    ExportCsv {
        /// The CSV.
        reply: oneshot::Sender<Result<String, ServerError>>,
    },
    /// Store the current minute and stop.
    Shutdown {
        /// Answered once the minute is stored.
        reply: oneshot::Sender<()>,
    },
}

/// What the panel receives, five times a second.
#[derive(Debug, Serialize)]
struct PanelFrame<'a> {
    t_ms: u64,
    webinar: &'a Webinar,
    connected: u64,
    ingested_total: u64,
    rejected: std::collections::BTreeMap<&'static str, u64>,
    ten_seconds: Snapshot,
    minute: Snapshot,
    decisions: &'a [LogEntry],
    storage: StorageStatus,
    rules: Vec<&'a str>,
}

/// The aggregation task's state.
#[derive(Debug)]
pub struct Hub {
    webinar: Webinar,
    started: Instant,
    live: Live,
    engine: DecisionEngine,
    catalog: Catalog,
    reports: MinuteReports,
    store: Store,
    rng: StdRng,
    ingested_total: u64,
    history: VecDeque<HistoryPoint>,
    stats: Arc<Stats>,
    decisions: broadcast::Sender<Arc<str>>,
    panel: watch::Sender<Arc<str>>,
}

fn unix_now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The channels a hub talks through.
#[derive(Debug)]
pub struct HubOutputs {
    /// Decisions for the viewers, as JSON.
    pub decisions: broadcast::Sender<Arc<str>>,
    /// The latest panel frame, as JSON.
    pub panel: watch::Sender<Arc<str>>,
    /// Shared counters.
    pub stats: Arc<Stats>,
}

impl Hub {
    /// A hub for `webinar`, storing into `store`.
    pub fn new(
        webinar: Webinar,
        engine: DecisionEngine,
        catalog: Catalog,
        reports: MinuteReports,
        store: Store,
        outputs: HubOutputs,
    ) -> Self {
        Self {
            webinar,
            started: Instant::now(),
            live: Live::new(),
            engine,
            catalog,
            reports,
            store,
            // Seeded from the OS: the noise must not be predictable.
            rng: StdRng::from_os_rng(),
            ingested_total: 0,
            history: VecDeque::with_capacity(HISTORY_S),
            stats: outputs.stats,
            decisions: outputs.decisions,
            panel: outputs.panel,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs until told to shut down or every sender is gone; either way the
    /// current minute is stored.
    pub async fn run(mut self, mut commands: mpsc::Receiver<HubCommand>) {
        let mut decide = interval(DECISION_PERIOD);
        let mut publish = interval(PANEL_PERIOD);
        decide.set_missed_tick_behavior(MissedTickBehavior::Delay);
        publish.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(HubCommand::Shutdown { reply }) => {
                        self.flush();
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.handle(command),
                    None => {
                        self.flush();
                        return;
                    }
                },
                _ = decide.tick() => self.decide(),
                _ = publish.tick() => self.publish(),
            }
        }
    }

    fn handle(&mut self, command: HubCommand) {
        match command {
            HubCommand::Ingest(sample) => {
                let now_ms = self.now_ms();
                self.store_due(now_ms);
                self.live
                    .record(now_ms, sample.viewer, &sample.traits, sample.permanence.as_ref());
                self.reports
                    .record(now_ms, sample.viewer, &sample.traits, sample.permanence.as_ref());
                self.ingested_total += 1;
            }
            HubCommand::Override { command, reply } => {
                let result = self.engine.override_(self.now_ms(), command);
                if let Ok(Some(decision)) = &result {
                    self.push(decision);
                }
                let _ = reply.send(result);
            }
            HubCommand::History { reply } => {
                let _ = reply.send(self.history.iter().cloned().collect());
            }
            HubCommand::ExportCsv { reply } => {
                let _ = reply.send(self.store.export_csv(&self.webinar.id));
            }
            HubCommand::Shutdown { .. } => {}
        }
    }

    fn decide(&mut self) {
        let now_ms = self.now_ms();
        self.store_due(now_ms);
        for decision in self.engine.tick(now_ms, &self.live) {
            tracing::info!(rule = ?decision.origin, action = ?decision.action, "decision");
            self.push(&decision);
        }
        let snapshot = Snapshot::new(&self.live.ten_seconds(now_ms), KAnonymity::live());
        if self.history.len() == HISTORY_S {
            self.history.pop_front();
        }
        self.history.push_back(HistoryPoint {
            t_s: now_ms / 1_000,
            connected: self.stats.connected(),
            viewers: snapshot.viewers,
            attention: snapshot.attention.map(|estimate| estimate.band),
            expression: snapshot.expression.map(|mix| mix.map(|band| band.estimate)),
        });
    }

    fn push(&self, decision: &Decision) {
        let message = ServerMessage::Decision {
            at_ms: decision.at_ms,
            origin: decision.origin.clone(),
            action: decision.action,
            card: decision.card_id.as_deref().and_then(|id| self.catalog.get(id)).cloned(),
        };
        match serde_json::to_string(&message) {
            // No viewer connected is not an error.
            Ok(json) => drop(self.decisions.send(json.into())),
            Err(e) => tracing::error!(%e, "decision not serializable"),
        }
    }

    fn publish(&mut self) {
        let now_ms = self.now_ms();
        let entries = self.engine.log().entries();
        let frame = PanelFrame {
            t_ms: now_ms,
            webinar: &self.webinar,
            connected: self.stats.connected(),
            ingested_total: self.ingested_total,
            rejected: self.stats.rejected(),
            ten_seconds: Snapshot::new(&self.live.ten_seconds(now_ms), KAnonymity::live()),
            minute: Snapshot::new(&self.live.minute(now_ms), KAnonymity::live()),
            decisions: &entries[entries.len().saturating_sub(LOG_SHOWN)..],
            storage: self.reports.status(),
            rules: self.engine.policy().rules.iter().map(|r| r.name.as_str()).collect(),
        };
        match serde_json::to_string(&frame) {
            Ok(json) => drop(self.panel.send_replace(json.into())),
            Err(e) => tracing::error!(%e, "panel frame not serializable"),
        }
    }

    fn store_due(&mut self, now_ms: u64) {
        let rows = self.reports.close_due(now_ms, &mut self.rng, unix_now_s());
        self.store_rows(&rows);
    }

    fn store_rows(&self, rows: &[ReportRow]) {
        for row in rows {
            if let Err(e) = self.store.insert(&self.webinar.id, row) {
                tracing::error!(%e, "a minute report could not be stored");
            }
        }
    }

    fn flush(&mut self) {
        let now_ms = self.now_ms();
        self.store_due(now_ms);
        let last = self.reports.flush(now_ms, &mut self.rng, unix_now_s());
        self.store_rows(last.as_slice());
        tracing::info!(minutes = self.reports.status().released_minutes, "reports flushed");
    }
}
