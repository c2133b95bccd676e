//! Assembles the routes: `/v2/` (the OCI API) and health.

pub mod api;
pub mod oci;
pub mod token;

use axum::http::HeaderValue;
use axum::routing::get;
use axum::Router;

use crate::http::headers::API_VERSION;
use crate::state::AppState;

/// The whole HTTP application over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v2/token", get(token::token))
        .nest("/api/v1", api::router())
        .route("/v2", axum::routing::any(oci::dispatch))
        .route("/v2/", axum::routing::any(oci::dispatch))
        .route("/v2/{*rest}", axum::routing::any(oci::dispatch))
        .layer(axum::middleware::map_response(
            |mut resp: axum::response::Response| async move {
                resp.headers_mut()
                    .insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
                resp
            },
        ))
        .layer(axum::middleware::from_fn(crate::telemetry::log_requests))
        .with_state(state)
}
