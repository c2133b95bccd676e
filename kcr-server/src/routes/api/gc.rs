//! Garbage collection, run on demand by a registry administrator.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use kcr_core::gc::{GcOptions, DEFAULT_GRACE};
use kcr_core::store::DEFAULT_ORG;
use serde::Deserialize;

use super::context::{denied, json, ApiCaller, ApiJson};
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
/// administrators) may run it. `409 CONFLICT` while another collection runs.
pub async fn run(
    caller: ApiCaller,
    ApiJson(request): ApiJson<GcRequest>,
) -> Result<Response, ApiError> {
    let registry_admin = DEFAULT_ORG
        .parse()
        .map_err(|_| denied("no default organization"))?;
    if !caller.is_org_admin(&registry_admin).await? {
        return Err(denied(format!(
            "garbage collection is for administrators of the {DEFAULT_ORG} organization"
        )));
    }
    let options = GcOptions {
        dry_run: request.dry_run,
        grace: request
            .grace_seconds
            .map_or(DEFAULT_GRACE, Duration::from_secs),
    };
    let report = caller.state.registry.collect_garbage(options).await?;
    Ok(json(StatusCode::OK, &report))
}
