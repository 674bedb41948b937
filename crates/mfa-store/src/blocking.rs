//! A blocking [`Store`] over any [`AsyncStore`] (and a blocking [`AuditSink`] over any
//! [`AsyncAuditSink`]), driven on a tokio runtime.
//!
//! The network backends ([`PostgresStore`](crate::postgres::PostgresStore),
//! [`RedisStore`](crate::redis::RedisStore)) are async. [`Blocking`] makes one usable where a
//! blocking [`Store`] is wanted (the CLI, a synchronous web framework, the conformance suite), from
//! any number of threads at once: each call is spawned as a task on the runtime and the calling
//! thread parks until it finishes. The runtime is either owned ([`Blocking::new`]: two worker
//! threads of its own) or someone else's ([`Blocking::with_handle`]).
//!
//! Inside async code, use the [`AsyncStore`] itself: a call through [`Blocking`] parks the calling
//! thread, which on a runtime worker stalls every task on it (and on a current-thread runtime,
//! calling from its own thread never finishes).

use core::fmt;
use core::future::Future;
use std::sync::Arc;

use mfa_core::{
    AsyncAuditSink, AsyncStore, AuditEvent, AuditPage, AuditSink, NewRecord, RecentQuery,
    RecordKey, Store, StoreError, StoredRecord, SwapOutcome, UnixTime, Version,
};
use tokio::runtime::{Builder, Handle, Runtime};
use zeroize::Zeroizing;

/// A blocking [`Store`] over the async store `S`; see the [module docs](self).
///
/// ```no_run
/// # #[cfg(feature = "postgres")] {
/// use mfa_core::{RecordKey, insert_new, load};
/// use mfa_store::blocking::Blocking;
/// use mfa_store::postgres::PostgresStore;
///
/// let store = Blocking::open(PostgresStore::connect("postgres://mfa@db.internal/mfa"))?;
/// let key = RecordKey::new("totp", "alice", "phone");
/// insert_new(&store, &key, &"state")?;
/// assert_eq!(load::<_, String>(&store, &key)?.as_deref(), Some("state"));
/// # }
/// # Ok::<(), mfa_core::StoreError>(())
/// ```
pub struct Blocking<S> {
    store: Arc<S>,
    handle: Handle,
    /// Kept only to keep an owned runtime alive (and shut it down on drop).
    owned_runtime: Option<Arc<OwnedRuntime>>,
}

impl<S> Clone for Blocking<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            handle: self.handle.clone(),
            owned_runtime: self.owned_runtime.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Blocking<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking")
            .field("store", &self.store)
            .field("owns_runtime", &self.owned_runtime.is_some())
            .finish()
    }
}

impl<S: Send + Sync + 'static> Blocking<S> {
    /// Wraps `store` with a runtime of its own (two worker threads, I/O and timers enabled).
    /// Build the store inside that runtime if it connects eagerly: see [`open`](Self::open).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the runtime cannot be started (no threads left).
    pub fn new(store: S) -> Result<Self, StoreError> {
        let runtime = owned_runtime()?;
        Ok(Self {
            store: Arc::new(store),
            handle: runtime.handle().clone(),
            owned_runtime: Some(Arc::new(OwnedRuntime(Some(runtime)))),
        })
    }

    /// Starts a runtime of its own (as [`new`](Self::new)), runs `connect` on it (a connection
    /// belongs to the runtime that opened it) and wraps the store it yields.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the runtime cannot be started, or `connect`'s error.
    pub fn open<F>(connect: F) -> Result<Self, StoreError>
    where
        F: Future<Output = Result<S, StoreError>> + Send + 'static,
        S: Send,
    {
        let runtime = owned_runtime()?;
        let store = run(runtime.handle(), connect)??;
        Ok(Self {
            store: Arc::new(store),
            handle: runtime.handle().clone(),
            owned_runtime: Some(Arc::new(OwnedRuntime(Some(runtime)))),
        })
    }

    /// Wraps `store`, whose calls then run on the runtime behind `handle` (a multi-thread runtime:
    /// the service's own, typically). The runtime must outlive this value's use: once it is shut
    /// down, every call fails with [`StoreError::Unavailable`].
    #[must_use]
    pub fn with_handle(store: S, handle: Handle) -> Self {
        Self {
            store: Arc::new(store),
            handle,
            owned_runtime: None,
        }
    }

    /// Another async value (an audit sink beside the store, say) driven on the same runtime,
    /// which it keeps alive too.
    #[must_use]
    pub fn wrap<T>(&self, other: T) -> Blocking<T> {
        Blocking {
            store: Arc::new(other),
            handle: self.handle.clone(),
            owned_runtime: self.owned_runtime.clone(),
        }
    }

    /// The async value inside, for the calls [`Store`] does not have.
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.store
    }

    /// Runs `work` on the runtime with the async store and waits for it: how to call the async
    /// store's own methods (a purge, a migration) from blocking code.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the runtime is shut down or the task panicked; otherwise
    /// `work`'s result.
    pub fn block_on<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<S>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        run(&self.handle, work(Arc::clone(&self.store)))?
    }
}

