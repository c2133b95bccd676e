//! Actions a principal may attempt, and their mapping from Docker token scopes.

use std::fmt;

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Read manifests, blobs, tags, referrers.
    Pull,
    /// Upload blobs, push manifests and tags, cancel one's own uploads.
    Push,
    /// Delete image versions, tags and blobs.
    Delete,
    /// Create, delete and configure repositories (visibility, description, permissions).
    ManageRepositories,
    /// Manage the project's members.
    ManageMembers,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Action; 5] = [
        Action::Pull,
        Action::Push,
        Action::Delete,
        Action::ManageRepositories,
        Action::ManageMembers,
    ];

    /// The action a Docker token scope word names (`pull`, `push`, `delete`, `*`).
    pub fn from_scope_word(word: &str) -> Option<Vec<Action>> {
        match word {
            "pull" => Some(vec![Action::Pull]),
            "push" => Some(vec![Action::Push]),
            "delete" => Some(vec![Action::Delete]),
            "*" => Some(vec![Action::Pull, Action::Push, Action::Delete]),
            _ => None,
        }
    }

    /// The scope word of a repository action.
    pub fn scope_word(self) -> Option<&'static str> {
        match self {
            Action::Pull => Some("pull"),
            Action::Push => Some("push"),
            Action::Delete => Some("delete"),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
            Action::ManageRepositories => "manage repositories",
            Action::ManageMembers => "manage members",
        })
    }
}
