//! Configuration: command-line flags, `PARTERRE_*` environment variables and
//! a TOML file, in that order of precedence, then the defaults.

use std::{
    net::SocketAddr,
    num::NonZeroU32,
    path::{Path, PathBuf},
};

use parterre_aggregate::{Card, Catalog, Policy};
use parterre_core::MAX_BUDGET_MS;
use serde::Deserialize;

use crate::{ServerError, auth::HostToken, served_dir::ServedDir, webinar::Context};

/// The settings one may give; every one optional, so the sources can be
/// layered. The same struct is the `serve` flags and the config file.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "PARTERRE_ADDR")]
    pub addr: Option<SocketAddr>,
    /// SQLite file (`:memory:` keeps nothing); default: parterre.sqlite in
    /// the data directory ($XDG_DATA_HOME/parterre or ~/.local/share/parterre).
    #[arg(long, env = "PARTERRE_DB")]
    pub db: Option<PathBuf>,
    /// The host token; generated when not given.
    #[arg(long, env = "PARTERRE_HOST_TOKEN", hide_env_values = true)]
    pub host_token: Option<String>,
    /// Simulated viewers to add (over loopback WebSockets).
    #[arg(long, env = "PARTERRE_SIMULATE")]
    pub simulate: Option<u32>,
    /// The deployment context: `workplace` (and education) refuses expression.
    #[arg(long, env = "PARTERRE_CONTEXT", value_enum)]
    pub context: Option<Context>,
    /// Decision policy (TOML); default: the shipped policy.
    #[arg(long, env = "PARTERRE_POLICY")]
    pub policy: Option<PathBuf>,
    /// Content cards (TOML, `[[card]]` tables); default: the demo cards.
    #[arg(long, env = "PARTERRE_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// Most minutes stored: ε = 1 is split evenly over them.
    #[arg(long, env = "PARTERRE_MAX_STORED_MINUTES")]
    pub max_stored_minutes: Option<NonZeroU32>,
    /// Messages per second a viewer connection may send on average.
    #[arg(long, env = "PARTERRE_RATE_PER_S")]
    pub rate_per_s: Option<NonZeroU32>,
    /// Messages a viewer connection may send in a burst.
    #[arg(long, env = "PARTERRE_BURST")]
    pub burst: Option<NonZeroU32>,
    /// The viewer's WebAssembly build (`cargo xtask build-all`); default:
    /// target/web here, then beside the workspace the binary was built from.
    #[arg(long, env = "PARTERRE_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// The model weights (`cargo xtask models`); default: models/ here, then
    /// beside the workspace the binary was built from.
    #[arg(long, env = "PARTERRE_MODELS")]
    pub models: Option<PathBuf>,
    /// Each frame's permanence budget on the viewers' devices, at most 300 ms.
    #[arg(long, env = "PARTERRE_BUDGET_MS")]
    pub budget_ms: Option<NonZeroU32>,
}

impl Settings {
    /// Each setting from `self` where given, else from `fallback`.
    pub fn or(self, fallback: Self) -> Self {
        Self {
            addr: self.addr.or(fallback.addr),
            db: self.db.or(fallback.db),
            host_token: self.host_token.or(fallback.host_token),
            simulate: self.simulate.or(fallback.simulate),
            context: self.context.or(fallback.context),
            policy: self.policy.or(fallback.policy),
            catalog: self.catalog.or(fallback.catalog),
            max_stored_minutes: self.max_stored_minutes.or(fallback.max_stored_minutes),
            rate_per_s: self.rate_per_s.or(fallback.rate_per_s),
            burst: self.burst.or(fallback.burst),
            web_dir: self.web_dir.or(fallback.web_dir),
            models: self.models.or(fallback.models),
            budget_ms: self.budget_ms.or(fallback.budget_ms),
        }
    }

    /// The settings in a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ServerError> {
        let text = read(path)?;
        toml::from_str(&text).map_err(|e| config_error(path, e))
    }
}

/// Everything the server runs with, resolved and checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The SQLite file.
    pub db: PathBuf,
    /// The host token.
    pub host_token: HostToken,
    /// Simulated viewers.
    pub simulate: u32,
    /// The webinar's context.
    pub context: Context,
    /// The decision policy.
    pub policy: Policy,
    /// The content cards.
    pub catalog: Catalog,
    /// ε = 1 is split over this many stored minutes.
    pub max_stored_minutes: NonZeroU32,
    /// Per-connection average rate.
    pub rate_per_s: NonZeroU32,
    /// Per-connection burst.
    pub burst: NonZeroU32,
    /// Where `/web/` is served from.
    pub web_dir: ServedDir,
    /// Where `/models/` is served from.
    pub models: ServedDir,
    /// The frame permanence budget the viewer page asks its worker for.
    pub budget_ms: u64,
}

