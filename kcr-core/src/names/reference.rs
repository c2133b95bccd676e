//! A manifest reference from a URL's last segment: a tag or a digest.

use std::fmt;
use std::str::FromStr;

use super::Tag;
use crate::digest::Digest;
use crate::error::CoreError;

/// What `/v2/<name>/manifests/<reference>` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A tag.
    Tag(Tag),
    /// A digest.
    Digest(Digest),
}

impl FromStr for Reference {
    type Err = CoreError;
    /// Anything with a `:` is a digest (tags cannot contain one); the rest must be a tag.
    fn from_str(s: &str) -> Result<Self, CoreError> {
        if s.contains(':') {
            s.parse::<Digest>()
                .map(Reference::Digest)
                .map_err(|e| CoreError::DigestInvalid(e.to_string()))
        } else {
            s.parse::<Tag>()
                .map(Reference::Tag)
                .map_err(|e| CoreError::TagInvalid {
                    tag: s.to_owned(),
                    reason: e.to_string(),
                })
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}
