//! The delivery worker: takes due messages from `mail_outbox`, claims each with one
//! conditional update (so replicas sharing the database never send one twice), sends it
//! and marks it sent, or schedules the next attempt with exponential backoff (2 s, 4 s,
//! … capped at 5 minutes) and records the error. A message is given up after
//! [`MAX_ATTEMPTS`] (about two hours of retries); the log says so.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncTransport, Message};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::Notify;

use super::settings::{MailSettings, Transport};
use crate::infra::entities::mail_outbox;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i32 = 30;
/// How often the queue is looked at when nobody wakes the worker.
const POLL: Duration = Duration::from_secs(1);
/// How long a claimed message is left to the replica that claimed it.
const LEASE: Duration = Duration::from_secs(120);
/// Messages taken per round.
const BATCH: u64 = 20;

/// The wait before attempt `attempts + 1` (after `attempts` failures).
#[must_use]
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 9)).unwrap_or(1);
    Duration::from_secs(2u64.pow(exp)).min(Duration::from_secs(300))
}

/// Delivers queued mail until the task is dropped.
pub async fn run(db: DatabaseConnection, settings: MailSettings, wake: Arc<Notify>) {
    loop {
        if let Err(e) = deliver_due(&db, &settings).await {
            tracing::warn!(error = %e, "mail queue: database error");
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// One round: every due message, claimed and attempted once. Returns how many were sent.
///
/// # Errors
/// A database failure.
pub async fn deliver_due(
    db: &DatabaseConnection,
    settings: &MailSettings,
) -> Result<usize, sea_orm::DbErr> {
    let now = Utc::now();
    let due = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::SentAt.is_null())
        .filter(mail_outbox::Column::NextAttemptAt.lte(now))
        .filter(mail_outbox::Column::Attempts.lt(MAX_ATTEMPTS))
        .order_by_asc(mail_outbox::Column::NextAttemptAt)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut sent = 0;
    for row in due {
        // Claim: only the replica whose update matches the attempt count it read sends.
        let lease = Utc::now() + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let claimed = mail_outbox::Entity::update_many()
            .col_expr(
                mail_outbox::Column::Attempts,
                Expr::col(mail_outbox::Column::Attempts).add(1),
            )
            .col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(lease))
            .filter(mail_outbox::Column::Id.eq(row.id))
            .filter(mail_outbox::Column::Attempts.eq(row.attempts))
            .filter(mail_outbox::Column::SentAt.is_null())
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let attempts = row.attempts.saturating_add(1);
        match deliver(settings, &row).await {
            Ok(()) => {
                mail_outbox::Entity::update_many()
                    .col_expr(mail_outbox::Column::SentAt, Expr::value(Utc::now()))
                    .col_expr(
                        mail_outbox::Column::LastError,
                        Expr::value(Option::<String>::None),
                    )
                    .filter(mail_outbox::Column::Id.eq(row.id))
                    .exec(db)
                    .await?;
                sent += 1;
            }
            Err(Failure::Permanent(why)) => {
                tracing::error!(mail_id = %row.id, error = %why, "mail cannot be sent; given up");
                record_failure(db, &row, MAX_ATTEMPTS, Duration::ZERO, &why).await?;
            }
            Err(Failure::Temporary(why)) => {
                let wait = backoff(attempts);
                if attempts >= MAX_ATTEMPTS {
                    tracing::error!(mail_id = %row.id, attempts, error = %why, "mail not delivered; given up");
                } else {
                    tracing::warn!(mail_id = %row.id, attempts, retry_in_s = wait.as_secs(), error = %why, "mail not delivered; will retry");
                }
                record_failure(db, &row, attempts, wait, &why).await?;
            }
        }
    }
    Ok(sent)
}

async fn record_failure(
    db: &DatabaseConnection,
    row: &mail_outbox::Model,
    attempts: i32,
    wait: Duration,
    why: &str,
) -> Result<(), sea_orm::DbErr> {
    let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
    mail_outbox::Entity::update_many()
        .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            mail_outbox::Column::LastError,
            Expr::value(why.chars().take(500).collect::<String>()),
        )
        .filter(mail_outbox::Column::Id.eq(row.id))
        .exec(db)
        .await
        .map(|_| ())
}

enum Failure {
    /// Will not work however often it is tried (a malformed address).
    Permanent(String),
    /// The server is down, refused for now, or the folder is not writable.
    Temporary(String),
}

fn build(settings: &MailSettings, row: &mail_outbox::Model) -> Result<Message, Failure> {
    let to: Mailbox = row
        .recipient
        .parse()
        .map_err(|_| Failure::Permanent("malformed recipient address".to_owned()))?;
    let builder = Message::builder()
        .from(settings.from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(None);
    let built = match &row.body_html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            row.body_text.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(row.body_text.clone()),
    };
    built.map_err(|e| Failure::Permanent(format!("cannot build the message: {e}")))
}

async fn deliver(settings: &MailSettings, row: &mail_outbox::Model) -> Result<(), Failure> {
    let message = build(settings, row)?;
    match &settings.transport {
        Transport::Smtp(smtp) => smtp
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Failure::Temporary(format!("SMTP: {e}"))),
        Transport::Outbox(dir) => {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Failure::Temporary(format!("outbox folder: {e}")))?;
            let path = dir.join(format!(
                "{}-{}.eml",
                row.created_at.format("%Y%m%dT%H%M%S"),
                row.id.simple()
            ));
            tokio::fs::write(&path, message.formatted())
                .await
                .map_err(|e| Failure::Temporary(format!("outbox file: {e}")))?;
            // Development only (no SMTP_URL): the contract logs the link so that
            // `./scripts/dev` works without a mail server.
            let link = first_link(&row.body_text).unwrap_or("(no link)");
            tracing::info!(path = %path.display(), subject = %row.subject, link, "mail written to the development outbox");
            Ok(())
        }
    }
}

/// The first `http(s)://…` word of a text.
#[must_use]
pub fn first_link(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(30), Duration::from_secs(300));
        assert_eq!(backoff(0), Duration::from_secs(2));
    }

    #[test]
    fn the_first_link_is_found() {
        assert_eq!(
            first_link("Hello,\nopen http://localhost:8000/x?token=abc\nthanks"),
            Some("http://localhost:8000/x?token=abc")
        );
        assert_eq!(first_link("none here"), None);
    }
}
