//! `kcr-server`: the registry binary. Thin: configuration, storage, serve, shut down on signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kcr_core::RegistryConfig;
use kcr_server::{Addressing, AppState, Server, ServerConfig};

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
    /// created by the first push. Only for local tests and harnesses.
    #[arg(long, env = "KCR_INSECURE_OPEN")]
    insecure_open: bool,
    /// Log as JSON lines.
    #[arg(long, env = "KCR_LOG_JSON")]
    log_json: bool,
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
    if !config.insecure_open {
        // TODO(issue-4): authentication is the default once [iam-auth] lands.
        eprintln!(
            "kcr-server: authentication is not available yet in this build, and kcr never runs \
             open without being told to. Start with --insecure-open (or KCR_INSECURE_OPEN=true, \
             or insecure_open = true in the config file) for a local, unauthenticated registry."
        );
        return ExitCode::from(2);
    }
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
    let state = AppState {
        registry,
        addressing: Arc::new(Addressing {
            domain: config.domain.clone(),
        }),
    };
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
        mode = "insecure-open",
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
