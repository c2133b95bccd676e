//! Project and region identifiers: DNS labels, since they form `{project}.{region}.kcr.dev`.

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
        return Err(grammar(
            "only lowercase letters, digits and '-' are allowed",
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(grammar("it must start and end with a letter or digit"));
    }
    Ok(())
}

/// A project id: the tenant, and the first DNS label of `{project}.{region}.kcr.dev`.
///
/// ```
/// use kcr_core::ProjectId;
/// assert!("team-a".parse::<ProjectId>().is_ok());
/// assert!("Team_A".parse::<ProjectId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectId(String);

/// A region id, the second DNS label of `{project}.{region}.kcr.dev`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionId(String);

super::validated_string!(ProjectId, |s| check_dns_label("project id", s));
super::validated_string!(RegionId, |s| check_dns_label("region", s));
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LABEL: &str = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";

    proptest! {
        #[test]
        fn valid_labels_round_trip(s in LABEL) {
            let p: ProjectId = s.parse().unwrap();
            prop_assert_eq!(p.as_str(), s.as_str());
            prop_assert_eq!(p.to_string().parse::<ProjectId>(), Ok(p.clone()));
            let json = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(serde_json::from_str::<ProjectId>(&json).unwrap(), p);
            let r: RegionId = s.parse().unwrap();
            prop_assert_eq!(r.to_string(), s);
        }

        #[test]
        fn uppercase_is_rejected(s in LABEL, at in any::<prop::sample::Index>(), c in "[A-Z]") {
            let i = at.index(s.len() + 1);
            let bad = format!("{}{c}{}", &s[..i], &s[i..]);
            prop_assume!(bad.len() <= 63);
            prop_assert!(matches!(bad.parse::<ProjectId>(), Err(NameError::Grammar { .. })), "{}", bad);
            prop_assert!(matches!(bad.parse::<RegionId>(), Err(NameError::Grammar { .. })), "{}", bad);
        }

        #[test]
        fn edge_dash_is_rejected(s in "[a-z0-9-]{0,62}", leading in any::<bool>()) {
            let bad = if leading { format!("-{s}") } else { format!("{s}-") };
            prop_assert!(matches!(bad.parse::<ProjectId>(), Err(NameError::Grammar { .. })), "{}", bad);
        }

        #[test]
        fn foreign_characters_are_rejected(
            head in "[a-z0-9]{1,20}",
            bad in "[^a-z0-9-]",
            tail in "[a-z0-9]{1,20}",
        ) {
            let s = format!("{head}{bad}{tail}");
            prop_assume!(s.len() <= 63);
            prop_assert!(matches!(s.parse::<ProjectId>(), Err(NameError::Grammar { .. })), "{}", s);
        }

        #[test]
        fn too_long_is_rejected(s in "[a-z0-9]{64,100}") {
            let too_long = matches!(s.parse::<ProjectId>(), Err(NameError::TooLong { max: 63, .. }));
            prop_assert!(too_long, "{}", s);
            let json = format!("{s:?}");
            prop_assert!(serde_json::from_str::<ProjectId>(&json).is_err());
        }

        #[test]
        fn parsing_never_panics(s in ".{0,100}") {
            let _ = s.parse::<ProjectId>();
        }
    }
}
