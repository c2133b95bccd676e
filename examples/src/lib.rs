//! Examples of embedding kcr.
