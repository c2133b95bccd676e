//! `login`, `logout`, `whoami`, `passwd`.

use serde_json::json;

use super::read_secret;
use crate::cli::Login;
use crate::client::ApiClient;
use crate::credentials::{self, Credentials};
use crate::error::CliError;
use crate::output::Output;

/// Checks the credentials against the server, then stores them.
pub fn login(args: &Login, out: Output) -> Result<(), CliError> {
    let secret = if args.password_stdin {
        read_secret("")?
    } else {
        read_secret(&format!("Password or secret for {}: ", args.user))?
    };
    let creds = Credentials {
        server: args.server.trim_end_matches('/').to_owned(),
        user: args.user.clone(),
        secret,
    };
    let me = ApiClient::new(creds.clone()).get("/me")?;
    let path = credentials::save(&creds)?;
    if out.json {
        out.object(&me);
    } else {
        println!(
            "Signed in to {} as {} (credentials saved in {})",
            creds.server,
            me["user"]["name"].as_str().unwrap_or(&creds.user),
            path.display()
        );
    }
    Ok(())
}

/// Forgets the stored credentials.
pub fn logout() -> Result<(), CliError> {
    if credentials::remove()? {
        println!("Signed out.");
    } else {
        println!("Not signed in.");
    }
    Ok(())
}

/// Shows the signed-in user.
pub fn whoami(api: &ApiClient, out: Output) -> Result<(), CliError> {
    let me = api.get("/me")?;
    if out.json {
        out.object(&me);
        return Ok(());
    }
    println!("server  {}", api.server());
    out.object(&me["user"]);
    if me["projects"].as_array().is_some_and(|a| !a.is_empty()) {
        println!();
        out.table(&me["projects"], &["project", "role"]);
    }
    if me["repository_roles"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        println!();
        out.table(&me["repository_roles"], &["project", "repository", "role"]);
    }
    Ok(())
}

/// Changes the signed-in user's password.
pub fn passwd(api: &ApiClient) -> Result<(), CliError> {
    let me = api.get("/me")?;
    let user = me["user"]["name"].as_str().unwrap_or_default().to_owned();
    let password = read_secret("New password: ")?;
    api.put(
        &format!("/users/{}/password", super::segment(&user)?),
        json!({ "password": password }),
    )?;
    println!("Password changed for {user}. Sign in again with `kcr login` if you used it here.");
    Ok(())
}
