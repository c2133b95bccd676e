//! `Range` and `Content-Range` parsing, and the registry's own headers.

use kcr_core::store::ByteRange;

/// `Docker-Content-Digest`.
pub const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
/// `Docker-Upload-UUID`.
pub const DOCKER_UPLOAD_UUID: &str = "docker-upload-uuid";
/// `Docker-Distribution-API-Version`.
pub const API_VERSION: &str = "docker-distribution-api-version";
/// `OCI-Subject`.
pub const OCI_SUBJECT: &str = "oci-subject";
/// `OCI-Filters-Applied`.
pub const OCI_FILTERS_APPLIED: &str = "oci-filters-applied";
/// `OCI-Chunk-Min-Length`.
pub const OCI_CHUNK_MIN_LENGTH: &str = "oci-chunk-min-length";

/// Why a `Range` header cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeError {
    /// Not a single `bytes=` range we understand: serve the whole blob instead (RFC 9110 §14.2).
    Ignore,
    /// Syntactically fine but outside the blob: 416.
    Unsatisfiable,
}

/// Parses a request `Range: bytes=a-b | a- | -n` against a blob of `size` bytes.
pub fn parse_range(value: &str, size: u64) -> Result<ByteRange, RangeError> {
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or(RangeError::Ignore)?;
    if spec.contains(',') {
        return Err(RangeError::Ignore);
    }
    let (a, b) = spec.split_once('-').ok_or(RangeError::Ignore)?;
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().map_err(|_| RangeError::Ignore);
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        (true, true) => return Err(RangeError::Ignore),
        (true, false) => {
            let n = num(b)?;
            if n == 0 || size == 0 {
                return Err(RangeError::Unsatisfiable);
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, true) => (num(a)?, size.saturating_sub(1)),
        (false, false) => {
            let (s, e) = (num(a)?, num(b)?);
            if e < s {
                return Err(RangeError::Ignore);
            }
            (s, e.min(size.saturating_sub(1)))
        }
    };
    if start >= size {
        return Err(RangeError::Unsatisfiable);
    }
    Ok(ByteRange { start, end })
}

/// Parses an upload chunk's `Content-Range: <start>-<end>` (also accepting `bytes ` / `bytes=`
/// prefixes and a `/<total>` suffix). Returns `(start, end)`.
pub fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let v = value.trim();
    let v = v
        .strip_prefix("bytes=")
        .or_else(|| v.strip_prefix("bytes "))
        .unwrap_or(v);
    let v = v.split('/').next()?;
    let (a, b) = v.split_once('-')?;
    let (start, end) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (end >= start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("bytes=0-9", 100),
            Ok(ByteRange { start: 0, end: 9 })
        );
        assert_eq!(
            parse_range("bytes=90-", 100),
            Ok(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            parse_range("bytes=-10", 100),
            Ok(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            parse_range("bytes=50-500", 100),
            Ok(ByteRange { start: 50, end: 99 })
        );
        assert_eq!(
            parse_range("bytes=100-", 100),
            Err(RangeError::Unsatisfiable)
        );
        assert_eq!(parse_range("items=0-1", 100), Err(RangeError::Ignore));
        assert_eq!(parse_range("bytes=0-1,3-4", 100), Err(RangeError::Ignore));
        assert_eq!(parse_content_range("0-99"), Some((0, 99)));
        assert_eq!(parse_content_range("bytes 100-199/*"), Some((100, 199)));
        assert_eq!(parse_content_range("9-1"), None);
    }

    proptest! {
        #[test]
        fn never_panic(s in ".{0,40}", size in any::<u64>()) {
            let _ = parse_range(&s, size);
            let _ = parse_content_range(&s);
        }
    }
}
