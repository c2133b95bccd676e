//! The OpenAPI 3.0 description of `/api/v1`, served at `/api/v1/openapi.json`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::context::json as json_response;

fn op(summary: &str, body: Option<&str>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok: { "description": "success", "content": { "application/json": {} } },
            "4XX": { "$ref": "#/components/responses/Error" }
        }
    });
    if let Some(schema) = body {
        o["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
        });
    }
    o
}

fn param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

fn with_params(mut item: Value, names: &[&str]) -> Value {
    item["parameters"] = Value::Array(names.iter().map(|n| param(n)).collect());
    item
}

/// The document.
pub fn spec() -> Value {
    let p = &["project"];
    let pr = &["project", "repo"];
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "kcr management API",
            "version": "1",
            "description": "Organizations, users, projects, memberships, repositories, repository permissions, tags and their history, access keys and garbage collection. Sign in with HTTP Basic: a user name and password, or an access key id and secret."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "basic": [] }],
        "paths": {
            "/me": { "get": op("The signed-in user, their projects and repository roles", None, "200") },
            "/orgs": { "post": op("Create an organization (administrators of the default organization)", Some("NewOrg"), "201") },
            "/orgs/{org}/users": with_params(json!({
                "get": op("List the organization's users", None, "200"),
                "post": op("Create a user", Some("NewUser"), "201")
            }), &["org"]),
            "/gc": { "post": op("Run a garbage collection of unreferenced blob data (administrators of the default organization); 409 while one runs", Some("GcRequest"), "200") },
            "/projects": {
                "get": op("List your projects", None, "200"),
                "post": op("Create a project in your organization; you become its project admin", Some("NewProject"), "201")
            },
            "/projects/{project}": with_params(json!({ "get": op("Show a project", None, "200") }), p),
            "/projects/{project}/members": with_params(json!({ "get": op("List members and their IAM roles", None, "200") }), p),
            "/projects/{project}/members/{user}": with_params(json!({
                "put": op("Set a member's role (admin or member)", Some("Role"), "200"),
                "delete": op("Remove a member", None, "200")
            }), &["project", "user"]),
            "/projects/{project}/repositories": with_params(json!({
                "get": op("List repositories", None, "200"),
                "post": op("Create a repository", Some("NewRepository"), "201")
            }), p),
            "/projects/{project}/repositories/{repo}": with_params(json!({
                "get": op("Show a repository", None, "200"),
                "patch": op("Change visibility or description", Some("RepositoryPatch"), "200"),
                "delete": op("Delete a repository with all its images", None, "200")
            }), pr),
            "/projects/{project}/repositories/{repo}/images/{image}/tags": with_params(json!({
                "get": op("Live tags with their digests, and deleted tags that can be restored (the image name may contain '/')", None, "200")
            }), &["project", "repo", "image"]),
            "/projects/{project}/repositories/{repo}/images/{image}/tags/{tag}": with_params(json!({
                "delete": op("Delete a tag; it stays restorable", None, "200")
            }), &["project", "repo", "image", "tag"]),
            "/projects/{project}/repositories/{repo}/images/{image}/tags/{tag}/history": with_params(json!({
                "get": op("A tag's timeline: created, moved, deleted, restored", None, "200")
            }), &["project", "repo", "image", "tag"]),
            "/projects/{project}/repositories/{repo}/images/{image}/tags/{tag}/restore": with_params(json!({
                "post": op("Restore a deleted tag to its last version, or (optional JSON body {\"digest\": ...}) to an earlier version it pointed at", None, "200")
            }), &["project", "repo", "image", "tag"]),
            "/projects/{project}/repositories/{repo}/permissions": with_params(json!({
                "get": op("List repository roles", None, "200")
            }), pr),
            "/projects/{project}/repositories/{repo}/permissions/{user}": with_params(json!({
                "put": op("Grant a repository role (member or viewer) to a user of the organization", Some("Role"), "200"),
                "delete": op("Remove a repository role", None, "200")
            }), &["project", "repo", "user"]),
            "/users/{user}/password": with_params(json!({ "put": op("Change a password", Some("NewPassword"), "200") }), &["user"]),
            "/users/{user}/access-keys": with_params(json!({
                "get": op("List access keys (never their secrets)", None, "200"),
                "post": op("Create an access key; the secret is returned once", Some("NewKey"), "201")
            }), &["user"]),
            "/users/{user}/access-keys/{key}": with_params(json!({
                "delete": op("Revoke an access key and its tokens at once", None, "200")
            }), &["user", "key"])
        },
        "components": {
            "securitySchemes": { "basic": { "type": "http", "scheme": "basic" } },
            "responses": {
                "Error": {
                    "description": "error",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Errors" } } }
                }
            },
            "schemas": {
                "Errors": { "type": "object", "properties": { "errors": { "type": "array", "items": {
                    "type": "object", "required": ["code", "message"],
                    "properties": { "code": { "type": "string" }, "message": { "type": "string" }, "detail": {} }
                } } } },
                "NewOrg": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } } },
                "NewUser": { "type": "object", "required": ["name", "password"], "properties": {
                    "name": { "type": "string" }, "password": { "type": "string", "minLength": 12 }, "org_admin": { "type": "boolean" } } },
                "NewProject": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } } },
                "Role": { "type": "object", "required": ["role"], "properties": { "role": { "type": "string" } } },
                "NewRepository": { "type": "object", "required": ["name"], "properties": {
                    "name": { "type": "string" }, "visibility": { "type": "string", "enum": ["private", "public"] },
                    "description": { "type": "string" } } },
                "RepositoryPatch": { "type": "object", "properties": {
                    "visibility": { "type": "string", "enum": ["private", "public"] }, "description": { "type": "string" } } },
                "NewPassword": { "type": "object", "required": ["password"], "properties": { "password": { "type": "string", "minLength": 12 } } },
                "GcRequest": { "type": "object", "additionalProperties": false, "properties": {
                    "dry_run": { "type": "boolean", "description": "report what would be removed, remove nothing" },
                    "grace_seconds": { "type": "integer", "minimum": 0, "description": "keep data written or linked more recently (default 3600)" } } },
                "GcReport": { "type": "object", "description": "the answer of POST /gc", "properties": {
                    "dry_run": { "type": "boolean" }, "grace_seconds": { "type": "integer" },
                    "manifests_scanned": { "type": "integer" }, "links_scanned": { "type": "integer" },
                    "blobs_scanned": { "type": "integer" }, "referenced_digests": { "type": "integer" },
                    "links_removed": { "type": "integer" }, "blobs_removed": { "type": "integer" },
                    "bytes_freed": { "type": "integer" },
                    "blobs_kept_recent": { "type": "integer", "description": "unreferenced, but within the grace period" },
                    "kept_in_use": { "type": "integer", "description": "candidates a push used while the collection ran" },
                    "duration_ms": { "type": "integer" } } },
                "NewKey": { "type": "object", "properties": {
                    "description": { "type": "string" }, "expires_in_days": { "type": "integer", "minimum": 1 } } }
            }
        }
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Response {
    json_response(StatusCode::OK, &spec())
}
