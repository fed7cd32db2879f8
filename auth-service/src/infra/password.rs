//! Passwords: the sign-up policy (8–128 characters, not one of the 10,000 most common,
//! not the email) and argon2id hashing (m=19456 KiB, t=2, p=1, the OWASP minimum).
//!
//! Hashing runs on a fixed pool of N threads (`MAX_CONCURRENT_HASHES`, default the number
//! of cores), each reusing one 19 MiB argon2 buffer (issue 13: allocating it per hash on
//! ever-new blocking threads left every thread's malloc arena holding 19 MiB, 643 MB after a
//! sign-in storm). A worker gives its buffer back to the system after [`IDLE_RELEASE`]
//! without work. At most [`QUEUE_PER_WORKER`] × N checks wait for a worker: beyond that, or
//! once a queued check has waited longer than the bounded wait, the request gets `503` with
//! `Retry-After` at once instead of queueing without end.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in characters (bounds the hashing cost of one request).
pub const MAX_LEN: usize = 128;

/// The 10,000 most common passwords, lowercase, most common first (Royce Williams' list
/// as shipped by Django 5.2, BSD licence; see `assets/README.md`).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

/// Why a new password was refused (the message is shown next to the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("Use at least 8 characters.")]
    TooShort,
    /// More than [`MAX_LEN`] characters.
    #[error("Use at most 128 characters.")]
    TooLong,
    /// In the common-passwords list.
    #[error("This password is too common; choose another.")]
    Common,
    /// The email address or its local part.
    #[error("Do not use your email address as the password.")]
    IsEmail,
}

/// Checks a new password against the policy (no composition rules, per NIST 800-63B).
///
/// # Errors
/// The first rule the password breaks.
pub fn check_policy(password: &str, email: &str) -> Result<(), PasswordPolicyError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordPolicyError::TooShort);
    }
    if chars > MAX_LEN {
        return Err(PasswordPolicyError::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.trim()) {
        return Err(PasswordPolicyError::Common);
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if !email.is_empty() && (lower == email || (local.len() >= MIN_LEN && lower == local)) {
        return Err(PasswordPolicyError::IsEmail);
    }
    Ok(())
}

/// Hashing failed or no slot was free in time.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed busy for the whole bounded wait.
    #[error("too many password checks at once")]
    Busy,
    /// argon2 or the blocking pool failed (not the password's fault).
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or a malformed stored hash).
    No,
    /// Right password; the hash uses the current parameters.
    Yes,
    /// Right password; here is a new hash with the current parameters to store.
    YesRehashed(String),
}

/// Checks allowed to wait for a worker, per worker, before new ones are refused at once.
pub const QUEUE_PER_WORKER: usize = 16;
/// A worker idle this long frees its argon2 buffer (the next hash allocates it again).
pub const IDLE_RELEASE: Duration = Duration::from_secs(5);

/// Buffers are reserved with at least this many 1 KiB blocks (33 MiB of address space, of
/// which only the blocks argon2 uses are ever touched, so resident memory stays 19 MiB).
/// glibc's malloc serves any request above 32 MiB with its own `mmap` whatever its dynamic
/// threshold, so freeing the buffer unmaps it and the memory really goes back to the system
/// (a 19 MiB request may come from a thread's arena and stay there).
const RESERVE_BLOCKS: usize = 33 * 1024;

/// One worker's argon2 memory, reused from hash to hash.
struct Buffer(Vec<Block>);

impl Buffer {
    fn new() -> Self {
        Self(Vec::new())
    }

    /// At least `blocks` blocks (argon2 overwrites every block before reading it, so the
    /// previous contents need no clearing).
    fn blocks(&mut self, blocks: usize) -> &mut [Block] {
        if self.0.len() < blocks {
            let mut v = Vec::new();
            v.reserve_exact(blocks.max(RESERVE_BLOCKS));
            v.resize(blocks, Block::default());
            self.0 = v;
        }
        &mut self.0[..blocks]
    }

    fn release(&mut self) {
        self.0 = Vec::new();
    }
}

