//! Metadata over an ordered key-value engine: the one implementation of the metadata role traits.

mod engine;

pub use engine::{KvEngine, KvTxn, TxnError};
