use kcr_core::testing::conformance::{blob, kv, upload};
use kcr_storage::{FsBlobStore, SledKvEngine};

fn fs_store() -> (tempfile::TempDir, FsBlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path().join("blobs")).unwrap();
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_blob_store_passes_blob_suite() {
    let (_dir, store) = fs_store();
    blob::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_blob_store_passes_upload_suite() {
    let (_dir, store) = fs_store();
    upload::run_all(&store).await;
}

#[tokio::test]
async fn fs_blob_store_passes_suites_on_current_thread_runtime() {
    let (_dir, store) = fs_store();
    upload::run_all(&store).await;
    blob::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_temporary_passes_kv_suite() {
    kv::run_all(&SledKvEngine::temporary().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_on_disk_passes_kv_suite_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let engine = SledKvEngine::open(dir.path()).unwrap();
    kv::run_all(&engine).await;
    drop(engine);
    let engine = SledKvEngine::open(dir.path()).unwrap();
    use kcr_core::store::kv::KvEngine;
    assert_eq!(
        engine.get(b"kv7/durable").unwrap().as_deref(),
        Some(&b"yes"[..])
    );
}
