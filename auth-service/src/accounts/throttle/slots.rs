//! The slot queries of the throttle. A bucket has at most `limit` rows (slots `0..limit`);
//! a slot is free when it was last used a window or more ago. An attempt claims one slot
//! with ONE conditional statement — an `UPDATE … WHERE bucket = ? AND slot = ? AND
//! used_at_ms <= cutoff`, or an `INSERT … ON CONFLICT DO NOTHING` of a missing slot —
//! so two racers (requests or replicas) never both get the same slot: on PostgreSQL the
//! loser of the row lock re-checks the condition on the committed row and changes
//! nothing; on SQLite each statement holds the write lock. A loser looks again and may
//! end refused, never admitted beyond the limit. Sign-in runs a reservation (and a
//! settlement) as one transaction of [`crate::infra::writes`], which on SQLite begins
//! `IMMEDIATE`: it holds the write lock from the start, so its reads before writes never
//! meet "database is locked" for an upgrade; outside such a transaction every statement
//! stands alone, as before.

use std::time::Duration;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
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

/// The bucket's slots below its limit: `(slot, used_at_ms)`.
async fn slots(db: &impl ConnectionTrait, b: &Bucket) -> Result<Vec<(i32, i64)>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Slot)
        .column(Column::UsedAtMs)
        .filter(Column::Bucket.eq(b.key.as_str()))
        .filter(Column::Slot.lt(limit_i32(b.limit)))
        .into_tuple()
        .all(db)
        .await
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

/// Time until `b` has a free slot (zero when it has one now).
pub(super) async fn wait_for(
    db: &impl ConnectionTrait,
    b: &Bucket,
    now_ms: i64,
    window_ms: i64,
) -> Result<Duration, DbErr> {
    Ok(free_in(&slots(db, b).await?, b.limit, now_ms, window_ms))
}

/// Spreads racers over the candidates instead of all trying the first.
fn pick<T: Copy>(candidates: &[T], claim: Uuid) -> Option<T> {
    let n = candidates.len();
    (n > 0).then(|| candidates[usize::from(claim.as_bytes()[15]) % n])
}

/// Claims a slot of `b` for `claim` at `now_ms`.
pub(super) async fn claim(
    db: &impl ConnectionTrait,
    b: &Bucket,
    claim: Uuid,
    now_ms: i64,
    window_ms: i64,
) -> Result<Claimed, DbErr> {
    let cutoff = now_ms - window_ms;
    for _ in 0..rounds(b.limit) {
        let rows = slots(db, b).await?;
        let free: Vec<i32> = rows
            .iter()
            .filter(|(_, t)| *t <= cutoff)
            .map(|(s, _)| *s)
            .collect();
        let won = if let Some(slot) = pick(&free, claim) {
            take(db, b, slot, claim, now_ms, cutoff).await?
        } else if rows.len() < b.limit as usize {
            let missing: Vec<i32> = (0..limit_i32(b.limit))
                .filter(|s| !rows.iter().any(|(r, _)| r == s))
                .collect();
            match pick(&missing, claim) {
                Some(slot) => create(db, b, slot, claim, now_ms).await?,
                None => false,
            }
        } else {
            return Ok(Claimed::Full(free_in(&rows, b.limit, now_ms, window_ms)));
        };
        if won {
            return Ok(Claimed::Yes);
        }
    }
    // Lost every race: refuse (briefly) rather than admit beyond the limit.
    Ok(Claimed::Full(Duration::from_secs(1)))
}

/// Re-uses a free slot: one conditional UPDATE (true when it was still free).
async fn take(
    db: &impl ConnectionTrait,
    b: &Bucket,
    slot: i32,
    claim: Uuid,
    now_ms: i64,
    cutoff: i64,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::UsedAtMs, Expr::value(now_ms))
        .col_expr(Column::Claim, Expr::value(claim))
        .col_expr(Column::Account, Expr::value(b.account.clone()))
        .filter(Column::Bucket.eq(b.key.as_str()))
        .filter(Column::Slot.eq(slot))
        .filter(Column::UsedAtMs.lte(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Creates a missing slot: one INSERT that does nothing when another attempt created it.
async fn create(
    db: &impl ConnectionTrait,
    b: &Bucket,
    slot: i32,
    claim: Uuid,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        bucket: Set(b.key.clone()),
        slot: Set(slot),
        account: Set(b.account.clone()),
        used_at_ms: Set(now_ms),
        claim: Set(Some(claim)),
    };
    let inserted = Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::Bucket, Column::Slot])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Gives back the slot `claim` holds in `b` (it counts as never used).
pub(super) async fn release(
    db: &impl ConnectionTrait,
    b: &Bucket,
    claim: Uuid,
) -> Result<(), DbErr> {
    release_all(db, &[b], claim).await
}

/// Gives back the slots `claim` holds in each of `buckets`, in one statement.
pub(super) async fn release_all(
    db: &impl ConnectionTrait,
    buckets: &[&Bucket],
    claim: Uuid,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::UsedAtMs, Expr::value(0_i64))
        .col_expr(Column::Claim, Expr::value(Option::<Uuid>::None))
        .filter(Column::Bucket.is_in(buckets.iter().map(|b| b.key.as_str())))
        .filter(Column::Claim.eq(claim))
        .exec(db)
        .await?;
    Ok(())
}

/// Empties a bucket.
pub(super) async fn clear(db: &impl ConnectionTrait, b: &Bucket) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::Bucket.eq(b.key.as_str()))
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
