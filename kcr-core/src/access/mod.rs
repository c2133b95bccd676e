//! Who may do what: principals, roles, actions, and the one policy function that decides.
//!
//! Every authorization in kcr is [`authorize`]`(principal, action, facts)`: a pure function over
//! values, tested as a full matrix. Handlers gather the facts (the principal's roles and the
//! repository's visibility) and never decide by themselves.

mod action;
mod identity;
mod policy;
mod role;

pub use action::Action;
pub use identity::{CredentialKind, OrgId, Principal, UserId};
pub use policy::{authorize, Decision, DenyReason, ResourceFacts};
pub use role::{ProjectRole, RepoRole};
