//! Fresh reads shared by concurrent callers: each caller gets the result of a read that
//! *started after it asked*, and callers who ask while such a read is running share the next
//! one. So a caller sees everything committed before it asked (what a read of its own would
//! see), while a burst of callers costs one read per round trip instead of one each.
//!
//! Used for the tenant's version before serving a cached list page ([`crate::service::list`]):
//! under 32 concurrent list requests of one tenant the version is read a few times per round
//! trip, not 32.
//!
//! How: per key, callers put a one-shot sender in the key's waiting list. The first caller of
//! an idle key starts a task that, while the list is not empty, takes the whole list, *then*
//! starts a read, and answers everyone taken with its result. Everyone in a batch joined it
//! before the batch was taken, so before its read started. The task is not tied to any
//! request, so a caller that goes away (a timeout, a closed connection) cancels nothing for
//! the others. If the task ends without answering (a panic in the read), the key is released
//! and the callers it held read for themselves.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

type Waiters<V, E> = Vec<oneshot::Sender<Result<V, E>>>;

/// Reads by key, shared as described in the module documentation.
pub struct FreshReads<K, V, E> {
    waiting: Arc<Mutex<HashMap<K, Waiters<V, E>>>>,
}

impl<K, V, E> std::fmt::Debug for FreshReads<K, V, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshReads").finish_non_exhaustive()
    }
}

impl<K, V, E> Default for FreshReads<K, V, E> {
    fn default() -> Self {
        Self {
            waiting: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K, V, E> FreshReads<K, V, E>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + 'static,
    E: Clone + Send + 'static,
{
    /// The result of `read()` started after this call began, possibly shared with other
    /// callers of the same `key`. `read` must read the same thing for the same key.
    ///
    /// # Errors
    /// The read's error (shared, hence `Clone`).
    pub async fn read<F, Fut>(&self, key: K, read: F) -> Result<V, E>
    where
        F: Fn() -> Fut + Clone + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let idle = {
            let mut waiting = lock(&self.waiting);
            if let Some(list) = waiting.get_mut(&key) {
                // A task serves this key: it takes this caller with its next batch.
                list.push(tx);
                false
            } else {
                waiting.insert(key.clone(), vec![tx]);
                true
            }
        };
        if idle {
            let guard = Release {
                waiting: Arc::clone(&self.waiting),
                key,
                done: false,
            };
            tokio::spawn(serve(guard, read.clone()));
        }
        match rx.await {
            Ok(result) => result,
            // The task ended without answering (its read panicked): read alone.
            Err(_) => read().await,
        }
    }
}

/// Serves one key until nobody waits: take everyone waiting, read, answer them.
async fn serve<K, V, E, F, Fut>(mut guard: Release<K, V, E>, read: F)
where
    K: Hash + Eq,
    V: Clone,
    E: Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<V, E>>,
{
    loop {
        let batch = {
            let mut waiting = lock(&guard.waiting);
            match waiting.get_mut(&guard.key) {
                Some(list) if !list.is_empty() => std::mem::take(list),
                _ => {
                    waiting.remove(&guard.key);
                    guard.done = true;
                    return;
                }
            }
        };
        // Started after every caller in `batch` asked.
        let result = read().await;
        for tx in batch {
            // A caller that went away dropped its receiver: nothing to do.
            let _ = tx.send(result.clone());
        }
    }
}

/// Removes the key's entry when the serving task ends without doing so itself: after a
/// panic in the read, this drops the waiting senders (their callers then read alone) and
/// frees the key for the next caller.
struct Release<K: Hash + Eq, V, E> {
    waiting: Arc<Mutex<HashMap<K, Waiters<V, E>>>>,
    key: K,
    /// Set when the task removed its entry itself (a later caller may have made a new one).
    done: bool,
}

impl<K: Hash + Eq, V, E> Drop for Release<K, V, E> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.waiting).remove(&self.key);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change under the lock is one map or vector call: a panic elsewhere cannot leave
    // it half done, so a poisoned lock is taken as is.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A "database": a value, and a count of the reads made of it. A read takes the value
    /// when it starts and answers after `delay`.
    #[derive(Clone, Default)]
    struct Source {
        value: Arc<AtomicI64>,
        reads: Arc<AtomicUsize>,
    }

