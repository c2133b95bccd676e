//! The management API under `/api/v1` (JSON): organizations, users, projects, memberships,
//! repositories, repository permissions, tags and their history, access keys and garbage
//! collection. Errors use the same envelope as the
//! registry API: `{"errors":[{"code","message","detail"}]}`. The OpenAPI document is served at
//! `/api/v1/openapi.json`.

mod context;
mod gc;
mod keys;
mod openapi;
mod orgs;
mod projects;
mod repos;
mod tags;

use axum::routing::{get, post, put};
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

/// The `/api/v1` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/me", get(orgs::me))
        .route("/orgs", post(orgs::create_org))
        .route("/gc", post(gc::run))
        .route(
            "/orgs/{org}/users",
            get(orgs::list_users).post(orgs::create_user),
        )
        .route("/projects", get(projects::list).post(projects::create))
        .route("/projects/{project}", get(projects::show))
        .route("/projects/{project}/members", get(projects::list_members))
        .route(
            "/projects/{project}/members/{user}",
            put(projects::set_member).delete(projects::remove_member),
        )
        .route(
            "/projects/{project}/repositories",
            get(repos::list).post(repos::create),
        )
        .route(
            "/projects/{project}/repositories/{repo}",
            get(repos::show).patch(repos::update).delete(repos::delete),
        )
        .route(
            "/projects/{project}/repositories/{repo}/images/{*rest}",
            get(tags::get).post(tags::post).delete(tags::delete),
        )
        .route(
            "/projects/{project}/repositories/{repo}/permissions",
            get(repos::list_permissions),
        )
        .route(
            "/projects/{project}/repositories/{repo}/permissions/{user}",
            put(repos::set_permission).delete(repos::remove_permission),
        )
        .route("/users/{user}/password", put(keys::set_password))
        .route(
            "/users/{user}/access-keys",
            get(keys::list).post(keys::create),
        )
        .route(
            "/users/{user}/access-keys/{key}",
            axum::routing::delete(keys::revoke),
        )
        // Errors in the API's JSON envelope also for a wrong method or path.
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(|| async { ApiError::no_such_endpoint() })
}
