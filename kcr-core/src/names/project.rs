//! Project and region identifiers: DNS labels, since they form `{project}.{region}.kcr.dev`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::NameError;

fn check_dns_label(what: &'static str, s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty { what });
    }
    if s.len() > 63 {
        return Err(NameError::TooLong {
            what,
            name: s.to_owned(),
            max: 63,
        });
    }
    let grammar = |rule| NameError::Grammar {
        what,
        name: s.to_owned(),
        rule,
    };
    if !s
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        return Err(grammar("only lowercase letters, digits and '-' are allowed"));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(grammar("it must start and end with a letter or digit"));
    }
    Ok(())
}

macro_rules! dns_label_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                check_dns_label($what, s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                check_dns_label($what, &s)?;
                Ok($name(s))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

dns_label_type!(
    /// A project id: the tenant, and the first DNS label of `{project}.{region}.kcr.dev`.
    ///
    /// ```
    /// use kcr_core::ProjectId;
    /// assert!("team-a".parse::<ProjectId>().is_ok());
    /// assert!("Team_A".parse::<ProjectId>().is_err());
    /// ```
    ProjectId,
    "project id"
);

dns_label_type!(
    /// A region id, the second DNS label of `{project}.{region}.kcr.dev`.
    RegionId,
    "region"
);
