//! Value encoding: one version byte, then JSON. Decoding failures are `Corrupt`, never panics.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::StorageError;

const VERSION: u8 = 1;

/// Encodes a record.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![VERSION];
    // Serializing plain data structs to JSON cannot fail (no maps with non-string keys).
    serde_json::to_writer(&mut out, value).unwrap_or_default();
    out
}

/// Decodes a record written by [`encode`].
pub fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StorageError> {
    match bytes.split_first() {
        Some((&VERSION, rest)) => serde_json::from_slice(rest).map_err(|e| StorageError::Corrupt {
            what: format!("{what}: {e}"),
        }),
        _ => Err(StorageError::Corrupt {
            what: format!("{what}: unknown record version"),
        }),
    }
}
