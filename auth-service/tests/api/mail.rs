//! Outgoing mail through a real SMTP server (aiosmtpd): queued mail is delivered after
//! the commit, survives the server being down, and without `SMTP_URL` lands in the
//! development outbox as an `.eml` file.

use std::time::Duration;

use auth_service::entities::mail_outbox;
use auth_service::mail::{self, Mail};
use sea_orm::EntityTrait;

use super::helpers::*;
use test_support::db_tests;

db_tests!(
    queued_mail_reaches_a_real_smtp_server,
    mail_queued_while_the_server_is_down_arrives_when_it_is_back,
    without_smtp_url_mail_goes_to_the_development_outbox,
);

fn message(to: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Reset your password ✓".to_owned(),
        text: "Hello,\n\nopen http://localhost:8000/password/reset?token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG to go on.\n".to_owned(),
        html: None,
    }
}

async fn queue(app: &TestApp, mail: &Mail) {
    mail::enqueue(&app.state.db, mail).await.unwrap();
    app.state.mailer.wake();
}

async fn queued_mail_reaches_a_real_smtp_server(b: Backend) {
    let app = TestApp::spawn_with_mail(b, |_| {}).await;
    queue(&app, &message("ada@acme.test")).await;
    let got = app.mail().wait_for("ada@acme.test").await;
    assert_eq!(got.subject, "Reset your password ✓");
    assert!(got.from.contains("no-reply@localhost"), "{}", got.from);
    // The link survives the transfer encoding intact.
    assert_eq!(
        got.link("/password/reset?token="),
        "http://localhost:8000/password/reset?token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    );
    // Marked sent: not delivered twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.mail().messages_to("ada@acme.test").len(), 1);
    let rows = mail_outbox::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.sent_at.is_some()), "{rows:?}");
}

async fn mail_queued_while_the_server_is_down_arrives_when_it_is_back(b: Backend) {
    let mut app = TestApp::spawn_with_mail(b, |_| {}).await;
    app.mail_mut().stop().await;
    queue(&app, &message("grace@acme.test")).await;
    // The worker tries, fails and records why.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = mail_outbox::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        if rows
            .iter()
            .any(|r| r.attempts >= 1 && r.last_error.is_some())
        {
            assert!(rows.iter().all(|r| r.sent_at.is_none()));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed attempt recorded: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.mail_mut().start_again().await;
    let got = app
        .mail()
        .wait_for_count("grace@acme.test", 1, Duration::from_secs(30))
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "Reset your password ✓");
}

async fn without_smtp_url_mail_goes_to_the_development_outbox(b: Backend) {
    let app = TestApp::spawn(b).await;
    queue(&app, &message("linus@acme.test")).await;
    let outbox = app.state.settings.data_dir.join("outbox");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let file = loop {
        let found = std::fs::read_dir(&outbox).ok().and_then(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        if let Some(f) = found {
            break f;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no .eml in {}",
            outbox.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let eml = std::fs::read_to_string(file).unwrap();
    assert!(eml.contains("To: linus@acme.test"), "{eml}");
    assert!(eml.contains("Subject: "), "{eml}");
}
