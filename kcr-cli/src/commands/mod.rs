//! One module per command group; each function makes one or two API calls and prints.

pub mod gc;
pub mod projects;
pub mod repos;
pub mod session;
pub mod tags;
pub mod users;

use crate::error::CliError;

/// Reads one line (a password or secret) from standard input, prompting without echo on a
/// terminal.
pub fn read_secret(prompt: &str) -> Result<String, CliError> {
    use std::io::IsTerminal;
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| CliError::Usage(format!("cannot read: {e}")))?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_line(&mut s)
            .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        s
    };
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        return Err(CliError::Usage(
            "an empty password or secret was given".into(),
        ));
    }
    Ok(line)
}

/// Percent-encodes nothing: every path segment the CLI sends is a validated name, so a
/// character outside the name grammar is refused here with a clear message instead.
pub fn segment(s: &str) -> Result<&str, CliError> {
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(CliError::Usage(format!("{s:?} is not a valid name")));
    }
    Ok(s)
}
