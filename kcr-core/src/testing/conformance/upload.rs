//! The [`UploadStore`] suite: sessions from begin to finish, offsets, digests, abort, stream
//! failures, concurrency on one session, and unknown sessions.

use std::io;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;

use crate::digest::{Algorithm, Digest, DigestHasher};
use crate::store::{BlobStore, ByteStream, StorageError, UploadId, UploadStore};

use super::{content, expect_err, read_all, stream_of};

/// Runs every case on `store`.
pub async fn run_all<S: BlobStore + UploadStore>(store: &S) {
    round_trip(store).await;
    multi_chunk_appends(store).await;
    large_upload(store).await;
    empty_append_is_a_no_op(store).await;
    wrong_offset_appends_nothing(store).await;
    wrong_digest_ends_session(store).await;
    sha512_finish(store).await;
    abort_discards_session(store).await;
    unknown_session_is_not_found(store).await;
    finish_twice_is_not_found(store).await;
    stream_error_keeps_received_bytes(store).await;
    sessions_are_independent(store).await;
    stale_lists_old_sessions(store).await;
    concurrent_appends_one_wins(store).await;
    dropped_append_does_not_wedge_session(store).await;
}

/// begin → state → append → state → finish: sizes, owner and digest check out and the blob reads
/// back.
pub async fn round_trip<S: BlobStore + UploadStore>(store: &S) {
    let begun = store.begin("proj/repo/img").await.unwrap();
    assert_eq!(begun.owner, "proj/repo/img");
    assert_eq!(begun.size, 0);
    assert_eq!(store.state(&begun.id).await.unwrap(), begun);
    let bytes = content(1000, 201);
    let after = store
        .append(&begun.id, 0, stream_of(vec![bytes.clone()]))
        .await
        .unwrap();
    assert_eq!(after.size, 1000);
    assert_eq!(after.id, begun.id);
    assert_eq!(after.owner, begun.owner);
    assert_eq!(after.started, begun.started);
    assert_eq!(store.state(&begun.id).await.unwrap(), after);
    let d = Digest::sha256_of(&bytes);
    let info = store.finish(&begun.id, &d).await.unwrap();
    assert_eq!(info.digest, d);
    assert_eq!(info.size, 1000);
    assert_eq!(read_all(store.open(&d, None).await.unwrap()).await, bytes);
    let err = expect_err(store.state(&begun.id).await, "state after finish");
    assert!(matches!(err, StorageError::NotFound), "{err:?}");
}

/// Several appends of several chunks each concatenate in order.
pub async fn multi_chunk_appends<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(10_000, 202);
    let id = store.begin("proj/repo/img").await.unwrap().id;
    let mut offset = 0usize;
    for piece in [&bytes[..1], &bytes[1..4000], &bytes[4000..]] {
        let chunks: Vec<Vec<u8>> = piece.chunks(777).map(<[u8]>::to_vec).collect();
        let state = store
            .append(&id, offset as u64, stream_of(chunks))
            .await
            .unwrap();
        offset += piece.len();
        assert_eq!(state.size, offset as u64);
    }
    let info = store.finish(&id, &Digest::sha256_of(&bytes)).await.unwrap();
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(
        read_all(store.open(&info.digest, None).await.unwrap()).await,
        bytes
    );
}

/// A few MiB in 64 KiB chunks over three appends (exercises batching in streamed backends).
pub async fn large_upload<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(3 * 1024 * 1024 + 17, 203);
    let id = store.begin("proj/repo/big").await.unwrap().id;
    let thirds = [0, bytes.len() / 3, 2 * bytes.len() / 3, bytes.len()];
    for w in thirds.windows(2) {
        let chunks = bytes[w[0]..w[1]]
            .chunks(64 * 1024)
            .map(<[u8]>::to_vec)
            .collect();
        let state = store
            .append(&id, w[0] as u64, stream_of(chunks))
            .await
            .unwrap();
        assert_eq!(state.size, w[1] as u64);
    }
    let info = store.finish(&id, &Digest::sha256_of(&bytes)).await.unwrap();
    assert_eq!(info.size, bytes.len() as u64);
    let read = read_all(store.open(&info.digest, None).await.unwrap()).await;
    assert!(read == bytes, "large blob read back differs");
}

