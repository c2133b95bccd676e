//! `repo` and `permission`.

use serde_json::{json, Map, Value};

use super::segment;
use crate::cli::{PermissionCmd, RepoCmd};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::Output;

const REPO_COLUMNS: [&str; 4] = ["name", "visibility", "image_count", "description"];

fn repo_path(project: &str, name: &str) -> Result<String, CliError> {
    Ok(format!(
        "/projects/{}/repositories/{}",
        segment(project)?,
        segment(name)?
    ))
}

/// Runs a `repo` subcommand.
pub fn repo(api: &ApiClient, cmd: &RepoCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        RepoCmd::List { project } => out.table(
            &api.get(&format!("/projects/{}/repositories", segment(project)?))?,
            &REPO_COLUMNS,
        ),
        RepoCmd::Create {
            project,
            name,
            public,
            description,
        } => {
            let visibility = if *public { "public" } else { "private" };
            out.object(&api.post(
                &format!("/projects/{}/repositories", segment(project)?),
                json!({ "name": name, "visibility": visibility, "description": description }),
            )?)
        }
        RepoCmd::Show { project, name } => out.object(&api.get(&repo_path(project, name)?)?),
        RepoCmd::Update {
            project,
            name,
            visibility,
            description,
        } => {
            let mut patch = Map::new();
            if let Some(v) = visibility {
                if v != "public" && v != "private" {
                    return Err(CliError::Usage("--visibility is public or private".into()));
                }
                patch.insert("visibility".into(), Value::String(v.clone()));
            }
            if let Some(d) = description {
                patch.insert("description".into(), Value::String(d.clone()));
            }
            if patch.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: give --visibility or --description".into(),
                ));
            }
            out.object(&api.patch(&repo_path(project, name)?, Value::Object(patch))?)
        }
        RepoCmd::Delete { project, name } => out.object(&api.delete(&repo_path(project, name)?)?),
    }
    Ok(())
}

/// Runs a `permission` subcommand.
pub fn permission(api: &ApiClient, cmd: &PermissionCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        PermissionCmd::List { project, repo } => out.table(
            &api.get(&format!("{}/permissions", repo_path(project, repo)?))?,
            &["user", "role"],
        ),
        PermissionCmd::Set {
            project,
            repo,
            user,
            role,
        } => out.object(&api.put(
            &format!(
                "{}/permissions/{}",
                repo_path(project, repo)?,
                segment(user)?
            ),
            json!({ "role": role }),
        )?),
        PermissionCmd::Remove {
            project,
            repo,
            user,
        } => out.object(&api.delete(&format!(
            "{}/permissions/{}",
            repo_path(project, repo)?,
            segment(user)?
        ))?),
    }
    Ok(())
}
