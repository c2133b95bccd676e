//! `kcr-server`: the registry binary. Thin: configuration, storage, serve, shut down on signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kcr_core::RegistryConfig;
use kcr_server::auth::{AuthSettings, Authenticator};
use kcr_server::{bootstrap, Addressing, AppState, Server, ServerConfig};

/// The kcr container registry server.
#[derive(Debug, Parser)]
#[command(name = "kcr-server", version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "KCR_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "KCR_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data directory for metadata and blobs [default: ./kcr-data].
    #[arg(long, env = "KCR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Registry domain: hosts `{project}.{region}.{domain}` address a project [default: kcr.dev].
    #[arg(long, env = "KCR_DOMAIN")]
    domain: Option<String>,
    /// Run without authentication: anyone may push and pull, and projects and repositories are
    /// created by the first push. Only for local tests and harnesses. Without it the server
    /// requires credentials; the first start creates user `admin` (password from
    /// KCR_ADMIN_PASSWORD, or generated and printed once).
    #[arg(long, env = "KCR_INSECURE_OPEN")]
    insecure_open: bool,
    /// Log as JSON lines.
    #[arg(long, env = "KCR_LOG_JSON")]
    log_json: bool,
    /// Lifetime of registry tokens in seconds [default: 300].
    #[arg(long, env = "KCR_TOKEN_TTL")]
    token_ttl: Option<u64>,
    /// The URL clients reach this server at, when it differs from the Host header (proxies).
    #[arg(long, env = "KCR_PUBLIC_URL")]
    public_url: Option<String>,
    /// Hours between automatic garbage collections of unreferenced blob data; 0 turns them off
    /// [default: 24].
    #[arg(long, env = "KCR_GC_INTERVAL_HOURS")]
    gc_interval_hours: Option<u64>,
}

fn config(args: &Args) -> Result<ServerConfig, kcr_server::config::ConfigError> {
    let mut c = ServerConfig::default();
    if let Some(path) = &args.config {
        c = c.with_file(path)?;
    }
    if let Some(v) = args.listen {
        c.listen = v;
    }
    if let Some(v) = &args.data_dir {
        c.data_dir = v.clone();
    }
    if let Some(v) = &args.domain {
        c.domain = v.clone();
    }
    if let Some(v) = args.token_ttl {
        c.token_ttl_seconds = v;
    }
    if let Some(v) = &args.public_url {
        c.public_url = Some(v.clone());
    }
    if let Some(v) = args.gc_interval_hours {
        c.gc_interval_hours = v;
    }
    c.insecure_open |= args.insecure_open;
    c.log_json |= args.log_json;
    c.validate()?;
    Ok(c)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Abandoned upload sessions older than a day are cancelled hourly, so their bytes do not
/// accumulate.
fn spawn_upload_janitor(registry: kcr_core::Registry) {
    const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match registry.purge_stale_uploads(MAX_AGE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "cancelled abandoned upload sessions"),
                Err(e) => tracing::warn!(error = %e, "could not purge abandoned upload sessions"),
            }
        }
    });
}

/// Collects garbage every `hours`, with the default grace period. The first run comes an hour
/// after start (or one interval, when shorter), so a server restarted daily still collects.
fn spawn_garbage_collector(registry: kcr_core::Registry, hours: u64) {
    if hours == 0 {
        return;
    }
    let every = std::time::Duration::from_secs(hours * 3600);
    let first = every.min(std::time::Duration::from_secs(3600));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
        loop {
            tick.tick().await;
            if let Err(e) = registry.collect_garbage(Default::default()).await {
                tracing::warn!(error = %e, "garbage collection failed");
            }
        }
    });
}

/// Bootstraps the administrator and builds the authenticator.
async fn start_auth(config: &ServerConfig, state: &AppState) -> Result<Arc<Authenticator>, String> {
    let meta = state.registry.meta().clone();
    let password = std::env::var("KCR_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    match bootstrap::ensure_admin(meta.as_ref(), password.as_deref()).await {
        Ok(Some(generated)) => {
            // Printed once, to the terminal only (never to the log).
            let listen = config.listen;
            println!(
                "kcr-server: created user {:?} in organization {:?} with password: {generated}\n\
                 kcr-server: this password is shown only now; sign in with \
                 `kcr login --server http://{listen} -u admin` and change it with `kcr passwd`",
                bootstrap::ADMIN_USER,
                kcr_core::store::DEFAULT_ORG
            );
        }
        Ok(None) => {}
        Err(e) => return Err(format!("cannot create the administrator: {e}")),
    }
    let secret = bootstrap::token_secret(&config.data_dir).map_err(|e| e.to_string())?;
    let settings = AuthSettings {
        token_ttl: std::time::Duration::from_secs(config.token_ttl_seconds),
        public_url: config.public_url.clone(),
        ..AuthSettings::default()
    };
    Authenticator::new(meta, &secret, settings)
        .map(Arc::new)
        .map_err(|e| format!("cannot set up token signing: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kcr-server: {e}");
            return ExitCode::from(2);
        }
    };
    kcr_server::telemetry::init(config.log_json);
    let registry_config = RegistryConfig {
        create_on_push: config.insecure_open,
        ..RegistryConfig::default()
    };
    let registry = match kcr_server::storage::open_registry(&config.data_dir, registry_config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "kcr-server: cannot open data directory {}: {e} ({:?})",
                config.data_dir.display(),
                std::error::Error::source(&e)
            );
            return ExitCode::from(1);
        }
    };
    let mut state = AppState {
        registry,
        addressing: Arc::new(Addressing {
            domain: config.domain.clone(),
        }),
        auth: None,
    };
    if !config.insecure_open {
        match start_auth(&config, &state).await {
            Ok(auth) => state = state.with_auth(auth),
            Err(message) => {
                eprintln!("kcr-server: {message}");
                return ExitCode::from(1);
            }
        }
    }
    spawn_upload_janitor(state.registry.clone());
    spawn_garbage_collector(state.registry.clone(), config.gc_interval_hours);
    let server = match Server::bind(config.listen, state).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kcr-server: cannot listen on {}: {e}", config.listen);
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        listen = %config.listen,
        data_dir = %config.data_dir.display(),
        mode = if config.insecure_open { "insecure-open (no authentication)" } else { "authenticated" },
        "kcr-server ready"
    );
    match server.serve_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kcr-server: {e}");
            ExitCode::from(1)
        }
    }
}
