//! # kcr-server
//!
//! The HTTP face of kcr: the OCI Distribution v1.1 API on axum/hyper over a
//! [`kcr_core::Registry`]. Embed it in any tokio application with [`Server`], or test it in
//! process with [`router`].
//!
//! The main design decision: a request is parsed into an endpoint enum by a pure function, the
//! authorization decision is taken once for every endpoint, and each handler calls one registry
//! method; domain errors become OCI error responses in exactly one place ([`error::ApiError`]).

// `ApiError` carries status, code, message, detail and headers by value: errors are the cold path
// of every handler, and boxing them would only move the allocation there.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod error;
pub mod http;
pub mod routes;
pub mod state;
pub mod storage;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;

pub use config::ServerConfig;
pub use routes::router;
pub use state::{Addressing, AppState};

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
}

/// A server running on a background task.
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(Server { listener, state })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serves on a background task.
    pub fn spawn(self) -> std::io::Result<RunningServer> {
        let addr = self.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.serve_until(async {
            let _ = rx.await;
        }));
        Ok(RunningServer {
            addr,
            shutdown: Some(tx),
            task,
        })
    }
}

impl RunningServer {
    /// Stops accepting, waits for in-flight requests, and returns.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}