    impl Source {
        fn reader(
            &self,
            delay: Duration,
        ) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<i64, String>> + Send>>
        + Clone
        + Send
        + 'static {
            let source = self.clone();
            move || {
                let source = source.clone();
                Box::pin(async move {
                    source.reads.fetch_add(1, Ordering::SeqCst);
                    let seen = source.value.load(Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    Ok(seen)
                })
            }
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_reads() {
        let reads: Arc<FreshReads<u8, i64, String>> = Arc::default();
        let source = Source::default();
        source.value.store(7, Ordering::SeqCst);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (reads, read) = (Arc::clone(&reads), source.reader(Duration::from_millis(30)));
            set.spawn(async move { reads.read(1, read).await });
        }
        while let Some(answer) = set.join_next().await {
            assert_eq!(answer.unwrap(), Ok(7));
        }
        let made = source.reads.load(Ordering::SeqCst);
        assert!((1..=3).contains(&made), "50 callers, {made} reads");
        assert!(lock(&reads.waiting).is_empty(), "the key is released");
    }

    #[tokio::test]
    async fn a_caller_never_gets_a_read_that_started_before_it_asked() {
        let reads: Arc<FreshReads<u8, i64, String>> = Arc::default();
        let source = Source::default();
        let read = source.reader(Duration::from_millis(100));
        let first = {
            let (reads, read) = (Arc::clone(&reads), read.clone());
            tokio::spawn(async move { reads.read(1, read).await })
        };
        // The first read has started (and taken 0); a write commits; then a caller asks.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(source.reads.load(Ordering::SeqCst), 1);
        source.value.store(1, Ordering::SeqCst);
        assert_eq!(reads.read(1, read).await, Ok(1), "sees the write");
        assert_eq!(first.await.unwrap(), Ok(0));
        assert_eq!(source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn keys_are_read_apart_and_errors_are_shared() {
        let reads: FreshReads<u8, i64, String> = FreshReads::default();
        let failing = || async { Err::<i64, _>("down".to_owned()) };
        assert_eq!(reads.read(1, failing).await, Err("down".to_owned()));
        assert_eq!(reads.read(2, || async { Ok(5) }).await, Ok(5));
        assert_eq!(reads.read(1, || async { Ok(6) }).await, Ok(6), "not stuck");
    }

    #[tokio::test]
    async fn a_read_that_panics_frees_the_key_and_its_callers_read_alone() {
        let reads: Arc<FreshReads<u8, i64, String>> = Arc::default();
        let panicked = Arc::new(AtomicBool::new(false));
        let read = {
            let panicked = Arc::clone(&panicked);
            move || {
                let panicked = Arc::clone(&panicked);
                async move {
                    if !panicked.swap(true, Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        panic!("the read failed badly");
                    }
                    Ok(9)
                }
            }
        };
        assert_eq!(reads.read(1, read.clone()).await, Ok(9));
        assert!(lock(&reads.waiting).is_empty());
        assert_eq!(reads.read(1, read).await, Ok(9));
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_cancels_nothing_for_the_others() {
        let reads: Arc<FreshReads<u8, i64, String>> = Arc::default();
        let source = Source::default();
        source.value.store(3, Ordering::SeqCst);
        let read = source.reader(Duration::from_millis(50));
        let gone = {
            let (reads, read) = (Arc::clone(&reads), read.clone());
            tokio::spawn(async move { reads.read(1, read).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let stays = {
            let (reads, read) = (Arc::clone(&reads), read.clone());
            tokio::spawn(async move { reads.read(1, read).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        gone.abort();
        assert_eq!(stays.await.unwrap(), Ok(3));
        assert!(lock(&reads.waiting).is_empty());
    }
}
