//! The [`BlobStore`] suite: stat, whole and ranged reads, delete, inventory, the empty blob and
//! absent blobs. Blobs are created through the store's own [`UploadStore`] (the seam has no `put`).

use crate::digest::Digest;
use crate::store::{BlobStore, ByteRange, StorageError, UploadStore};

use super::{content, expect_err, push, read_all};

/// Runs every case on `store`.
pub async fn run_all<S: BlobStore + UploadStore>(store: &S) {
    stat_reports_size_and_read_returns_content(store).await;
    range_reads(store).await;
    empty_blob(store).await;
    absent_blob(store).await;
    delete_removes_blob(store).await;
    inventory_lists_blobs(store).await;
    same_content_twice_is_one_blob(store).await;
}

/// A pushed blob can be stated and read back whole.
pub async fn stat_reports_size_and_read_returns_content<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(100_003, 101);
    let info = push(store, &bytes).await;
    assert_eq!(info.digest, Digest::sha256_of(&bytes));
    assert_eq!(info.size, bytes.len() as u64);
    let stat = store
        .stat(&info.digest)
        .await
        .unwrap()
        .expect("blob is stored");
    assert_eq!(stat.digest, info.digest);
    assert_eq!(stat.size, bytes.len() as u64);
    let read = read_all(store.open(&info.digest, None).await.unwrap()).await;
    assert!(read == bytes, "read back differs from what was pushed");
}

/// Inclusive ranges are served, clamped at the end; ranges starting past the end, or ending
/// before they start, are `RangeNotSatisfiable`.
pub async fn range_reads<S: BlobStore + UploadStore>(store: &S) {
    let bytes = b"0123456789 range suite".to_vec();
    let d = push(store, &bytes).await.digest;
    let last = bytes.len() as u64 - 1;
    let cases: [(u64, u64, &[u8]); 5] = [
        (0, 0, b"0"),
        (2, 5, b"2345"),
        (11, 1000, b"range suite"),
        (last, last, b"e"),
        (0, last, &bytes),
    ];
    for (start, end, want) in cases {
        let reader = store
            .open(&d, Some(ByteRange { start, end }))
            .await
            .unwrap();
        assert_eq!(read_all(reader).await, want, "range {start}-{end}");
    }
    for (start, end) in [(last + 1, last + 5), (1000, 2000), (5, 3)] {
        let err = expect_err(
            store.open(&d, Some(ByteRange { start, end })).await,
            "bad range",
        );
        assert!(
            matches!(err, StorageError::RangeNotSatisfiable),
            "range {start}-{end}: {err:?}"
        );
    }
}

/// The empty blob is a blob: stat says 0 bytes, a whole read is empty, any range is unsatisfiable.
pub async fn empty_blob<S: BlobStore + UploadStore>(store: &S) {
    let info = push(store, b"").await;
    assert_eq!(info.digest, Digest::sha256_of(b""));
    assert_eq!(info.size, 0);
    assert_eq!(store.stat(&info.digest).await.unwrap().unwrap().size, 0);
    assert!(read_all(store.open(&info.digest, None).await.unwrap())
        .await
        .is_empty());
    let err = expect_err(
        store
            .open(&info.digest, Some(ByteRange { start: 0, end: 0 }))
            .await,
        "range of empty blob",
    );
    assert!(matches!(err, StorageError::RangeNotSatisfiable), "{err:?}");
}

/// An absent blob: no stat, `NotFound` to read (with or without a range), nothing to delete.
pub async fn absent_blob<S: BlobStore + UploadStore>(store: &S) {
    let absent = Digest::sha256_of(b"never stored by the blob suite");
    assert!(store.stat(&absent).await.unwrap().is_none());
    let err = expect_err(store.open(&absent, None).await, "open absent");
    assert!(matches!(err, StorageError::NotFound), "{err:?}");
    let err = expect_err(
        store
            .open(&absent, Some(ByteRange { start: 0, end: 1 }))
            .await,
        "ranged open absent",
    );
    assert!(matches!(err, StorageError::NotFound), "{err:?}");
    assert!(!store.delete(&absent).await.unwrap());
}

/// Deleting a blob makes it absent; deleting again reports it was gone; it can be pushed again.
pub async fn delete_removes_blob<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(4096, 102);
    let d = push(store, &bytes).await.digest;
    assert!(store.delete(&d).await.unwrap());
    assert!(store.stat(&d).await.unwrap().is_none());
    let err = expect_err(store.open(&d, None).await, "open deleted");
    assert!(matches!(err, StorageError::NotFound), "{err:?}");
    assert!(!store.delete(&d).await.unwrap());
    assert!(!store
        .inventory()
        .await
        .unwrap()
        .iter()
        .any(|b| b.digest == d));
    let again = push(store, &bytes).await;
    assert_eq!(again.digest, d);
    assert_eq!(read_all(store.open(&d, None).await.unwrap()).await, bytes);
}

/// The inventory lists every stored blob with its size, and forgets deleted ones.
pub async fn inventory_lists_blobs<S: BlobStore + UploadStore>(store: &S) {
    let a = content(10, 103);
    let b = content(20_000, 104);
    let da = push(store, &a).await.digest;
    let db = push(store, &b).await.digest;
    let inventory = store.inventory().await.unwrap();
    let size_of = |d: &Digest| inventory.iter().find(|i| &i.digest == d).map(|i| i.size);
    assert_eq!(size_of(&da), Some(10));
    assert_eq!(size_of(&db), Some(20_000));
    assert!(store.delete(&da).await.unwrap());
    let inventory = store.inventory().await.unwrap();
    assert!(!inventory.iter().any(|i| i.digest == da));
    assert!(inventory.iter().any(|i| i.digest == db));
}

/// Uploading content that is already stored succeeds and leaves one blob.
pub async fn same_content_twice_is_one_blob<S: BlobStore + UploadStore>(store: &S) {
    let bytes = content(777, 105);
    let first = push(store, &bytes).await;
    let second = push(store, &bytes).await;
    assert_eq!(first.digest, second.digest);
    assert_eq!(second.size, 777);
    let count = store
        .inventory()
        .await
        .unwrap()
        .iter()
        .filter(|i| i.digest == first.digest)
        .count();
    assert_eq!(count, 1);
    assert_eq!(
        read_all(store.open(&first.digest, None).await.unwrap()).await,
        bytes
    );
}
