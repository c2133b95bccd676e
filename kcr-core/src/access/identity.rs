//! Who is asking: organizations, users, and how they proved it.

use serde::{Deserialize, Serialize};

use crate::names::NameError;

fn check_id(what: &'static str, s: &str, max: usize) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty { what });
    }
    if s.len() > max {
        return Err(NameError::TooLong {
            what,
            name: s.to_owned(),
            max,
        });
    }
    let b = s.as_bytes();
    let ok_first = b[0].is_ascii_lowercase() || b[0].is_ascii_digit();
    let ok_rest = b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.'));
    if !ok_first || !ok_rest {
        return Err(NameError::Grammar {
            what,
            name: s.to_owned(),
            rule: "lowercase letters, digits, '-', '_' and '.', starting with a letter or digit",
        });
    }
    Ok(())
}

/// An organization id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgId(String);

/// A user name, unique in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

crate::names::validated_string!(OrgId, |s| check_id("organization id", s, 64));
crate::names::validated_string!(UserId, |s| check_id("user name", s, 64));

/// How a user proved who they are. kcr keeps the two apart as the product does: passwords sign
/// in to the console and the management API; access keys are for registry clients (docker,
/// podman, skopeo, the kcr CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A console password (or a session derived from one).
    Password,
    /// An access key (id + secret), or a registry token issued for one.
    AccessKey,
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// No credentials.
    Anonymous,
    /// An authenticated user.
    User {
        /// Who.
        id: UserId,
        /// Their organization.
        org: OrgId,
        /// How they signed in.
        credential: CredentialKind,
    },
}

impl Principal {
    /// The user name, or `anonymous`.
    pub fn name(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::User { id, .. } => id.as_str(),
        }
    }
}