/// An append with no bytes (or only empty chunks) succeeds and changes nothing.
pub async fn empty_append_is_a_no_op<S: BlobStore + UploadStore>(store: &S) {
    let id = store.begin("proj/repo/img").await.unwrap().id;
    assert_eq!(
        store.append(&id, 0, stream_of(vec![])).await.unwrap().size,
        0
    );
    store
        .append(&id, 0, stream_of(vec![b"ab".to_vec()]))
        .await
        .unwrap();
    let state = store
        .append(&id, 2, stream_of(vec![vec![], vec![]]))
        .await
        .unwrap();
    assert_eq!(state.size, 2);
    store.finish(&id, &Digest::sha256_of(b"ab")).await.unwrap();
}

/// A chunk that does not start at the session's size fails with `OffsetMismatch` and appends
/// nothing, whether it starts too early or too late.
pub async fn wrong_offset_appends_nothing<S: BlobStore + UploadStore>(store: &S) {
    let id = store.begin("proj/repo/img").await.unwrap().id;
    store
        .append(&id, 0, stream_of(vec![b"hello".to_vec()]))
        .await
        .unwrap();
    for offset in [0, 4, 6, 1000] {
        let err = expect_err(
            store
                .append(&id, offset, stream_of(vec![b"XX".to_vec()]))
                .await,
            "append at wrong offset",
        );
        assert!(
            matches!(err, StorageError::OffsetMismatch { expected, actual: 5 } if expected == offset),
            "offset {offset}: {err:?}"
        );
        assert_eq!(store.state(&id).await.unwrap().size, 5);
    }
    store
        .append(&id, 5, stream_of(vec![b" world".to_vec()]))
        .await
        .unwrap();
    let info = store
        .finish(&id, &Digest::sha256_of(b"hello world"))
        .await
        .unwrap();
    assert_eq!(info.size, 11);
}

/// A wrong digest fails with `DigestMismatch` naming the real digest, ends the session and stores
/// nothing.
pub async fn wrong_digest_ends_session<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(3000, 204);
    let id = store.begin("proj/repo/img").await.unwrap().id;
    store
        .append(&id, 0, stream_of(vec![bytes.clone()]))
        .await
        .unwrap();
    let wrong = Digest::sha256_of(b"something else entirely");
    let err = expect_err(store.finish(&id, &wrong).await, "finish with wrong digest");
    match err {
        StorageError::DigestMismatch { expected, actual } => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, Digest::sha256_of(&bytes));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    let err = expect_err(store.state(&id).await, "state after mismatch");
    assert!(matches!(err, StorageError::NotFound), "{err:?}");
    assert!(store.stat(&wrong).await.unwrap().is_none());
    assert!(store
        .stat(&Digest::sha256_of(&bytes))
        .await
        .unwrap()
        .is_none());
}

/// Finishing with a SHA-512 digest verifies and stores under SHA-512.
pub async fn sha512_finish<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(5000, 205);
    let mut h = DigestHasher::new(Algorithm::Sha512);
    h.update(&bytes);
    let d = h.finish();
    let id = store.begin("proj/repo/img").await.unwrap().id;
    store
        .append(&id, 0, stream_of(vec![bytes[..100].to_vec()]))
        .await
        .unwrap();
    store
        .append(&id, 100, stream_of(vec![bytes[100..].to_vec()]))
        .await
        .unwrap();
    let info = store.finish(&id, &d).await.unwrap();
    assert_eq!(info.digest, d);
    assert_eq!(store.stat(&d).await.unwrap().unwrap().size, 5000);
    assert_eq!(read_all(store.open(&d, None).await.unwrap()).await, bytes);

    let id = store.begin("proj/repo/img").await.unwrap().id;
    store
        .append(&id, 0, stream_of(vec![b"x".to_vec()]))
        .await
        .unwrap();
    let err = expect_err(store.finish(&id, &d).await, "sha512 mismatch");
    assert!(
        matches!(&err, StorageError::DigestMismatch { actual, .. } if actual.algorithm() == Algorithm::Sha512),
        "{err:?}"
    );
}