/// What a worker runs: with its buffer, or with `None` when the job expired in the queue.
type Work = Box<dyn FnOnce(Option<&mut Buffer>) + Send>;

/// A check waiting for a worker: the work, and when it stops being worth starting.
struct Job {
    /// `None`: never (a wait too long to represent).
    expires: Option<Instant>,
    run: Work,
}

/// A place in a [`Hasher`]'s pool (one running or waiting check), held from
/// [`Hasher::try_place`] until the check is done or the place is dropped.
#[derive(Debug)]
#[must_use = "a place is for one check; dropping it gives it back"]
pub struct HashPlace(OwnedSemaphorePermit);

/// argon2id hasher on a fixed pool of threads with a bounded queue. Cheap to clone; the
/// threads end when the last clone is dropped.
#[derive(Clone)]
pub struct Hasher {
    jobs: SyncSender<Job>,
    /// Places in the system (running + queued): a request that gets none is refused.
    places: Arc<Semaphore>,
    wait: Duration,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

fn argon2() -> Argon2<'static> {
    // Explicit, so a change of crate defaults cannot silently weaken hashes.
    let params = Params::new(19_456, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn internal(e: impl std::fmt::Display) -> HashError {
    HashError::Internal(e.to_string())
}

/// A new PHC string for `password` with today's parameters and a random salt, in `memory`.
fn hash_with(password: &[u8], memory: &mut Buffer) -> Result<String, HashError> {
    let argon2 = argon2();
    let params = argon2.params().clone();
    let mut salt = [0u8; 16];
    crate::infra::crypto::fill_random(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(
            password,
            &salt,
            &mut out,
            memory.blocks(params.block_count()),
        )
        .map_err(internal)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(internal)?,
        salt: Some(Salt::new(&salt).map_err(internal)?),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches `stored` (any argon2 variant and parameters), in `memory`.
fn matches(password: &[u8], stored: &PasswordHash, memory: &mut Buffer) -> bool {
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    if argon2
        .hash_password_into_with_memory(password, salt.as_ref(), &mut out, memory.blocks(blocks))
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| &computed == expected)
}

/// Sets the calling thread's nice value (Linux keeps one per thread: `setpriority` with
/// `PRIO_PROCESS` and the thread id). Raising it needs no privilege; a failure is logged and
/// the thread runs at the process's priority.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice) {
        tracing::warn!(error = %e, nice, "could not lower the hashing threads' priority");
    }
    #[cfg(not(target_os = "linux"))]
    tracing::warn!(nice, "HASH_THREAD_NICE applies on Linux only");
}

/// The calling thread's nice value (Linux), for tests.
#[cfg(all(test, target_os = "linux"))]
fn current_nice() -> i32 {
    rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap_or(i32::MIN)
}

/// How long a worker holds the queue's lock waiting for a job before letting another worker
/// wait (so every worker gets to notice it has been idle and free its buffer).
const RECV_TICK: Duration = Duration::from_millis(500);

/// One worker: takes jobs until every sender is gone, frees its buffer when idle.
fn worker(jobs: &Mutex<Receiver<Job>>) {
    let mut memory = Buffer::new();
    let mut last_job = Instant::now();
    loop {
        // The lock guard lives only for this statement: one worker waits on the channel at a
        // time, for at most a tick, the others on the lock.
        let next = match jobs.lock() {
            Ok(rx) => rx.recv_timeout(RECV_TICK),
            Err(_) => return,
        };
        match next {
            Ok(job) => {
                if job.expires.is_some_and(|e| Instant::now() > e) {
                    (job.run)(None);
                } else {
                    (job.run)(Some(&mut memory));
                }
                last_job = Instant::now();
            }
            Err(RecvTimeoutError::Timeout) => {
                if last_job.elapsed() >= IDLE_RELEASE {
                    memory.release();
                }
                // Let a worker blocked on the lock have its turn.
                std::thread::yield_now();
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

impl Hasher {
    /// A hasher with `max_concurrent` hashing threads; a check waits at most `wait` for one,
    /// and at most [`QUEUE_PER_WORKER`] × `max_concurrent` checks wait at once.
    ///
    /// # Errors
    /// [`HashError::Internal`] if a thread cannot be started or the dummy hash (for unknown
    /// accounts) cannot be made.
    pub async fn new(max_concurrent: usize, wait: Duration) -> Result<Self, HashError> {
        Self::with_nice(max_concurrent, wait, 0).await
    }

    /// [`Hasher::new`] whose threads run at nice value `nice` (`HASH_THREAD_NICE`): on a
    /// machine shared with other services, their short requests preempt the hashing
    /// threads instead of waiting behind them; alone, the threads still use every core.
    ///
    /// # Errors
    /// As [`Hasher::new`].
    pub async fn with_nice(
        max_concurrent: usize,
        wait: Duration,
        nice: i32,
    ) -> Result<Self, HashError> {
        let workers = max_concurrent.max(1);
        let queue = workers.saturating_mul(QUEUE_PER_WORKER);
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..workers {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority(nice);
                    worker(&rx);
                })
                .map_err(internal)?;
        }
        let mut hasher = Self {
            jobs: tx,
            places: Arc::new(Semaphore::new(workers.saturating_add(queue))),
            wait,
            dummy_hash: Arc::from(""),
        };
        let mut random = [0u8; 32];
        crate::infra::crypto::fill_random(&mut random);
        // No deadline for the start-up hash, whatever the configured wait.
        let dummy = hasher
            .run_until(Duration::from_secs(3600), move |m| hash_with(&random, m))
            .await??;
        hasher.dummy_hash = dummy.into();
        Ok(hasher)
    }

    /// Runs `work` on a hashing thread, or answers [`HashError::Busy`] at once when every
    /// place is taken, or once it has waited longer than the bounded wait.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Buffer) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.run_until(self.wait, work).await
    }

    async fn run_until<T: Send + 'static>(
        &self,
        wait: Duration,
        work: impl FnOnce(&mut Buffer) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let place = self.try_place()?;
        self.run_in(place, wait, work).await
    }

    /// Whether every place (running and waiting checks) is taken: a check asked for now
    /// would be refused. Sign-in asks before it reserves throttle slots, so that a refusal
    /// under a storm costs nothing.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.places.available_permits() == 0
    }

