//! `SMTP_URL` and `MAIL_FROM`, parsed at start-up into a ready transport.
//!
//! `SMTP_URL` forms (CONTRACT.md): `smtp://host:port` (plain, for a local relay),
//! `smtp://user:pass@host:587?tls=starttls` (STARTTLS required; `tls=opportunistic`
//! upgrades when offered) and `smtps://user:pass@host:465` (TLS from the first byte).
//! Unset: the development outbox, `{DATA_DIR}/outbox/`.

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development: `.eml` files in this folder, links logged at INFO.
    Outbox(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The transport holds credentials: never print it.
            Self::Smtp(_) => f.write_str("Smtp(..)"),
            Self::Outbox(dir) => f.debug_tuple("Outbox").field(dir).finish(),
        }
    }
}

/// The mail settings of auth-service.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// Where mail goes.
    pub transport: Transport,
    /// `MAIL_FROM`: the sender; default `no-reply@{host of PUBLIC_URL}`.
    pub from: Mailbox,
}

impl MailSettings {
    /// Reads `SMTP_URL` (a secret: it may hold a password) and `MAIL_FROM`. The error
    /// is a reason without the value, for `invalid setting NAME: reason`.
    ///
    /// # Errors
    /// `(variable, reason)` for a malformed value.
    pub fn parse(
        smtp_url: Option<&SecretString>,
        mail_from: Option<&str>,
        public_url: &Url,
        outbox: PathBuf,
    ) -> Result<Self, (&'static str, String)> {
        let transport = match smtp_url {
            None => Transport::Outbox(outbox),
            Some(url) => {
                Transport::Smtp(smtp_transport(url.expose_secret()).map_err(|e| ("SMTP_URL", e))?)
            }
        };
        let from = match mail_from {
            Some(text) => text.parse::<Mailbox>().map_err(|_| {
                (
                    "MAIL_FROM",
                    "expected an address such as no-reply@example.com or \"Acme <no-reply@example.com>\"".to_owned(),
                )
            })?,
            None => {
                let host = public_url.host_str().unwrap_or("localhost");
                // `localhost` has no dot: lettre accepts it, real servers may not care.
                format!("no-reply@{host}").parse::<Mailbox>().map_err(|_| {
                    ("MAIL_FROM", "cannot derive a sender from PUBLIC_URL; set MAIL_FROM".to_owned())
                })?
            }
        };
        Ok(Self { transport, from })
    }
}

const FORMS: &str = "expected smtp://host:port, smtp://user:pass@host:587?tls=starttls or smtps://user:pass@host:465";

/// Builds the SMTP transport of an `SMTP_URL`. Errors never repeat the URL (it may
/// hold a password).
fn smtp_transport(text: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let url = Url::parse(text).map_err(|_| FORMS.to_owned())?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| FORMS.to_owned())?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut tls_mode = None;
    for (k, v) in url.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("tls", "starttls" | "required") => tls_mode = Some(true),
            ("tls", "opportunistic") => tls_mode = Some(false),
            ("tls", "none") => tls_mode = None,
            _ => return Err(format!("unknown option {k} ({FORMS})")),
        }
    }
    let tls_params = || {
        TlsParameters::new(host.clone()).map_err(|_| "cannot set up TLS for this host".to_owned())
    };
    let (tls, default_port) = match url.scheme() {
        "smtps" => (Tls::Wrapper(tls_params()?), 465),
        "smtp" => match tls_mode {
            Some(true) => (Tls::Required(tls_params()?), 587),
            Some(false) => (Tls::Opportunistic(tls_params()?), 587),
            None => (Tls::None, 25),
        },
        _ => return Err(FORMS.to_owned()),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
        .port(url.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(std::time::Duration::from_secs(15)));
    if !url.username().is_empty() {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        builder = builder.credentials(Credentials::new(user, pass));
    }
    Ok(builder.build())
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        url: Option<&str>,
        from: Option<&str>,
    ) -> Result<MailSettings, (&'static str, String)> {
        let secret = url.map(|u| SecretString::from(u.to_owned()));
        MailSettings::parse(
            secret.as_ref(),
            from,
            &Url::parse("https://auth.example.com").unwrap(),
            PathBuf::from("data/outbox"),
        )
    }

    // lettre's pooled transport spawns its pool task when built: it needs a runtime.
    #[tokio::test]
    async fn every_contract_form_parses() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:pa%40ss@mail.example.com:587?tls=starttls",
            "smtps://user:pass@mail.example.com:465",
            "smtp://mail.example.com?tls=opportunistic",
        ] {
            let s = parse(Some(url), None).unwrap();
            assert!(matches!(s.transport, Transport::Smtp(_)), "{url}");
        }
        let dev = parse(None, None).unwrap();
        assert!(matches!(dev.transport, Transport::Outbox(_)));
        assert_eq!(dev.from.email.to_string(), "no-reply@auth.example.com");
    }

    #[test]
    fn malformed_values_name_the_variable_and_never_echo_a_password() {
        for url in [
            "http://x",
            "smtp://",
            "smtp://h?tls=maybe",
            "not a url secret123",
        ] {
            let (var, why) = parse(Some(url), None).unwrap_err();
            assert_eq!(var, "SMTP_URL");
            assert!(!why.contains("secret123"), "{why}");
        }
        let (var, _) = parse(None, Some("not an address")).unwrap_err();
        assert_eq!(var, "MAIL_FROM");
        let named = parse(None, Some("Acme Sign-in <no-reply@example.com>")).unwrap();
        assert_eq!(named.from.name.as_deref(), Some("Acme Sign-in"));
    }
}
