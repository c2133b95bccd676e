//! Persistent storage backends for kcr.
