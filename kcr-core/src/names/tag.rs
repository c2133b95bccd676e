//! Tags: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` (OCI distribution spec, "Pulling manifests").

use serde::{Deserialize, Serialize};

use super::NameError;

/// A validated tag.
///
/// ```
/// use kcr_core::Tag;
/// assert!("v1.0_rc-2".parse::<Tag>().is_ok());
/// assert!(".hidden".parse::<Tag>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// Maximum length of a tag.
    pub const MAX_LEN: usize = 128;
}

super::validated_string!(Tag, check);

fn check(s: &str) -> Result<(), NameError> {
    const WHAT: &str = "tag";
    if s.is_empty() {
        return Err(NameError::Empty { what: WHAT });
    }
    if s.len() > Tag::MAX_LEN {
        return Err(NameError::TooLong {
            what: WHAT,
            name: s.to_owned(),
            max: Tag::MAX_LEN,
        });
    }
    let b = s.as_bytes();
    if !(b[0].is_ascii_alphanumeric() || b[0] == b'_') {
        return Err(NameError::Grammar {
            what: WHAT,
            name: s.to_owned(),
            rule: "it must start with a letter, digit or '_'",
        });
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
    {
        return Err(NameError::Grammar {
            what: WHAT,
            name: s.to_owned(),
            rule: "only letters, digits, '_', '.' and '-' are allowed",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn valid_tags_round_trip(s in "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}") {
            let t: Tag = s.parse().unwrap();
            prop_assert_eq!(t.as_str(), s.as_str());
            prop_assert_eq!(t.to_string().parse::<Tag>(), Ok(t.clone()));
            let json = serde_json::to_string(&t).unwrap();
            prop_assert_eq!(serde_json::from_str::<Tag>(&json).unwrap(), t);
        }

        #[test]
        fn leading_dot_or_dash_is_rejected(first in "[.-]", rest in "[a-zA-Z0-9._-]{0,100}") {
            let s = format!("{first}{rest}");
            prop_assert!(matches!(s.parse::<Tag>(), Err(NameError::Grammar { .. })), "{}", s);
        }

        #[test]
        fn foreign_characters_are_rejected(
            head in "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,50}",
            bad in "[^a-zA-Z0-9._-]",
            tail in "[a-zA-Z0-9._-]{0,50}",
        ) {
            let s = format!("{head}{bad}{tail}");
            prop_assume!(s.len() <= Tag::MAX_LEN);
            prop_assert!(matches!(s.parse::<Tag>(), Err(NameError::Grammar { .. })), "{}", s);
        }

        #[test]
        fn too_long_is_rejected(s in "[a-zA-Z0-9_][a-zA-Z0-9._-]{128,200}") {
            let too_long = matches!(s.parse::<Tag>(), Err(NameError::TooLong { max: 128, .. }));
            prop_assert!(too_long, "{}", s);
            let json = format!("{s:?}");
            prop_assert!(serde_json::from_str::<Tag>(&json).is_err());
        }

        #[test]
        fn parsing_never_panics(s in ".{0,200}") {
            let _ = s.parse::<Tag>();
        }
    }

    #[test]
    fn empty_is_rejected() {
        assert_eq!("".parse::<Tag>(), Err(NameError::Empty { what: "tag" }));
    }
}
