//! Rendering answers: aligned tables for people, `--json` for scripts.

use serde_json::Value;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Print raw JSON.
    pub json: bool,
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Output {
    /// Prints a list of objects as a table with the given columns.
    pub fn table(&self, value: &Value, columns: &[&str]) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
            return;
        }
        let rows: Vec<Vec<String>> = value
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|row| columns.iter().map(|c| cell(&row[*c])).collect())
                    .collect()
            })
            .unwrap_or_default();
        let widths: Vec<usize> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                rows.iter()
                    .map(|r| r[i].len())
                    .max()
                    .unwrap_or(0)
                    .max(c.len())
            })
            .collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(columns.iter().map(|c| c.to_uppercase()).collect());
        for r in rows {
            line(r);
        }
    }

    /// Prints one object as `key: value` lines.
    pub fn object(&self, value: &Value) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
            return;
        }
        if let Some(map) = value.as_object() {
            let width = map.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in map {
                println!("{k:<width$}  {}", cell(v));
            }
        } else {
            println!("{}", cell(value));
        }
    }
}
