//! The kcr HTTP server.
