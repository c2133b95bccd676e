//! `tag`.

use serde_json::{json, Value};

use super::segment;
use crate::cli::TagCmd;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::Output;

/// `project/repository/image` as the API path of the image.
fn image_path(image: &str) -> Result<String, CliError> {
    let parts: Vec<&str> = image.split('/').collect();
    if parts.len() < 3 {
        return Err(CliError::Usage(format!(
            "{image:?}: name an image as project/repository/image"
        )));
    }
    for part in &parts {
        segment(part)?;
    }
    Ok(format!(
        "/projects/{}/repositories/{}/images/{}",
        parts[0],
        parts[1],
        parts[2..].join("/")
    ))
}

/// `project/repository/image:tag` as the API path of the tag.
fn tag_path(reference: &str) -> Result<String, CliError> {
    let (image, tag) = reference
        .rsplit_once(':')
        .filter(|(image, _)| !image.is_empty())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{reference:?}: name a tag as project/repository/image:tag"
            ))
        })?;
    Ok(format!("{}/tags/{}", image_path(image)?, segment(tag)?))
}

/// Runs a `tag` subcommand.
pub fn tag(api: &ApiClient, cmd: &TagCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        TagCmd::List { image } => {
            let tags = api.get(&format!("{}/tags", image_path(image)?))?;
            if out.json {
                out.object(&tags);
                return Ok(());
            }
            out.table(&tags["tags"], &["tag", "digest"]);
            if tags["deleted"].as_array().is_some_and(|d| !d.is_empty()) {
                println!("\nDeleted tags (kcr tag restore {image}:<tag>):");
                out.table(
                    &tags["deleted"],
                    &["tag", "digest", "deleted", "restorable"],
                );
            }
        }
        TagCmd::History { tag } => {
            let events = api.get(&format!("{}/history", tag_path(tag)?))?;
            let rows: Vec<Value> = events
                .as_array()
                .map(|all| all.iter().map(event_row).collect())
                .unwrap_or_default();
            if out.json {
                out.object(&events);
            } else {
                out.table(&Value::Array(rows), &["at", "event", "digest"]);
            }
        }
        TagCmd::Restore { tag, digest } => {
            let body = match digest {
                Some(d) => json!({ "digest": d }),
                None => json!({}),
            };
            out.object(&api.post(&format!("{}/restore", tag_path(tag)?), body)?);
        }
        TagCmd::Delete { tag } => out.object(&api.delete(&tag_path(tag)?)?),
    }
    Ok(())
}

/// One history event as a table row: a move shows `from -> to`.
fn event_row(event: &Value) -> Value {
    let digest = match (event.get("from"), event.get("to")) {
        (Some(Value::String(from)), Some(Value::String(to))) => format!("{from} -> {to}"),
        _ => event["digest"].as_str().unwrap_or_default().to_owned(),
    };
    json!({ "at": event["at"], "event": event["event"], "digest": digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            tag_path("team/web/app/api:v1").unwrap(),
            "/projects/team/repositories/web/images/app/api/tags/v1"
        );
        assert_eq!(
            image_path("team/web/app").unwrap(),
            "/projects/team/repositories/web/images/app"
        );
        for bad in [
            "team/web",
            "team/web/app",
            ":v1",
            "team/web/a b:v1",
            "team//app:v1",
        ] {
            assert!(tag_path(bad).is_err(), "{bad}");
        }
    }
}
