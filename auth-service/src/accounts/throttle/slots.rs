//! The slot queries of the throttle. A bucket has at most `limit` rows (slots `0..limit`);
//! a slot is free when it was last used a window or more ago, or is missing (a slot given
//! back is deleted). An attempt reads its three buckets with one query and claims one
//! slot in each with ONE conditional statement — an `INSERT` of the picked slots that, for
//! a slot that exists, is an `UPDATE … WHERE used_at_ms <= cutoff` (`ON CONFLICT … DO
//! UPDATE … WHERE`), `RETURNING` the buckets it got — so two racers (requests or replicas)
//! never both get the same slot: on PostgreSQL the loser of the row lock re-checks the
//! condition on the committed row and changes nothing; on SQLite each statement holds the
//! write lock. A loser looks again at the buckets it did not get and may end refused
//! (giving back what it got), never admitted beyond the limit. Sign-in runs its
//! reservation without a transaction, its statements standing alone in its turn of
//! [`crate::infra::writes`] (the claim is one statement, so it is all or nothing), and its
//! settlement in one transaction of that queue, which on SQLite begins `IMMEDIATE`: it
//! holds the write lock from the start, so its reads before writes never meet "database is
//! locked" for an upgrade.

use std::time::Duration;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, Set,
};
use uuid::Uuid;

use crate::infra::entities::throttle_slot::{ActiveModel, Column, Entity};

/// One limit: a bucket key, the account it belongs to (for clearing), and its size.
#[derive(Clone, Debug)]
pub(super) struct Bucket {
    pub key: String,
    pub account: Option<String>,
    pub limit: u32,
}

/// What claiming a slot gave.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Claimed {
    /// A slot is ours (marked with the claim id).
    Yes,
    /// Every slot is in use; the first frees after this long.
    Full(Duration),
}

/// How many rounds a claim tries before refusing (each lost round means another
/// attempt took a slot, so a full bucket is seen within `limit + 1` rounds).
fn rounds(limit: u32) -> u32 {
    limit.min(62) + 2
}

/// The slots below their limits of each of `buckets`, in one query: per bucket (in the
/// order given), its `(slot, used_at_ms)`.
async fn slots_of(
    db: &impl ConnectionTrait,
    buckets: &[&Bucket],
) -> Result<Vec<Vec<(i32, i64)>>, DbErr> {
    let mut which = Condition::any();
    for b in buckets {
        which = which.add(
            Condition::all()
                .add(Column::Bucket.eq(b.key.as_str()))
                .add(Column::Slot.lt(limit_i32(b.limit))),
        );
    }
    let rows: Vec<(String, i32, i64)> = Entity::find()
        .select_only()
        .column(Column::Bucket)
        .column(Column::Slot)
        .column(Column::UsedAtMs)
        .filter(which)
        .into_tuple()
        .all(db)
        .await?;
    Ok(buckets
        .iter()
        .map(|b| {
            rows.iter()
                .filter(|(key, _, _)| *key == b.key)
                .map(|(_, slot, used)| (*slot, *used))
                .collect()
        })
        .collect())
}

fn limit_i32(limit: u32) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Time until the bucket has a free slot (zero when it has one now).
fn free_in(rows: &[(i32, i64)], limit: u32, now_ms: i64, window_ms: i64) -> Duration {
    let cutoff = now_ms - window_ms;
    if rows.len() < limit as usize || rows.iter().any(|(_, t)| *t <= cutoff) {
        return Duration::ZERO;
    }
    let oldest = rows.iter().map(|(_, t)| *t).min().unwrap_or(cutoff);
    millis(oldest + window_ms - now_ms)
}

/// Time until every one of `buckets` has a free slot (zero when each has one now), in
/// one query.
pub(super) async fn wait_for_all(
    db: &impl ConnectionTrait,
    buckets: &[&Bucket],
    now_ms: i64,
    window_ms: i64,
) -> Result<Duration, DbErr> {
    let rows = slots_of(db, buckets).await?;
    Ok(longest_wait(buckets, &rows, now_ms, window_ms))
}