/// The demo's content cards.
const DEFAULT_CATALOG_TOML: &str = include_str!("../assets/default-catalog.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    card: Vec<Card>,
}

fn read(path: &Path) -> Result<String, ServerError> {
    std::fs::read_to_string(path).map_err(|e| ServerError::io(format!("reading {}", path.display()), e))
}

fn config_error(path: &Path, error: impl std::fmt::Display) -> ServerError {
    ServerError::Config {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

/// Parses a catalog file's text.
fn parse_catalog(text: &str, path: &Path) -> Result<Catalog, ServerError> {
    let file: CatalogFile = toml::from_str(text).map_err(|e| config_error(path, e))?;
    Ok(Catalog::new(file.card)?)
}

fn default_db() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")));
    base.map_or_else(
        || PathBuf::from("parterre.sqlite"),
        |dir| dir.join("parterre/parterre.sqlite"),
    )
}

impl Config {
    /// Resolves `settings`, filling in defaults and reading the files named.
    pub fn resolve(settings: Settings) -> Result<Self, ServerError> {
        let policy = match &settings.policy {
            Some(path) => Policy::from_toml(&read(path)?).map_err(|e| config_error(path, e))?,
            None => Policy::default_policy()?,
        };
        let catalog = match &settings.catalog {
            Some(path) => parse_catalog(&read(path)?, path)?,
            None => parse_catalog(DEFAULT_CATALOG_TOML, Path::new("default-catalog.toml"))?,
        };
        let db = settings.db.unwrap_or_else(default_db);
        if db != Path::new(":memory:") {
            if let Some(dir) = db.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| ServerError::io(format!("creating {}", dir.display()), e))?;
            }
        }
        let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let budget_ms = settings.budget_ms.map_or(MAX_BUDGET_MS, |ms| u64::from(ms.get()));
        if budget_ms > MAX_BUDGET_MS {
            return Err(ServerError::Setting {
                key: "budget_ms",
                reason: format!("{budget_ms} ms is over the {MAX_BUDGET_MS} ms every frame is wiped within"),
            });
        }
        Ok(Self {
            addr: settings
                .addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            db,
            host_token: settings.host_token.map_or_else(HostToken::generate, HostToken::new),
            simulate: settings.simulate.unwrap_or(0),
            context: settings.context.unwrap_or_default(),
            policy,
            catalog,
            max_stored_minutes: settings.max_stored_minutes.unwrap_or(nonzero(60)),
            rate_per_s: settings.rate_per_s.unwrap_or(nonzero(10)),
            burst: settings.burst.unwrap_or(nonzero(20)),
            web_dir: ServedDir::web(settings.web_dir),
            models: ServedDir::models(settings.models),
            budget_ms,
        })
    }

    /// Defaults for tests and the load test: loopback on a free port, in
    /// memory, no simulated viewers.
    pub fn ephemeral(context: Context) -> Result<Self, ServerError> {
        Self::resolve(Settings {
            addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            db: Some(PathBuf::from(":memory:")),
            context: Some(context),
            ..Settings::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file: Settings =
            toml::from_str("simulate = 7\ncontext = \"workplace\"\naddr = \"127.0.0.1:9000\"").expect("file parses");
        let flags = Settings {
            simulate: Some(3),
            ..Settings::default()
        };
        let merged = flags.or(file);
        assert_eq!(merged.simulate, Some(3));
        assert_eq!(merged.context, Some(Context::Workplace));
        let config = Config::resolve(Settings {
            db: Some(":memory:".into()),
            ..merged
        })
        .expect("resolves");
        assert_eq!(config.addr.port(), 9000);
        assert_eq!(config.rate_per_s.get(), 10);
        assert_eq!(config.max_stored_minutes.get(), 60);
        assert!(config.catalog.cards().len() >= 3);
        assert_eq!(config.budget_ms, 300);
        let file: Settings =
            toml::from_str("web_dir = \"/srv/web\"\nmodels = \"/srv/models\"\nbudget_ms = 200").expect("file parses");
        let config = Config::resolve(Settings {
            db: Some(":memory:".into()),
            ..file
        })
        .expect("resolves");
        assert_eq!(config.budget_ms, 200);
        assert!(config.web_dir.missing_reason().contains("/srv/web"));
        assert!(config.models.missing_reason().contains("/srv/models"));
        let over = Config::resolve(Settings {
            db: Some(":memory:".into()),
            budget_ms: NonZeroU32::new(301),
            ..Settings::default()
        });
        assert!(matches!(over, Err(ServerError::Setting { key: "budget_ms", .. })));
        // Negative control: an unknown key is refused, not ignored.
        assert!(toml::from_str::<Settings>("simulte = 7").is_err());
    }
}
