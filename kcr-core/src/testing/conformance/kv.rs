//! The [`KvEngine`] suite: committed reads, transactions (own writes visible, aborts discard,
//! storage errors surface, concurrent increments serialise), ordered prefix scans with `after`
//! and `limit`, and `sync`. Each case works under its own key prefix.

use crate::error::CoreError;
use crate::store::kv::{KvEngine, KvTxn, TxnError};
use crate::store::StorageError;

/// Runs every case on `engine`.
pub async fn run_all<E: KvEngine>(engine: &E) {
    put_get_delete(engine);
    reads_see_own_writes(engine);
    abort_discards_writes(engine);
    storage_error_in_body_surfaces(engine);
    scan_prefix_after_limit(engine);
    concurrent_increments_serialise(engine);
    sync_succeeds(engine).await;
}

fn put(engine: &impl KvEngine, key: &[u8], value: &[u8]) {
    engine.transact(|t| t.put(key, value)).unwrap();
}

/// Committed puts are visible to `get`; a delete removes the key; absent keys read `None`.
pub fn put_get_delete<E: KvEngine>(engine: &E) {
    assert_eq!(engine.get(b"kv1/absent").unwrap(), None);
    put(engine, b"kv1/a", b"one");
    assert_eq!(engine.get(b"kv1/a").unwrap().as_deref(), Some(&b"one"[..]));
    put(engine, b"kv1/a", b"two");
    assert_eq!(engine.get(b"kv1/a").unwrap().as_deref(), Some(&b"two"[..]));
    engine.transact(|t| t.delete(b"kv1/a")).unwrap();
    assert_eq!(engine.get(b"kv1/a").unwrap(), None);
    // Deleting an absent key is fine.
    engine.transact(|t| t.delete(b"kv1/a")).unwrap();
    // Empty values are values.
    put(engine, b"kv1/empty", b"");
    assert_eq!(engine.get(b"kv1/empty").unwrap(), Some(Vec::new()));
}

/// Inside a transaction, reads see the transaction's own puts and deletes; the body's value is
/// returned.
pub fn reads_see_own_writes<E: KvEngine>(engine: &E) {
    put(engine, b"kv2/old", b"old");
    let seen = engine
        .transact(|t| {
            t.put(b"kv2/new", b"new")?;
            let new = t.get(b"kv2/new")?;
            t.delete(b"kv2/old")?;
            let old = t.get(b"kv2/old")?;
            t.put(b"kv2/new", b"newer")?;
            let newer = t.get(b"kv2/new")?;
            Ok((new, old, newer))
        })
        .unwrap();
    assert_eq!(seen.0.as_deref(), Some(&b"new"[..]));
    assert_eq!(seen.1, None);
    assert_eq!(seen.2.as_deref(), Some(&b"newer"[..]));
    assert_eq!(
        engine.get(b"kv2/new").unwrap().as_deref(),
        Some(&b"newer"[..])
    );
    assert_eq!(engine.get(b"kv2/old").unwrap(), None);
}

/// An `Abort` returns its error as is and none of the body's writes.
pub fn abort_discards_writes<E: KvEngine>(engine: &E) {
    put(engine, b"kv3/kept", b"before");
    let result: Result<(), CoreError> = engine.transact(|t| {
        t.put(b"kv3/new", b"x")?;
        t.put(b"kv3/kept", b"after")?;
        t.delete(b"kv3/kept")?;
        Err(TxnError::Abort(CoreError::Conflict(
            "refused by the suite".into(),
        )))
    });
    assert!(
        matches!(&result, Err(CoreError::Conflict(m)) if m == "refused by the suite"),
        "{result:?}"
    );
    assert_eq!(engine.get(b"kv3/new").unwrap(), None);
    assert_eq!(
        engine.get(b"kv3/kept").unwrap().as_deref(),
        Some(&b"before"[..])
    );
}

