//! Validated names: every project id, repository, image, tag and reference that crosses a crate
//! boundary is one of these newtypes, built through `FromStr` and rendered through `Display`.

/// Implements `as_str`, `FromStr`, `TryFrom<String>`, `Into<String>` and `Display` for a
/// validated string newtype `$name(String)` whose rules `$check(&str) -> Result<(), NameError>`
/// enforces, so that every name is checked however it is built (parsing, serde, conversion).
macro_rules! validated_string {
    ($name:ident, $check:expr) => {
        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = $crate::names::NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                ($check)(s)?;
                Ok($name(s.to_owned()))
            }
        }
        impl TryFrom<String> for $name {
            type Error = $crate::names::NameError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                ($check)(&s)?;
                Ok($name(s))
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use validated_string;

mod image;
mod project;
mod reference;
mod tag;

pub use image::{ImageName, ImagePath, RepositoryName, MAX_IMAGE_PATH_LEN};
pub use project::{ProjectId, RegionId};
pub use reference::Reference;
pub use tag::Tag;

/// Why a name was rejected. Each rule has its own variant so callers and tests can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("{what} is empty")]
    Empty {
        /// Which kind of name.
        what: &'static str,
    },
    /// The name is longer than allowed.
    #[error("{what} {name:?} is longer than {max} characters")]
    TooLong {
        /// Which kind of name.
        what: &'static str,
        /// The name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// A character outside the allowed set, or a separator in the wrong place.
    #[error("{what} {name:?} is invalid: {rule}")]
    Grammar {
        /// Which kind of name.
        what: &'static str,
        /// The name.
        name: String,
        /// The rule that was broken.
        rule: &'static str,
    },
    /// An image path lacks its repository or image part.
    #[error("{path:?} must have the form {form}")]
    MissingComponent {
        /// The path as given.
        path: String,
        /// The expected form.
        form: &'static str,
    },
}

/// Checks one OCI path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub(crate) fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::is_path_component;

    #[test]
    fn path_component_grammar() {
        for ok in ["a", "abc", "a.b", "a_b", "a__b", "a-b", "a---b", "a1.b2_c3"] {
            assert!(is_path_component(ok), "{ok}");
        }
        for bad in [
            "", "A", "-a", "a-", "a..b", "a___b", "a._b", "a/b", ".a", "a b",
        ] {
            assert!(!is_path_component(bad), "{bad}");
        }
    }
}
