//! `CliError`: what the user is told when a command fails.

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server answered with an error.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: String,
        /// Human message.
        message: String,
    },
    /// The server could not be reached or answered garbage.
    #[error("cannot reach the kcr server at {server}: {source}")]
    Http {
        /// The server URL.
        server: String,
        /// Why.
        source: reqwest::Error,
    },
    /// No server or credentials are configured.
    #[error("not signed in: run `kcr login --server URL --user NAME` (or set KCR_SERVER, KCR_USER and KCR_SECRET)")]
    NotSignedIn,
    /// The credentials file could not be read or written.
    #[error("credentials file {path}: {source}")]
    Credentials {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Bad input on the command line or stdin.
    #[error("{0}")]
    Usage(String),
}
