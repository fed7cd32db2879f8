//! Outgoing mail (CONTRACT.md "Outgoing mail"). A use case queues a [`Mail`] with
//! [`enqueue`] inside the transaction of the change it reports, and calls
//! [`Mailer::wake`] after the commit; the worker ([`worker`]) delivers it in the
//! background — by SMTP (`SMTP_URL`) or, in development, as an `.eml` file in the outbox
//! folder — retrying with backoff while the server is down. A request never waits for
//! a mail server, and a failing one never changes what a page says.

pub mod settings;
pub mod worker;

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::infra::entities::mail_outbox;

pub use settings::{MailSettings, Transport};

/// One message to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body (always sent).
    pub text: String,
    /// An optional HTML alternative.
    pub html: Option<String>,
}

impl Mail {
    /// A plain-text message whose body is the rendered askama template `body` (a
    /// `.txt` template: no HTML escaping).
    ///
    /// # Errors
    /// A template that fails to render.
    pub fn from_template(
        to: impl Into<String>,
        subject: impl Into<String>,
        body: &impl askama::Template,
    ) -> Result<Self, askama::Error> {
        Ok(Self {
            to: to.into(),
            subject: subject.into(),
            text: body.render()?,
            html: None,
        })
    }
}

/// Queues `mail` in the caller's transaction; it is sent only if that commits.
///
/// # Errors
/// A database failure.
pub async fn enqueue(db: &impl ConnectionTrait, mail: &Mail) -> Result<Uuid, sea_orm::DbErr> {
    let now = Utc::now();
    let row = mail_outbox::ActiveModel {
        id: Set(Uuid::new_v4()),
        recipient: Set(mail.to.clone()),
        subject: Set(mail.subject.chars().take(200).collect()),
        body_text: Set(mail.text.clone()),
        body_html: Set(mail.html.clone()),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        sent_at: Set(None),
        last_error: Set(None),
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// The handle the request side holds: wakes the worker after a commit that queued mail.
#[derive(Clone, Debug, Default)]
pub struct Mailer {
    wake: Arc<Notify>,
}

impl Mailer {
    /// A handle with no worker listening yet (the worker takes [`Mailer::notified`]).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the worker that mail is waiting (call after the commit).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The notification the worker waits on.
    #[must_use]
    pub fn notifier(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }
}
