//! Access keys (the credentials of registry clients) and passwords (console and this API).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kcr_core::access::UserId;
use kcr_core::store::{AccessKeyRecord, UserRecord};
use kcr_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::context::{bad_request, denied, json, not_found, parse, ApiCaller, ApiJson};
use super::orgs::new_password_hash;
use crate::auth::secret::{hash_secret, new_key_id, new_secret};
use crate::error::ApiError;

#[derive(Serialize)]
struct KeyView {
    id: String,
    user: String,
    description: String,
    created: String,
    expires: Option<String>,
    last_used: Option<String>,
}

impl From<&AccessKeyRecord> for KeyView {
    fn from(k: &AccessKeyRecord) -> Self {
        KeyView {
            id: k.id.clone(),
            user: k.user.to_string(),
            description: k.description.clone(),
            created: k.created.to_rfc3339(),
            expires: k.expires.map(|t| t.to_rfc3339()),
            last_used: k.last_used.map(|t| t.to_rfc3339()),
        }
    }
}

fn now() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now())
}

/// The target user, who must be the caller or, for `admin_may`, managed by the caller.
async fn target(caller: &ApiCaller, user: &str, admin_may: bool) -> Result<UserRecord, ApiError> {
    let id: UserId = parse("user name", user)?;
    let Some(record) = caller.state.registry.meta().user(&id).await? else {
        // Only administrators learn that a user does not exist; anyone else gets the refusal
        // they get for an existing user, so user names cannot be probed.
        let own_org = caller.user()?.1;
        let told = caller.open || (admin_may && caller.is_org_admin(&own_org).await?);
        return Err(if told {
            not_found("user", &id)
        } else {
            denied("you may manage only your own credentials")
        });
    };
    if caller.open || caller.user()?.0 == id {
        return Ok(record);
    }
    if admin_may && caller.is_org_admin(&record.org).await? {
        return Ok(record);
    }
    Err(denied("you may manage only your own credentials"))
}

/// `GET /users/{user}/access-keys`.
pub async fn list(caller: ApiCaller, Path(user): Path<String>) -> Result<Response, ApiError> {
    let record = target(&caller, &user, true).await?;
    let keys = caller
        .state
        .registry
        .meta()
        .list_access_keys(&record.id)
        .await?;
    let views: Vec<KeyView> = keys.iter().map(KeyView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    #[serde(default)]
    description: String,
    /// Days until the key expires; none for a key that lasts until revoked.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

#[derive(Serialize)]
struct CreatedKey {
    #[serde(flatten)]
    key: KeyView,
    /// Shown once; only its hash is stored.
    secret: String,
}

/// `POST /users/{user}/access-keys`: a new key for the caller; the secret is in this response
/// only.
pub async fn create(
    caller: ApiCaller,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<Response, ApiError> {
    let record = target(&caller, &user, false).await?;
    if body.expires_in_days == Some(0) {
        return Err(bad_request("expires_in_days must be at least 1"));
    }
    let secret = new_secret();
    let secret_hash = hash_secret(&secret).map_err(|e| {
        let mut err = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "could not hash the secret",
        );
        err.internal = Some(e.to_string());
        err
    })?;
    let created = now();
    let key = AccessKeyRecord {
        id: new_key_id(),
        user: record.id,
        secret_hash,
        description: body.description,
        created,
        expires: body
            .expires_in_days
            .map(|d| Timestamp(created.0 + u64::from(d) * 86_400_000)),
        last_used: None,
    };
    caller
        .state
        .registry
        .meta()
        .create_access_key(key.clone())
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &CreatedKey {
            key: KeyView::from(&key),
            secret,
        },
    ))
}

/// `DELETE /users/{user}/access-keys/{key}`: revokes a key and every token issued for it, at once.
pub async fn revoke(
    caller: ApiCaller,
    Path((user, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let record = target(&caller, &user, true).await?;
    let meta = caller.state.registry.meta();
    let owned = meta
        .access_key(&key)
        .await?
        .is_some_and(|k| k.user == record.id);
    if !owned || !meta.delete_access_key(&key).await? {
        return Err(not_found("access key", &key));
    }
    if let Some(auth) = &caller.state.auth {
        auth.revoke_key(&key);
    }
    Ok(json(StatusCode::OK, &serde_json::json!({ "revoked": key })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    password: String,
}

/// `PUT /users/{user}/password`.
pub async fn set_password(
    caller: ApiCaller,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<NewPassword>,
) -> Result<Response, ApiError> {
    let mut record = target(&caller, &user, true).await?;
    record.password_hash = new_password_hash(&body.password)?;
    caller
        .state
        .registry
        .meta()
        .update_user(record.clone())
        .await?;
    if let Some(auth) = &caller.state.auth {
        auth.forget_password(&record.id);
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "user": record.id.to_string() }),
    ))
}