fn longest_wait(buckets: &[&Bucket], rows: &[Vec<(i32, i64)>], now: i64, window: i64) -> Duration {
    buckets
        .iter()
        .zip(rows)
        .map(|(b, r)| free_in(r, b.limit, now, window))
        .max()
        .unwrap_or(Duration::ZERO)
}

/// Spreads racers over the candidates instead of all trying the first.
fn pick<T: Copy>(candidates: &[T], claim: Uuid) -> Option<T> {
    let n = candidates.len();
    (n > 0).then(|| candidates[usize::from(claim.as_bytes()[15]) % n])
}

/// The slot of a bucket to try: a free one, else a missing one; none when it is full.
fn candidate(rows: &[(i32, i64)], limit: u32, claim: Uuid, cutoff: i64) -> Option<i32> {
    let free: Vec<i32> = rows
        .iter()
        .filter(|(_, t)| *t <= cutoff)
        .map(|(s, _)| *s)
        .collect();
    if !free.is_empty() {
        return pick(&free, claim);
    }
    let missing: Vec<i32> = (0..limit_i32(limit))
        .filter(|s| !rows.iter().any(|(r, _)| r == s))
        .collect();
    pick(&missing, claim)
}

/// Claims a slot in every one of `buckets` for `claim` at `now_ms`, or in none: one
/// query reads the buckets and one statement claims a slot in each (see [`take`]); a
/// bucket whose slot a racer took in between is read and tried again.
///
/// # Errors
/// A database failure (slots claimed so far are given back when possible).
pub(super) async fn claim_all(
    db: &impl ConnectionTrait,
    buckets: &[Bucket],
    claim: Uuid,
    now_ms: i64,
    window_ms: i64,
) -> Result<Claimed, DbErr> {
    let mut held = false;
    let result = claim_rounds(db, buckets, claim, now_ms, window_ms, &mut held).await;
    if held && !matches!(result, Ok(Claimed::Yes)) {
        let all: Vec<&Bucket> = buckets.iter().collect();
        match &result {
            Err(_) => {
                // Best effort: the first error is the one reported.
                let _ = release_all(db, &all, claim).await;
            }
            Ok(_) => release_all(db, &all, claim).await?,
        }
    }
    result
}

/// The rounds of [`claim_all`]; `held` is set once a slot is ours.
async fn claim_rounds(
    db: &impl ConnectionTrait,
    buckets: &[Bucket],
    claim: Uuid,
    now_ms: i64,
    window_ms: i64,
    held: &mut bool,
) -> Result<Claimed, DbErr> {
    let cutoff = now_ms - window_ms;
    let mut pending: Vec<&Bucket> = buckets.iter().collect();
    let most = buckets.iter().map(|b| rounds(b.limit)).max().unwrap_or(0);
    for _ in 0..most {
        let rows = slots_of(db, &pending).await?;
        let mut picks = Vec::with_capacity(pending.len());
        for (b, r) in pending.iter().zip(&rows) {
            match candidate(r, b.limit, claim, cutoff) {
                Some(slot) => picks.push((*b, slot)),
                None => {
                    let wait = longest_wait(&pending, &rows, now_ms, window_ms);
                    return Ok(Claimed::Full(wait));
                }
            }
        }
        let won = take(db, &picks, claim, now_ms, cutoff).await?;
        *held |= !won.is_empty();
        pending.retain(|b| !won.contains(&b.key));
        if pending.is_empty() {
            return Ok(Claimed::Yes);
        }
    }
    // Lost every race: refuse (briefly) rather than admit beyond the limit.
    Ok(Claimed::Full(Duration::from_secs(1)))
}