/// Abort discards the session: it is unknown to every call afterwards.
pub async fn abort_discards_session<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(100, 206);
    let id = store.begin("proj/repo/img").await.unwrap().id;
    store
        .append(&id, 0, stream_of(vec![bytes.clone()]))
        .await
        .unwrap();
    store.abort(&id).await.unwrap();
    assert_not_found(store, &id).await;
    assert!(store
        .stat(&Digest::sha256_of(&bytes))
        .await
        .unwrap()
        .is_none());
}

/// Every call on a session that never existed is `NotFound`.
pub async fn unknown_session_is_not_found<S: BlobStore + UploadStore>(store: &S) {
    assert_not_found(store, &UploadId::random()).await;
}

/// A finished session cannot be finished again.
pub async fn finish_twice_is_not_found<S: BlobStore + UploadStore>(store: &S) {
    let id = store.begin("proj/repo/img").await.unwrap().id;
    store
        .append(&id, 0, stream_of(vec![b"twice".to_vec()]))
        .await
        .unwrap();
    let d = Digest::sha256_of(b"twice");
    store.finish(&id, &d).await.unwrap();
    assert_not_found(store, &id).await;
    assert!(store.stat(&d).await.unwrap().is_some());
}

/// When the body stream fails midway, the bytes received before the failure are kept and counted,
/// and the upload can resume from there.
pub async fn stream_error_keeps_received_bytes<S: BlobStore + UploadStore>(store: &S) {
    let id = store.begin("proj/repo/img").await.unwrap().id;
    let items: Vec<io::Result<Bytes>> = vec![
        Ok(Bytes::from_static(b"abc")),
        Ok(Bytes::from_static(b"def")),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
        Ok(Bytes::from_static(b"never read")),
    ];
    let err = expect_err(
        store
            .append(&id, 0, Box::pin(futures_util::stream::iter(items)))
            .await,
        "append of a failing stream",
    );
    assert!(matches!(err, StorageError::Io(_)), "{err:?}");
    assert_eq!(store.state(&id).await.unwrap().size, 6);
    store
        .append(&id, 6, stream_of(vec![b"ghi".to_vec()]))
        .await
        .unwrap();
    let info = store
        .finish(&id, &Digest::sha256_of(b"abcdefghi"))
        .await
        .unwrap();
    assert_eq!(info.size, 9);
}

/// Two interleaved sessions do not see each other's bytes.
pub async fn sessions_are_independent<S: BlobStore + UploadStore>(store: &S) {
    let a = store.begin("proj/repo/a").await.unwrap().id;
    let b = store.begin("proj/repo/b").await.unwrap().id;
    assert_ne!(a, b);
    store
        .append(&a, 0, stream_of(vec![b"a1".to_vec()]))
        .await
        .unwrap();
    store
        .append(&b, 0, stream_of(vec![b"b1-".to_vec()]))
        .await
        .unwrap();
    store
        .append(&a, 2, stream_of(vec![b"a2".to_vec()]))
        .await
        .unwrap();
    store
        .append(&b, 3, stream_of(vec![b"b2".to_vec()]))
        .await
        .unwrap();
    assert_eq!(store.state(&a).await.unwrap().owner, "proj/repo/a");
    assert_eq!(store.state(&b).await.unwrap().owner, "proj/repo/b");
    store.finish(&a, &Digest::sha256_of(b"a1a2")).await.unwrap();
    assert_eq!(store.state(&b).await.unwrap().size, 5);
    store
        .finish(&b, &Digest::sha256_of(b"b1-b2"))
        .await
        .unwrap();
}

