//! Starting and stopping a server: the store, the webinar, the aggregation
//! task, the listener, and the simulated audience when asked; a graceful
//! shutdown that stores the current minute.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::AtomicU64},
};

use parterre_aggregate::{DecisionEngine, PrivacyBudget};
use tokio::{
    net::TcpListener,
    sync::{broadcast, mpsc, oneshot, watch},
    task::JoinHandle,
};

use crate::{
    ServerError,
    app::{AppState, router},
    auth::HostToken,
    config::Config,
    hub::{Hub, HubCommand, HubOutputs},
    reports::MinuteReports,
    served_dir::ServedDir,
    simulate,
    stats::Stats,
    storage::Store,
    webinar::Webinar,
};

/// Samples waiting for the aggregation task: enough for a second of 2 000
/// viewers at 2 messages a second; beyond that senders wait (backpressure).
const INGEST_QUEUE: usize = 4_096;
/// Decisions a slow viewer page may fall behind by before it skips some.
const DECISION_QUEUE: usize = 64;

/// A server that is running.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The host's token.
    pub token: HostToken,
    /// The webinar.
    pub webinar: Webinar,
    shutdown: watch::Sender<bool>,
    hub: mpsc::Sender<HubCommand>,
    hub_task: JoinHandle<()>,
    http_task: JoinHandle<Result<(), std::io::Error>>,
}

/// Starts a server as `config` says, on the current tokio runtime.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    let store = Store::open(&config.db)?;
    let webinar = Webinar::new(config.context);
    let budget_milli = PrivacyBudget::default().remaining_milli();
    store.add_webinar(&webinar, budget_milli, config.max_stored_minutes.get())?;
    let reports = MinuteReports::new(config.max_stored_minutes, webinar.created_unix_s)?;
    let engine = DecisionEngine::new(config.policy.clone(), config.catalog.clone())?;

    let (hub_tx, hub_rx) = mpsc::channel(INGEST_QUEUE);
    let (decisions, _) = broadcast::channel(DECISION_QUEUE);
    let (panel_tx, panel_rx) = watch::channel(Arc::<str>::from("{}"));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let stats = Arc::new(Stats::default());
    let outputs = HubOutputs {
        decisions: decisions.clone(),
        panel: panel_tx,
        stats: Arc::clone(&stats),
    };
    let hub = Hub::new(webinar.clone(), engine, config.catalog.clone(), reports, store, outputs);
    warn_if_analysis_unavailable(&config);
    let hub_task = tokio::spawn(hub.run(hub_rx));

    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| ServerError::io(format!("listening on {}", config.addr), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::io("reading the bound address", e))?;
    let state = Arc::new(AppState {
        webinar: webinar.clone(),
        trait_set: config.context.trait_set(),
        token: config.host_token.clone(),
        rate_per_s: config.rate_per_s.get(),
        burst: config.burst.get(),
        hub: hub_tx.clone(),
        decisions,
        panel: panel_rx,
        shutdown: shutdown_rx.clone(),
        stats,
        next_viewer: AtomicU64::new(0),
        web_dir: config.web_dir.clone(),
        models: config.models.clone(),
        budget_ms: config.budget_ms,
    });
    let mut stop = shutdown_rx.clone();
    let http_task = tokio::spawn(async move {
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            })
            .await
    });
    if config.simulate > 0 {
        let url = format!("ws://{addr}/ws/viewer?webinar={}", webinar.id);
        simulate::spawn_audience(url, config.simulate, config.context, shutdown_rx);
    }
    Ok(RunningServer {
        addr,
        token: config.host_token,
        webinar,
        shutdown,
        hub: hub_tx,
        hub_task,
        http_task,
    })
}

/// One line when viewers cannot analyze: the page still works, without it.
fn warn_if_analysis_unavailable(config: &Config) {
    let missing: Vec<String> = [&config.web_dir, &config.models]
        .into_iter()
        .filter(|dir| dir.found().is_none())
        .map(ServedDir::missing_reason)
        .collect();
    if !missing.is_empty() {
        tracing::warn!("viewers can watch but not analyze: {}", missing.join("; "));
    }
}

impl RunningServer {
    /// The panel's address, token included.
    pub fn panel_url(&self) -> String {
        format!("http://{}/panel?token={}", self.addr, self.token.as_str())
    }

    /// The viewer page's address.
    pub fn viewer_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting, closes every connection (1001), stores the current
    /// minute, and waits for all of it.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.shutdown.send(true);
        let served = self.http_task.await;
        let (reply, flushed) = oneshot::channel();
        if self.hub.send(HubCommand::Shutdown { reply }).await.is_ok() {
            let _ = flushed.await;
        }
        let _ = self.hub_task.await;
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServerError::io("serving", e)),
            Err(e) => Err(ServerError::Task(e.to_string())),
        }
    }
}
