//! Request bodies as byte streams, and bounded reads for small bodies.

use axum::body::Body;
use futures_util::TryStreamExt;
use kcr_core::store::ByteStream;

/// Streams a request body into a store without buffering it. A failure to read it (the client
/// went away mid-body) surfaces as `ConnectionAborted`, which the service reports as the
/// client's error.
pub fn stream(body: Body) -> ByteStream {
    Box::pin(
        body.into_data_stream()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::ConnectionAborted, e)),
    )
}

/// Reads a body of at most `limit` bytes; `None` when it is larger.
pub async fn read_limited(body: Body, limit: usize) -> Result<Option<bytes::Bytes>, axum::Error> {
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(Some(b)),
        Err(e) => {
            let too_big = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_big {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}