/// Takes the picked slot of each bucket, in ONE statement: an `INSERT` of the slot that,
/// when the slot exists, becomes an `UPDATE` of it only while it is still free
/// (`ON CONFLICT … DO UPDATE … WHERE used_at_ms <= cutoff`). Returns the keys of the
/// buckets whose slot this attempt got (`RETURNING`); a slot a racer took or created in
/// between is not changed and not returned.
async fn take(
    db: &impl ConnectionTrait,
    picks: &[(&Bucket, i32)],
    claim: Uuid,
    now_ms: i64,
    cutoff: i64,
) -> Result<Vec<String>, DbErr> {
    let rows = picks.iter().map(|(b, slot)| ActiveModel {
        bucket: Set(b.key.clone()),
        slot: Set(*slot),
        account: Set(b.account.clone()),
        used_at_ms: Set(now_ms),
        claim: Set(Some(claim)),
    });
    let mut stmt = Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::Bucket, Column::Slot])
                .update_columns([Column::UsedAtMs, Column::Claim, Column::Account])
                .action_and_where(sea_orm::sea_query::ExprTrait::lte(
                    Expr::col((Entity, Column::UsedAtMs)),
                    cutoff,
                ))
                .to_owned(),
        )
        .into_query();
    stmt.returning_col(Column::Bucket);
    db.query_all(&stmt)
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "bucket"))
        .collect()
}

/// Gives back the slots `claim` holds in each of `buckets`, in one statement: they are
/// deleted, which makes them free (a missing slot is created when it is claimed).
pub(super) async fn release_all(
    db: &impl ConnectionTrait,
    buckets: &[&Bucket],
    claim: Uuid,
) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::Bucket.is_in(buckets.iter().map(|b| b.key.as_str())))
        .filter(Column::Claim.eq(claim))
        .exec(db)
        .await?;
    Ok(())
}

/// Empties `emptied` and gives back the slots `claim` holds in each of `released`, in
/// one statement (a right password: see [`super::Throttle::settle_success`]).
pub(super) async fn clear_and_release(
    db: &impl ConnectionTrait,
    emptied: &Bucket,
    released: &[&Bucket],
    claim: Uuid,
) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(
            Condition::any()
                .add(Column::Bucket.eq(emptied.key.as_str()))
                .add(
                    Condition::all()
                        .add(Column::Bucket.is_in(released.iter().map(|b| b.key.as_str())))
                        .add(Column::Claim.eq(claim)),
                ),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Empties every bucket of an account; the number of slots removed.
pub(super) async fn clear_account(db: &impl ConnectionTrait, account: &str) -> Result<u64, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::Account.eq(account))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes slots last used before `cutoff_ms` (a free slot is re-created on demand), the
/// slots of at most 500 buckets per statement, so no run holds a long lock.
pub(super) async fn prune(db: &impl ConnectionTrait, cutoff_ms: i64) -> Result<u64, DbErr> {
    let mut total = 0;
    loop {
        let buckets = sea_orm::sea_query::Query::select()
            .column(Column::Bucket)
            .from(Entity)
            .and_where(Column::UsedAtMs.lte(cutoff_ms))
            .limit(500)
            .to_owned();
        let deleted = Entity::delete_many()
            .filter(Column::UsedAtMs.lte(cutoff_ms))
            .filter(Column::Bucket.in_subquery(buckets))
            .exec(db)
            .await?
            .rows_affected;
        if deleted == 0 {
            return Ok(total);
        }
        total += deleted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_free_when_a_slot_is_missing_or_expired() {
        let window = 900_000;
        let now = 10_000_000;
        assert_eq!(free_in(&[(0, now)], 2, now, window), Duration::ZERO);
        assert_eq!(
            free_in(&[(0, now), (1, now - window)], 2, now, window),
            Duration::ZERO
        );
        // Full: the oldest use frees first.
        assert_eq!(
            free_in(&[(0, now - 1_000), (1, now - 300_000)], 2, now, window),
            Duration::from_millis(600_000)
        );
    }

    #[test]
    fn racers_spread_over_candidates() {
        assert_eq!(pick::<i32>(&[], Uuid::new_v4()), None);
        assert_eq!(pick(&[7], Uuid::new_v4()), Some(7));
        let a = Uuid::from_u128(0);
        let b = Uuid::from_u128(1);
        assert_ne!(pick(&[1, 2], a), pick(&[1, 2], b));
    }
}
