use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use kcr_core::store::{BlobStore, StorageError, UploadId, UploadStore};
use kcr_core::testing::conformance::{content, read_all, stream_of};
use kcr_core::{Algorithm, Digest, DigestHasher};
use kcr_storage::FsBlobStore;

/// Files an earlier crash or another tool may leave behind; the store must ignore them.
fn scatter_junk(root: &Path) {
    fs::write(root.join("tmp").join("123-0-99.tmp"), b"half a state file").unwrap();
    fs::create_dir_all(root.join("tmp").join("junk-dir")).unwrap();
    fs::create_dir_all(root.join("uploads").join("not-an-upload-id")).unwrap();
    fs::write(root.join("uploads").join("README"), b"junk").unwrap();
    let fanout = root.join("blobs").join("sha256").join("zz");
    fs::create_dir_all(&fanout).unwrap();
    fs::write(fanout.join("not-a-digest"), b"junk").unwrap();
    fs::write(root.join("blobs").join("sha256").join("stray"), b"junk").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_upload_survives_two_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(2 * 1024 * 1024 + 5, 7);
    let cuts = [0, 1000, 1024 * 1024, bytes.len()];

    let store = FsBlobStore::open(dir.path()).unwrap();
    let begun = store.begin("proj/repo/img").await.unwrap();
    let id = begun.id.clone();
    store
        .append(&id, 0, stream_of(vec![bytes[..cuts[1]].to_vec()]))
        .await
        .unwrap();
    drop(store);

    scatter_junk(dir.path());

    let store = FsBlobStore::open(dir.path()).unwrap();
    let state = store.state(&id).await.unwrap();
    assert_eq!(state.size, cuts[1] as u64);
    assert_eq!(state.owner, "proj/repo/img");
    assert_eq!(state.started, begun.started);
    // A wrong offset is still refused after the restart, and appends nothing.
    let err = store
        .append(&id, 0, stream_of(vec![b"x".to_vec()]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::OffsetMismatch {
                expected: 0,
                actual: 1000
            }
        ),
        "{err:?}"
    );
    let chunks = bytes[cuts[1]..cuts[2]]
        .chunks(64 * 1024)
        .map(<[u8]>::to_vec)
        .collect();
    let state = store
        .append(&id, cuts[1] as u64, stream_of(chunks))
        .await
        .unwrap();
    assert_eq!(state.size, cuts[2] as u64);
    drop(store);

    let store = FsBlobStore::open(dir.path()).unwrap();
    let state = store
        .append(
            &id,
            cuts[2] as u64,
            stream_of(vec![bytes[cuts[2]..].to_vec()]),
        )
        .await
        .unwrap();
    assert_eq!(state.size, bytes.len() as u64);
    let digest = Digest::sha256_of(&bytes);
    let info = store.finish(&id, &digest).await.unwrap();
    assert_eq!(info.digest, digest);
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(
        read_all(store.open(&digest, None).await.unwrap()).await,
        bytes
    );

    // The junk is still there, untouched, and none of it shows up as a blob or a session.
    assert!(dir.path().join("tmp").join("123-0-99.tmp").exists());
    let inventory = store.inventory().await.unwrap();
    assert_eq!(inventory.len(), 1);
    assert_eq!(inventory[0].digest, digest);
    let far_future = SystemTime::now() + Duration::from_secs(3600);
    assert!(store.stale(far_future).await.unwrap().is_empty());
    assert!(!dir.path().join("uploads").join(id.as_str()).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_right_after_restart_rehashes_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(300_000, 8);
    let store = FsBlobStore::open(dir.path()).unwrap();
    let a = store.begin("p/r/i").await.unwrap().id;
    let b = store.begin("p/r/i").await.unwrap().id;
    let c = store.begin("p/r/i").await.unwrap().id;
    for id in [&a, &b, &c] {
        store
            .append(id, 0, stream_of(vec![bytes.clone()]))
            .await
            .unwrap();
    }
    drop(store);

    let store = FsBlobStore::open(dir.path()).unwrap();
    // sha256 from a rebuilt hasher.
    let info = store.finish(&a, &Digest::sha256_of(&bytes)).await.unwrap();
    assert_eq!(info.size, bytes.len() as u64);
    // sha512 by re-reading.
    let mut h = DigestHasher::new(Algorithm::Sha512);
    h.update(&bytes);
    let sha512 = h.finish();
    assert_eq!(store.finish(&b, &sha512).await.unwrap().digest, sha512);
    // A wrong digest after a restart still names the real one and ends the session.
    let err = store
        .finish(&c, &Digest::sha256_of(b"nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::DigestMismatch { actual, .. } if *actual == info.digest),
        "{err:?}"
    );
    assert!(matches!(store.state(&c).await, Err(StorageError::NotFound)));
    assert!(!dir.path().join("uploads").join(c.as_str()).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_without_state_are_stale_and_can_be_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).unwrap();
    // A crash between creating the directory and writing its state.
    let orphan = UploadId::random();
    fs::create_dir_all(dir.path().join("uploads").join(orphan.as_str())).unwrap();
    assert!(matches!(
        store.state(&orphan).await,
        Err(StorageError::NotFound)
    ));
    let far_future = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(store.stale(far_future).await.unwrap(), vec![orphan.clone()]);
    store.abort(&orphan).await.unwrap();
    assert!(store.stale(far_future).await.unwrap().is_empty());
    assert!(matches!(
        store.abort(&orphan).await,
        Err(StorageError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_session_stays_gone_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).unwrap();
    let id = store.begin("p/r/i").await.unwrap().id;
    store
        .append(&id, 0, stream_of(vec![b"abc".to_vec()]))
        .await
        .unwrap();
    store.abort(&id).await.unwrap();
    drop(store);
    let store = FsBlobStore::open(dir.path()).unwrap();
    assert!(matches!(
        store.state(&id).await,
        Err(StorageError::NotFound)
    ));
    assert!(store.inventory().await.unwrap().is_empty());
    assert!(store
        .stat(&Digest::sha256_of(b"abc"))
        .await
        .unwrap()
        .is_none());
}
