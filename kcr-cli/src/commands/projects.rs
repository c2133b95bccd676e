//! `project` and `member`.

use serde_json::json;

use super::segment;
use crate::cli::{MemberCmd, ProjectCmd};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::Output;

/// Runs a `project` subcommand.
pub fn project(api: &ApiClient, cmd: &ProjectCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        ProjectCmd::List => out.table(&api.get("/projects")?, &["id", "org", "repository_count"]),
        ProjectCmd::Create { id } => out.object(&api.post("/projects", json!({ "id": id }))?),
        ProjectCmd::Show { id } => out.object(&api.get(&format!("/projects/{}", segment(id)?))?),
    }
    Ok(())
}

/// Runs a `member` subcommand.
pub fn member(api: &ApiClient, cmd: &MemberCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        MemberCmd::List { project } => out.table(
            &api.get(&format!("/projects/{}/members", segment(project)?))?,
            &["user", "role"],
        ),
        MemberCmd::Set {
            project,
            user,
            role,
        } => out.object(&api.put(
            &format!("/projects/{}/members/{}", segment(project)?, segment(user)?),
            json!({ "role": role }),
        )?),
        MemberCmd::Remove { project, user } => out.object(&api.delete(&format!(
            "/projects/{}/members/{}",
            segment(project)?,
            segment(user)?
        ))?),
    }
    Ok(())
}
