//! `user` and `key`.

use serde_json::json;

use super::{read_secret, segment};
use crate::cli::{KeyCmd, UserCmd};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::Output;

/// The signed-in user's name and organization.
fn me(api: &ApiClient) -> Result<(String, String), CliError> {
    let me = api.get("/me")?;
    let name = me["user"]["name"].as_str().unwrap_or_default().to_owned();
    let org = me["user"]["org"].as_str().unwrap_or_default().to_owned();
    Ok((name, org))
}

/// Runs a `user` subcommand.
pub fn user(api: &ApiClient, cmd: &UserCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        UserCmd::List { org } => {
            let org = match org {
                Some(o) => o.clone(),
                None => me(api)?.1,
            };
            out.table(
                &api.get(&format!("/orgs/{}/users", segment(&org)?))?,
                &["name", "org", "org_admin"],
            );
        }
        UserCmd::Create {
            name,
            org,
            org_admin,
        } => {
            let org = match org {
                Some(o) => o.clone(),
                None => me(api)?.1,
            };
            let password = read_secret(&format!("Password for {name}: "))?;
            out.object(&api.post(
                &format!("/orgs/{}/users", segment(&org)?),
                json!({ "name": name, "password": password, "org_admin": org_admin }),
            )?);
        }
    }
    Ok(())
}

/// Runs a `key` subcommand.
pub fn key(api: &ApiClient, cmd: &KeyCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        KeyCmd::List { user } => {
            let user = match user {
                Some(u) => u.clone(),
                None => me(api)?.0,
            };
            out.table(
                &api.get(&format!("/users/{}/access-keys", segment(&user)?))?,
                &["id", "description", "created", "expires", "last_used"],
            );
        }
        KeyCmd::Create {
            description,
            expires_in_days,
        } => {
            let user = me(api)?.0;
            let key = api.post(
                &format!("/users/{}/access-keys", segment(&user)?),
                json!({ "description": description, "expires_in_days": expires_in_days }),
            )?;
            if out.json {
                out.object(&key);
            } else {
                let id = key["id"].as_str().unwrap_or_default();
                let secret = key["secret"].as_str().unwrap_or_default();
                println!("Access key id: {id}");
                println!("Secret:        {secret}");
                println!("The secret is shown only now. Use it with: docker login <registry> -u {id} --password-stdin");
            }
        }
        KeyCmd::Revoke { id, user } => {
            let user = match user {
                Some(u) => u.clone(),
                None => me(api)?.0,
            };
            out.object(&api.delete(&format!(
                "/users/{}/access-keys/{}",
                segment(&user)?,
                segment(id)?
            ))?);
        }
    }
    Ok(())
}
