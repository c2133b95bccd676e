//! `gc`.

use serde_json::{json, Map, Value};

use crate::cli::Gc;
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output::Output;

/// How long `kcr gc` waits for the server's report.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Runs a garbage collection on the server and prints its report.
pub fn gc(api: &ApiClient, args: &Gc, out: Output) -> Result<(), CliError> {
    let mut body = Map::new();
    body.insert("dry_run".into(), Value::Bool(args.dry_run));
    if let Some(grace) = &args.grace {
        body.insert("grace_seconds".into(), json!(parse_duration(grace)?));
    }
    // A collection of a large registry takes a while; the server finishes it even if this
    // command is interrupted.
    let report = api.post_patiently("/gc", Value::Object(body), PATIENCE)?;
    if out.json {
        out.object(&report);
        return Ok(());
    }
    let n = |key: &str| report[key].as_u64().unwrap_or_default();
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "{verb} {} blob(s), {} ({} link(s) to unreferenced blobs)",
        n("blobs_removed"),
        human_bytes(n("bytes_freed")),
        n("links_removed"),
    );
    println!(
        "scanned {} manifest(s), {} blob(s), {} link(s) in {} ms; kept {} recent and {} in use by pushes",
        n("manifests_scanned"),
        n("blobs_scanned"),
        n("links_scanned"),
        n("duration_ms"),
        n("blobs_kept_recent"),
        n("kept_in_use"),
    );
    Ok(())
}

/// `0`, `45`, `90s`, `30m`, `1h`, `2d` as seconds.
fn parse_duration(text: &str) -> Result<u64, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--grace {text:?}: give a number with an optional unit s, m, h or d (e.g. 30m)"
        ))
    };
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let value: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    value.checked_mul(scale).ok_or_else(bad)
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("45").unwrap(), 45);
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration("1h").unwrap(), 3600);
        assert_eq!(parse_duration("2d").unwrap(), 172_800);
        for bad in ["", "h", "1w", "-1", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