/// A `Storage` error from the body surfaces as `CoreError::Storage` and discards the writes.
pub fn storage_error_in_body_surfaces<E: KvEngine>(engine: &E) {
    let result: Result<(), CoreError> = engine.transact(|t| {
        t.put(b"kv4/x", b"x")?;
        Err(TxnError::Storage(StorageError::Corrupt {
            what: "suite".into(),
        }))
    });
    assert!(
        matches!(&result, Err(CoreError::Storage(StorageError::Corrupt { what })) if what == "suite"),
        "{result:?}"
    );
    assert_eq!(engine.get(b"kv4/x").unwrap(), None);
}

/// Scans return keys with the prefix in byte order, strictly after `after`, at most `limit`.
pub fn scan_prefix_after_limit<E: KvEngine>(engine: &E) {
    for k in [
        &b"kv5/p/b"[..],
        b"kv5/p/a",
        b"kv5/p/c",
        b"kv5/p/\xff",
        b"kv5/p",
        b"kv5/q/a",
        b"kv5/o/z",
    ] {
        put(engine, k, &[k, b"=v"].concat());
    }
    let keys = |after: Option<&[u8]>, limit: usize| -> Vec<Vec<u8>> {
        let pairs = engine.scan(b"kv5/p/", after, limit).unwrap();
        for (k, v) in &pairs {
            assert_eq!(v, &[k.as_slice(), b"=v"].concat(), "value of {k:?}");
        }
        pairs.into_iter().map(|(k, _)| k).collect()
    };
    let all: Vec<Vec<u8>> = [&b"kv5/p/a"[..], b"kv5/p/b", b"kv5/p/c", b"kv5/p/\xff"]
        .iter()
        .map(|k| k.to_vec())
        .collect();
    assert_eq!(keys(None, 100), all);
    assert_eq!(keys(None, 2), all[..2]);
    assert_eq!(keys(None, 0), Vec::<Vec<u8>>::new());
    assert_eq!(keys(Some(b"kv5/p/a"), 100), all[1..]);
    assert_eq!(keys(Some(b"kv5/p/a"), 1), all[1..2]);
    assert_eq!(keys(Some(b"kv5/p/bb"), 100), all[2..]);
    assert_eq!(keys(Some(b"kv5/p/\xff"), 100), Vec::<Vec<u8>>::new());
    // `after` before the prefix starts at the prefix; after it, nothing is left.
    assert_eq!(keys(Some(b"kv5/a"), 100), all);
    assert_eq!(keys(Some(b"kv5/z"), 100), Vec::<Vec<u8>>::new());
    // Paging with the last key seen walks everything exactly once.
    let mut paged = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = keys(after.as_deref(), 1);
        let Some(last) = page.last().cloned() else {
            break;
        };
        paged.extend(page);
        after = Some(last);
    }
    assert_eq!(paged, all);
    assert!(engine.scan(b"kv5/none/", None, 10).unwrap().is_empty());
}

/// Read-modify-write transactions from several threads lose no update (serialisable).
pub fn concurrent_increments_serialise<E: KvEngine>(engine: &E) {
    const THREADS: u64 = 4;
    const EACH: u64 = 50;
    let increment = |t: &dyn KvTxn| -> Result<(), TxnError> {
        let n = match t.get(b"kv6/counter")? {
            Some(v) => u64::from_be_bytes(v.as_slice().try_into().expect("8-byte counter")),
            None => 0,
        };
        t.put(b"kv6/counter", &(n + 1).to_be_bytes())
    };
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    engine.transact(increment).unwrap();
                }
            });
        }
    });
    let v = engine.get(b"kv6/counter").unwrap().unwrap();
    assert_eq!(
        u64::from_be_bytes(v.as_slice().try_into().unwrap()),
        THREADS * EACH
    );
}

/// `sync` succeeds after writes.
pub async fn sync_succeeds<E: KvEngine>(engine: &E) {
    put(engine, b"kv7/durable", b"yes");
    engine.sync().await.unwrap();
    assert_eq!(
        engine.get(b"kv7/durable").unwrap().as_deref(),
        Some(&b"yes"[..])
    );
}