    /// Takes a place in the pool (running or waiting) for one check, or answers
    /// [`HashError::Busy`] at once when all are taken; dropping it gives it back.
    ///
    /// # Errors
    /// [`HashError::Busy`] when every place is taken.
    pub fn try_place(&self) -> Result<HashPlace, HashError> {
        self.places
            .clone()
            .try_acquire_owned()
            .map(HashPlace)
            .map_err(|_| HashError::Busy)
    }

    async fn run_in<T: Send + 'static>(
        &self,
        HashPlace(place): HashPlace,
        wait: Duration,
        work: impl FnOnce(&mut Buffer) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, answer) = oneshot::channel();
        let queued = Instant::now();
        crate::infra::metrics::hash_queue(1.0);
        let job = Job {
            expires: queued.checked_add(wait),
            run: Box::new(move |memory| {
                crate::infra::metrics::hash_queue(-1.0);
                crate::infra::metrics::hash_wait(queued.elapsed(), memory.is_some());
                // The request gave up (client gone): skip the work.
                if done.is_closed() {
                    return;
                }
                let out = memory.map(work).ok_or(HashError::Busy);
                drop(place);
                let _ = done.send(out);
            }),
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                crate::infra::metrics::hash_queue(-1.0);
                crate::infra::metrics::hash_wait(queued.elapsed(), false);
                return Err(HashError::Busy);
            }
            Err(TrySendError::Disconnected(_)) => {
                crate::infra::metrics::hash_queue(-1.0);
                return Err(HashError::Internal("the hashing threads are gone".into()));
            }
        }
        answer
            .await
            .map_err(|_| HashError::Internal("a hashing thread stopped".into()))?
    }

    /// Hashes a new password to a PHC string.
    ///
    /// # Errors
    /// [`HashError::Busy`] when no slot frees up in time; [`HashError::Internal`] otherwise.
    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let password = password.expose_secret().as_bytes().to_vec();
        self.run(move |m| hash_with(&password, m)).await?
    }

    /// Verifies `password` against `stored` (a PHC string); `None` checks against a dummy
    /// hash so that an unknown account costs the same time as a known one.
    ///
    /// # Errors
    /// [`HashError::Busy`] when no slot frees up in time; [`HashError::Internal`] otherwise.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let password = password.expose_secret().as_bytes().to_vec();
        let known = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        self.run(move |m| {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Ok(Verified::No);
            };
            if !matches(&password, &parsed, m) || !known {
                return Ok(Verified::No);
            }
            if needs_rehash(&parsed) {
                return hash_with(&password, m).map(Verified::YesRehashed);
            }
            Ok(Verified::Yes)
        })
        .await?
    }
}

