//! Write transactions of the sign-in path (the throttle's reservation and settlement, the
//! session and the audit rows), one per step instead of one per statement.
//!
//! On SQLite a database file has one write lock. A connection that finds it taken waits in
//! SQLite's busy handler, which *sleeps* (1, 2, 5, 10, 15, 20, 25 … ms) between tries: under
//! a sign-in storm (ten autocommit writes per sign-in, from every pool connection) requests
//! slept while the lock was free, and the unlucky ones again and again (issue 13: the lost
//! sign-ins and the long tail). So on SQLite the writers of this process queue here, in
//! order (a semaphore of one permit: tokio's is fair), and each transaction begins
//! `IMMEDIATE`: it holds the write lock from `BEGIN`, so reading before writing inside it
//! cannot fail with `SQLITE_BUSY_SNAPSHOT`, and its holder never meets another writer of
//! this queue. Writers elsewhere in the service still take SQLite's busy handler, as before.
//! On PostgreSQL there is no queue: a plain transaction (row locks and MVCC do the rest).
//! A write that needs no transaction (the throttle's reservation: one statement) takes its
//! [`Turn`] without `BEGIN … COMMIT`, two round trips fewer.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The queue of write transactions (SQLite) or nothing (PostgreSQL). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Writes {
    /// One permit on SQLite; `None` on PostgreSQL.
    turn: Option<Arc<Semaphore>>,
}

/// An open write transaction (and, on SQLite, this process's turn to write): use it as a
/// connection (`&*txn`), then [`WriteTxn::commit`]. Dropped uncommitted, it rolls back.
#[derive(Debug)]
pub struct WriteTxn {
    txn: DatabaseTransaction,
    // Declared after `txn`, so dropped after it: the rollback is queued before the next
    // writer's turn.
    _turn: Option<OwnedSemaphorePermit>,
}

impl Writes {
    /// The queue for `db`'s backend.
    #[must_use]
    pub fn for_database(db: &DatabaseConnection) -> Self {
        let turn =
            (db.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Semaphore::new(1)));
        Self { turn }
    }

    /// Waits for this process's turn to write (SQLite), then begins a transaction
    /// (`BEGIN IMMEDIATE` on SQLite).
    ///
    /// # Errors
    /// A database failure.
    pub async fn begin(&self, db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
        let Turn(permit) = self.turn().await?;
        if permit.is_none() {
            return Ok(WriteTxn {
                txn: db.begin().await?,
                _turn: None,
            });
        }
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        Ok(WriteTxn { txn, _turn: permit })
    }

    /// Waits for this process's turn to write (SQLite; at once on PostgreSQL), for writes
    /// that need no transaction: each statement stands alone (two round trips fewer than
    /// `BEGIN … COMMIT`), and while the [`Turn`] is held no other writer of this queue
    /// takes the lock.
    ///
    /// # Errors
    /// The queue is closed (never while the process runs).
    pub async fn turn(&self) -> Result<Turn, DbErr> {
        let Some(turn) = &self.turn else {
            return Ok(Turn(None));
        };
        let permit = turn
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DbErr::Custom("the write queue is closed".into()))?;
        Ok(Turn(Some(permit)))
    }
}

/// This process's turn to write without a transaction ([`Writes::turn`]); dropped, the
/// next writer's.
#[derive(Debug)]
#[must_use = "the turn ends when it is dropped"]
pub struct Turn(Option<OwnedSemaphorePermit>);

impl WriteTxn {
    /// Commits, then gives the turn to the next writer.
    ///
    /// # Errors
    /// A database failure (the transaction is rolled back).
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::ConnectionTrait;

    use super::*;

    #[tokio::test]
    async fn on_sqlite_writers_take_turns_and_hold_the_lock_from_begin() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/w.db?mode=rwc", dir.path().display());
        let db = service_kit::db::connect(&url, 4).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        let writes = Writes::for_database(&db);
        let first = writes.begin(&db).await.unwrap();

        // The next writer waits for its turn…
        let waiting = tokio::time::timeout(Duration::from_millis(200), writes.begin(&db)).await;
        assert!(waiting.is_err(), "a second writer got a turn at once");

        // …and the write lock is taken at BEGIN, before any statement: another process (a
        // pool of its own that does not wait) cannot write.
        let other = service_kit::db::connect(&url, 1).await.unwrap();
        other
            .execute_unprepared("PRAGMA busy_timeout = 0")
            .await
            .unwrap();
        let err = other
            .execute_unprepared("INSERT INTO t (x) VALUES (1)")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");

        first
            .execute_unprepared("INSERT INTO t (x) VALUES (2)")
            .await
            .unwrap();
        first.commit().await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), writes.begin(&db))
            .await
            .expect("the turn passes on after a commit")
            .unwrap();
        drop(second); // rolled back; the turn passes on again
        let third = tokio::time::timeout(Duration::from_secs(5), writes.begin(&db))
            .await
            .expect("the turn passes on after a rollback")
            .unwrap();
        third.commit().await.unwrap();
    }
}
