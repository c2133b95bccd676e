//! Logging: tracing setup and one log line per request, with internal errors logged once.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::InternalCause;

/// Installs a `tracing` subscriber reading `RUST_LOG` (default `info`).
pub fn init(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Logs each request's method, path, status and latency; 5xx with their internal cause.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
        tracing::error!(%method, %path, status, micros, cause = %cause, "request failed");
    } else if status >= 400 {
        tracing::debug!(%method, %path, status, micros, "request refused");
    } else {
        tracing::debug!(%method, %path, status, micros, "request");
    }
    response
}