/// `stale` lists sessions opened before the cut-off and nothing that ended.
pub async fn stale_lists_old_sessions<S: BlobStore + UploadStore>(store: &S) {
    let id = store.begin("proj/repo/img").await.unwrap().id;
    let future = SystemTime::now() + Duration::from_secs(3600);
    assert!(store.stale(future).await.unwrap().contains(&id));
    assert!(!store
        .stale(SystemTime::UNIX_EPOCH)
        .await
        .unwrap()
        .contains(&id));
    store.abort(&id).await.unwrap();
    assert!(!store.stale(future).await.unwrap().contains(&id));
}

/// Two appends racing at the same offset: one lands, the other is refused (`Conflict` while the
/// first runs, or `OffsetMismatch` once it is done), never both.
pub async fn concurrent_appends_one_wins<S: BlobStore + UploadStore>(store: &S) {
    let id = store.begin("proj/repo/img").await.unwrap().id;
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    let slow: ByteStream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    // `join3` polls in order: the first append starts (and waits for its body) before the second.
    let first = store.append(&id, 0, slow);
    let second = store.append(&id, 0, stream_of(vec![b"other".to_vec()]));
    let feed = async move {
        tx.send(Ok(Bytes::from_static(b"first"))).await.unwrap();
        drop(tx);
    };
    let (first, second, ()) = futures_util::future::join3(first, second, feed).await;
    assert_eq!(first.unwrap().size, 5);
    let err = expect_err(second, "second concurrent append");
    assert!(
        matches!(
            err,
            StorageError::Conflict(_)
                | StorageError::OffsetMismatch {
                    expected: 0,
                    actual: 5
                }
        ),
        "{err:?}"
    );
    store
        .finish(&id, &Digest::sha256_of(b"first"))
        .await
        .unwrap();
}

/// An append whose request future is dropped mid-body (client gone) leaves the session usable:
/// sizes stay consistent with the bytes and later appends and finish work.
pub async fn dropped_append_does_not_wedge_session<S: BlobStore + UploadStore>(store: &S) {
    let id = store.begin("proj/repo/img").await.unwrap().id;
    let endless: ByteStream = Box::pin(
        futures_util::stream::iter(vec![Ok(Bytes::from_static(b"aaaa"))])
            .chain(futures_util::stream::pending()),
    );
    let mut append = store.append(&id, 0, endless);
    // Poll once: the first chunk is taken, then the body stalls; then the client "disconnects".
    std::future::poll_fn(|cx| {
        let _ = append.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
    drop(append);
    // The dropped append may still be completing its last write; retry from the reported size.
    let mut landed = None;
    for _ in 0..3 {
        let size = store.state(&id).await.unwrap().size;
        match store
            .append(&id, size, stream_of(vec![b"bbbb".to_vec()]))
            .await
        {
            Ok(state) => {
                landed = Some(state.size);
                break;
            }
            Err(StorageError::OffsetMismatch { .. }) => continue,
            Err(e) => panic!("append after a dropped append: {e:?}"),
        }
    }
    let expected: &[u8] = match landed {
        Some(4) => b"bbbb",
        Some(8) => b"aaaabbbb",
        other => panic!("unexpected size after a dropped append: {other:?}"),
    };
    store
        .finish(&id, &Digest::sha256_of(expected))
        .await
        .unwrap();
}

async fn assert_not_found<S: UploadStore>(store: &S, id: &UploadId) {
    let checks = [
        ("state", store.state(id).await.err()),
        (
            "append",
            store
                .append(id, 0, stream_of(vec![b"x".to_vec()]))
                .await
                .err(),
        ),
        (
            "finish",
            store.finish(id, &Digest::sha256_of(b"x")).await.err(),
        ),
        ("abort", store.abort(id).await.err()),
    ];
    for (call, err) in checks {
        assert!(
            matches!(err, Some(StorageError::NotFound)),
            "{call}: {err:?}"
        );
    }
}
