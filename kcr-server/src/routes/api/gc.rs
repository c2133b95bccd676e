//! Garbage collection, run on demand by a registry administrator.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use kcr_core::gc::{GcOptions, DEFAULT_GRACE};
use kcr_core::store::DEFAULT_ORG;
use serde::Deserialize;

use super::context::{denied, json, optional_json, ApiCaller};
use crate::error::ApiError;

/// `POST /gc` body; every field is optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GcRequest {
    /// Report what would be removed without removing it.
    #[serde(default)]
    dry_run: bool,
    /// Keep data written or linked more recently than this many seconds [default: 3600].
    grace_seconds: Option<u64>,
}

/// `POST /gc`: runs one collection and answers with its report. Blob storage is shared by every
/// organization, so only administrators of the `default` organization (registry
/// administrators) may run it. The body is optional. `409 CONFLICT` while another collection
/// runs. The collection runs on its own task: a client that hangs up does not cancel it.
pub async fn run(caller: ApiCaller, body: Bytes) -> Result<Response, ApiError> {
    let registry_admin = DEFAULT_ORG
        .parse()
        .map_err(|_| denied("no default organization"))?;
    if !caller.is_org_admin(&registry_admin).await? {
        return Err(denied(format!(
            "garbage collection is for administrators of the {DEFAULT_ORG} organization"
        )));
    }
    let request: GcRequest = optional_json(&body)?;
    let options = GcOptions {
        dry_run: request.dry_run,
        grace: request
            .grace_seconds
            .map_or(DEFAULT_GRACE, Duration::from_secs),
    };
    let registry = caller.state.registry.clone();
    let report = tokio::spawn(async move { registry.collect_garbage(options).await })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "garbage collection task failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "garbage collection failed; see the server log",
            )
        })??;
    Ok(json(StatusCode::OK, &report))
}