impl<S: AsyncStore + 'static> Store for Blocking<S> {
    fn load(&self, key: &RecordKey) -> Result<Option<StoredRecord>, StoreError> {
        let key = key.clone();
        self.block_on(|store| async move { store.load(&key).await })
    }

    fn compare_and_swap(
        &self,
        key: &RecordKey,
        expected: Option<Version>,
        new: Option<NewRecord<'_>>,
    ) -> Result<SwapOutcome, StoreError> {
        let key = key.clone();
        // The task may outlive this call's borrows, so it gets its own copy (wiped when done).
        let new = new.map(|new| (Zeroizing::new(new.value.to_vec()), new.expires_at));
        self.block_on(|store| async move {
            let new = new
                .as_ref()
                .map(|(value, expires_at)| NewRecord::new(value).with_expiry(*expires_at));
            store.compare_and_swap(&key, expected, new).await
        })
    }

    fn list(
        &self,
        kind: &str,
        account: &str,
    ) -> Result<Vec<(RecordKey, StoredRecord)>, StoreError> {
        let (kind, account) = (kind.to_owned(), account.to_owned());
        self.block_on(|store| async move { store.list(&kind, &account).await })
    }

    fn find_by_id(&self, kind: &str, id: &str) -> Result<Vec<RecordKey>, StoreError> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.block_on(|store| async move { store.find_by_id(&kind, &id).await })
    }

    fn purge_expired(&self) -> Result<u64, StoreError> {
        self.block_on(|store| async move { store.purge_expired().await })
    }
}

impl<S: AsyncAuditSink + 'static> AuditSink for Blocking<S> {
    fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.block_on(|sink| async move { sink.record(&event).await })
    }

    fn recent(&self, account: &str, query: &RecentQuery) -> Result<AuditPage, StoreError> {
        let (account, query) = (account.to_owned(), *query);
        self.block_on(|sink| async move { sink.recent(&account, &query).await })
    }

    fn purge_before(&self, cutoff: UnixTime) -> Result<u64, StoreError> {
        self.block_on(|sink| async move { sink.purge_before(cutoff).await })
    }
}

/// A runtime this crate started, shut down without waiting when the last [`Blocking`] using it
/// goes: dropping a tokio runtime the ordinary way panics inside async code, this never does.
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn owned_runtime() -> Result<Runtime, StoreError> {
    Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mfa-store")
        .enable_all()
        .build()
        .map_err(|error| StoreError::Unavailable(Box::new(error)))
}

/// Spawns `future` on the runtime and parks this thread until it is done. Never panics, whatever
/// thread it is called from (tokio's own `block_on` panics inside a runtime).
fn run<T: Send + 'static>(
    handle: &Handle,
    future: impl Future<Output = T> + Send + 'static,
) -> Result<T, StoreError> {
    let task = handle.spawn(future);
    mfa_core::block_on(task).map_err(|error| {
        let reason = if error.is_panic() {
            "the store task panicked"
        } else {
            "the store's runtime was shut down"
        };
        StoreError::Unavailable(reason.into())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::thread;

    use mfa_core::{MemoryStore, conformance};

    use super::*;

    #[test]
    fn passes_the_core_conformance_checks_over_a_memory_store() {
        let store = Blocking::new(MemoryStore::new()).unwrap();
        conformance::run_all(&store, "blocking");
    }

    #[test]
    fn passes_the_audit_sink_checks_over_a_memory_sink() {
        let store = Blocking::new(MemoryStore::new()).unwrap();
        let log = store.wrap(mfa_core::MemoryAuditSink::new());
        conformance::audit_sink_checks(&log, "blocking", UnixTime::from_secs(1_700_000_000));
    }

    #[test]
    fn dropping_the_last_adapter_inside_async_code_does_not_panic() {
        let store = Blocking::new(MemoryStore::new()).unwrap();
        let outer = owned_runtime().unwrap();
        outer.block_on(async move { drop(store) });
    }

    #[test]
    fn many_threads_share_one_adapter() {
        let store = Blocking::new(MemoryStore::new()).unwrap();
        let threads = 8;
        let barrier = Barrier::new(threads);
        thread::scope(|scope| {
            for t in 0..threads {
                let (store, barrier) = (&store, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    for i in 0..50 {
                        let key = RecordKey::new("k", format!("t{t}"), format!("{i}"));
                        mfa_core::insert_new(store, &key, &i).unwrap();
                    }
                });
            }
        });
        for t in 0..threads {
            assert_eq!(store.list("k", &format!("t{t}")).unwrap().len(), 50);
        }
    }

    #[test]
    fn works_from_inside_a_runtime_and_after_its_shutdown_fails_cleanly() {
        let runtime = owned_runtime().unwrap();
        let store = Blocking::with_handle(MemoryStore::new(), runtime.handle().clone());
        let key = RecordKey::new("k", "a", "1");
        // From a blocking task of the same runtime: allowed, no panic.
        let inside = store.clone();
        let inner_key = key.clone();
        let loaded = runtime
            .block_on(async move {
                tokio::task::spawn_blocking(move || {
                    mfa_core::put(&inside, &inner_key, &1_u8)?;
                    mfa_core::load::<_, u8>(&inside, &inner_key)
                })
                .await
            })
            .unwrap()
            .unwrap();
        assert_eq!(loaded, Some(1));
        runtime.shutdown_background();
        assert!(matches!(
            Store::load(&store, &key),
            Err(StoreError::Unavailable(_))
        ));
    }
}