/// Hashes per second this machine allows with today's parameters: `threads` threads hashing
/// for `duration`, each with its reused buffer (`auth-service hash-rate`, for scripts/bench).
#[must_use]
pub fn hash_rate(threads: usize, duration: Duration) -> f64 {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut memory = Buffer::new();
                    let mut n = 0u64;
                    while start.elapsed() < duration {
                        if hash_with(b"hash-rate probe", &mut memory).is_ok() {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let rate = total as f64 / start.elapsed().as_secs_f64();
    rate
}

/// Hashes outside any [`Hasher`]'s bound: for the CLI, seeding and tests.
///
/// # Errors
/// [`HashError::Internal`] if argon2 or the blocking pool fails.
pub async fn hash_unbounded(password: &SecretString) -> Result<String, HashError> {
    let password = password.expose_secret().as_bytes().to_vec();
    tokio::task::spawn_blocking(move || hash_with(&password, &mut Buffer::new()))
        .await
        .map_err(internal)?
}

/// Whether a stored hash was made with other parameters than today's.
fn needs_rehash(hash: &PasswordHash) -> bool {
    let current = argon2();
    let Ok(params) = Params::try_from(hash) else {
        return true;
    };
    hash.algorithm.as_str() != "argon2id"
        || hash.version != Some(0x13)
        || params.m_cost() != current.params().m_cost()
        || params.t_cost() != current.params().t_cost()
        || params.p_cost() != current.params().p_cost()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    #[test]
    fn policy_refuses_short_long_common_and_email() {
        assert_eq!(
            check_policy("short", "a@b.test"),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_policy(&"x".repeat(129), "a@b.test"),
            Err(PasswordPolicyError::TooLong)
        );
        assert_eq!(
            check_policy("password1", "a@b.test"),
            Err(PasswordPolicyError::Common)
        );
        assert_eq!(
            check_policy("QWERTYUIOP", "a@b.test"),
            Err(PasswordPolicyError::Common)
        );
        assert_eq!(
            check_policy("Someone@Example.test", "someone@example.test"),
            Err(PasswordPolicyError::IsEmail)
        );
        assert_eq!(check_policy("correct horse battery", "a@b.test"), Ok(()));
        // Length counts characters, not bytes.
        assert_eq!(
            check_policy("ééééééé", "a@b.test"),
            Err(PasswordPolicyError::TooShort)
        );
    }

    #[test]
    fn the_list_holds_ten_thousand_real_entries() {
        assert_eq!(COMMON.len(), 10_000);
        assert!(COMMON.contains("123456") && COMMON.contains("iloveyou"));
    }

    #[tokio::test]
    async fn hash_then_verify_and_rehash_old_parameters() {
        let h = Hasher::new(2, Duration::from_secs(5)).await.unwrap();
        let pw = SecretString::from("correct horse battery");
        let stored = h.hash(&pw).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(h.verify(&pw, Some(&stored)).await.unwrap(), Verified::Yes);
        let wrong = SecretString::from("wrong horse battery");
        assert_eq!(h.verify(&wrong, Some(&stored)).await.unwrap(), Verified::No);
        assert_eq!(h.verify(&pw, None).await.unwrap(), Verified::No);
        assert_eq!(h.verify(&pw, Some("garbage")).await.unwrap(), Verified::No);

        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery")
        .unwrap()
        .to_string();
        match h.verify(&pw, Some(&weak)).await.unwrap() {
            Verified::YesRehashed(new) => assert!(new.contains("m=19456,t=2,p=1")),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let h = Hasher::new(1, Duration::from_secs(60)).await.unwrap();
        let places = u32::try_from(h.places.available_permits()).unwrap();
        assert_eq!(places, 1 + QUEUE_PER_WORKER as u32);
        let _held = h.places.clone().try_acquire_many_owned(places).unwrap();
        let err = h
            .hash(&SecretString::from("correct horse battery"))
            .await
            .unwrap_err();
        assert!(matches!(err, HashError::Busy));
    }

    #[tokio::test]
    async fn a_full_pool_says_so_and_places_come_back() {
        let h = Hasher::new(1, Duration::from_secs(60)).await.unwrap();
        let mut places = Vec::new();
        while let Ok(p) = h.try_place() {
            places.push(p);
        }
        assert_eq!(places.len(), 1 + QUEUE_PER_WORKER);
        assert!(h.is_full());
        let pw = SecretString::from("correct horse battery");
        assert!(matches!(h.verify(&pw, None).await, Err(HashError::Busy)));
        // One place back: one check runs, and its place is back afterwards.
        places.pop();
        assert!(!h.is_full());
        assert_eq!(h.verify(&pw, None).await.unwrap(), Verified::No);
        assert!(!h.is_full());
        drop(places);
        assert_eq!(h.places.available_permits(), 1 + QUEUE_PER_WORKER);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_configured_nice_value() {
        let h = Hasher::with_nice(1, Duration::from_secs(60), 7)
            .await
            .unwrap();
        // (A test run that is itself niced above 7 cannot go back down without privilege.)
        let base = current_nice();
        if base <= 7 {
            assert_eq!(h.run(|_| current_nice()).await.unwrap(), 7);
        }
        // The rest of the process keeps its priority, and so do the threads of a plain pool.
        assert_eq!(current_nice(), base);
        let plain = Hasher::new(1, Duration::from_secs(60)).await.unwrap();
        assert_eq!(plain.run(|_| current_nice()).await.unwrap(), base);
    }

    #[tokio::test]
    async fn a_check_that_waited_too_long_answers_busy() {
        let h = Hasher::new(1, Duration::from_millis(1)).await.unwrap();
        let pw = SecretString::from("correct horse battery");
        // One worker, five checks at once: those still queued after 1 ms are refused.
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let (h, pw) = (h.clone(), pw.clone());
            set.spawn(async move { h.hash(&pw).await });
        }
        let results = set.join_all().await;
        assert!(results.iter().any(|r| matches!(r, Err(HashError::Busy))));
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(_) | Err(HashError::Busy)))
        );
    }

    #[tokio::test]
    async fn pool_hashes_are_standard_phc_strings_and_buffers_are_reused() {
        let h = Hasher::new(2, Duration::from_secs(5)).await.unwrap();
        let pw = SecretString::from("correct horse battery");
        let mut hashes = Vec::new();
        for _ in 0..4 {
            hashes.push(h.hash(&pw).await.unwrap());
        }
        for stored in &hashes {
            // The argon2 crate's own verifier accepts what the reused buffers produced.
            let parsed = PasswordHash::new(stored).unwrap();
            argon2::password_hash::PasswordVerifier::verify_password(
                &argon2(),
                b"correct horse battery",
                &parsed,
            )
            .unwrap();
            assert_eq!(h.verify(&pw, Some(stored)).await.unwrap(), Verified::Yes);
        }
        // Salts differ.
        assert_ne!(hashes[0], hashes[1]);
    }
}
