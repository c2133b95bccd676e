//! Docker token scopes: `repository:<name>:pull,push` and `registry:catalog:*`.

use serde::{Deserialize, Serialize};

/// One resource and the actions requested on (or granted for) it, as in the token's `access`
/// claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceActions {
    /// `repository` or `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository name (as the client addressed it) or `catalog`.
    pub name: String,
    /// `pull`, `push`, `delete`, `*`.
    pub actions: Vec<String>,
}

/// Parses one scope string. Names contain no `:` but the grammar allows a `:` in the type
/// (`repository(plugin)`), so the type ends at the first `:` and the actions start after the last.
pub fn parse_scope(scope: &str) -> Option<ResourceActions> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    let kind = kind.split('(').next().unwrap_or(kind).to_owned();
    Some(ResourceActions {
        kind,
        name: name.to_owned(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let s = parse_scope("repository:p/r/i:pull,push").unwrap();
        assert_eq!(s.kind, "repository");
        assert_eq!(s.name, "p/r/i");
        assert_eq!(s.actions, vec!["pull", "push"]);
        let s = parse_scope("registry:catalog:*").unwrap();
        assert_eq!((s.kind.as_str(), s.name.as_str()), ("registry", "catalog"));
        assert!(parse_scope("repository").is_none());
        assert!(parse_scope("repository::pull").is_none());
    }
}
