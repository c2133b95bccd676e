//! IAM roles on projects and per-repository roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user's IAM role in a project. Both roles act as registry admin on every repository of the
/// project; only admins manage the project's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectRole {
    /// `project admin`.
    Admin,
    /// `project member`.
    Member,
}

/// A per-repository role for an organization user outside the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepoRole {
    /// `repository member`: push and pull.
    Member,
    /// `repository viewer`: pull only.
    Viewer,
}

impl fmt::Display for ProjectRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProjectRole::Admin => "project admin",
            ProjectRole::Member => "project member",
        })
    }
}

impl fmt::Display for RepoRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RepoRole::Member => "repository member",
            RepoRole::Viewer => "repository viewer",
        })
    }
}

impl FromStr for ProjectRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" | "project_admin" | "project-admin" => Ok(ProjectRole::Admin),
            "member" | "project_member" | "project-member" => Ok(ProjectRole::Member),
            _ => Err(format!("unknown project role {s:?} (admin or member)")),
        }
    }
}

impl FromStr for RepoRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "member" | "repository_member" | "repository-member" => Ok(RepoRole::Member),
            "viewer" | "repository_viewer" | "repository-viewer" => Ok(RepoRole::Viewer),
            _ => Err(format!("unknown repository role {s:?} (member or viewer)")),
        }
    }
}
