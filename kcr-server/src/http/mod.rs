//! HTTP plumbing shared by the endpoints: header parsing and rendering, bodies, pagination.

pub mod body;
pub mod headers;
pub mod pagination;
