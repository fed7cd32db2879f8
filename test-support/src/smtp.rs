//! A real SMTP server for tests: Debian's `python3-aiosmtpd` running
//! `test-support/smtp_sink.py` on a free loopback port. Each accepted message becomes a
//! JSON file the test reads back ([`Delivered`]): the tests take the link from the mail
//! and follow it over HTTP like a person. [`SmtpServer::stop`] and
//! [`SmtpServer::start_again`] (same port) prove that mail queued while the server was
//! down is delivered once it is back.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/smtp_sink.py");

/// One message as the server received it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Delivered {
    /// `MAIL FROM`.
    pub envelope_from: String,
    /// `RCPT TO`.
    pub envelope_to: Vec<String>,
    /// The `From:` header.
    pub from: String,
    /// The `To:` header.
    pub to: String,
    /// The decoded subject.
    pub subject: String,
    /// The decoded plain-text part.
    pub text: String,
    /// The decoded HTML part, if any.
    pub html: Option<String>,
    /// The raw message.
    pub raw: String,
}

impl Delivered {
    /// Whether `address` was a recipient (case-insensitive).
    #[must_use]
    pub fn is_to(&self, address: &str) -> bool {
        self.envelope_to
            .iter()
            .any(|r| r.eq_ignore_ascii_case(address))
    }

    /// The first link in the plain text that contains `part` (e.g. `/password/reset?token=`).
    ///
    /// # Panics
    /// When there is none (the test fails, naming the subject).
    #[must_use]
    pub fn link(&self, part: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| (w.starts_with("http://") || w.starts_with("https://")) && w.contains(part))
            .unwrap_or_else(|| {
                panic!(
                    "no link with {part:?} in mail {:?}:\n{}",
                    self.subject, self.text
                )
            })
            .to_owned()
    }
}

/// A running aiosmtpd; stopped when dropped.
#[derive(Debug)]
pub struct SmtpServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    l.local_addr().expect("bound").port()
}

/// Debian's python3 (where `python3-aiosmtpd` installs), not a pyenv shim first on PATH.
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

async fn spawn(port: u16, dir: &std::path::Path) -> Child {
    let mut child = Command::new(python())
        .arg(SCRIPT)
        .arg("127.0.0.1")
        .arg(port.to_string())
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs (install python3-aiosmtpd: .ci/run does)");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
    match ready {
        Ok(Ok(Some(line))) if line.trim() == "ready" => child,
        other => panic!("the SMTP sink did not start ({other:?}); is python3-aiosmtpd installed?"),
    }
}

impl SmtpServer {
    /// Starts a server on a free `127.0.0.1` port.
    ///
    /// # Panics
    /// When python3 or aiosmtpd is missing.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let child = spawn(port, dir.path()).await;
        Self {
            port,
            dir,
            child: Some(child),
        }
    }

    /// `smtp://127.0.0.1:PORT` (plain, as for a local relay).
    #[must_use]
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (connections are refused until [`Self::start_again`]).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    /// Starts it again on the same port.
    pub async fn start_again(&mut self) {
        self.stop().await;
        self.child = Some(spawn(self.port, self.dir.path()).await);
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Every message received so far, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<Delivered> {
        self.files()
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("a message file");
                serde_json::from_str(&text).expect("the sink's JSON")
            })
            .collect()
    }

    /// Every message to `address`, oldest first.
    #[must_use]
    pub fn messages_to(&self, address: &str) -> Vec<Delivered> {
        self.messages()
            .into_iter()
            .filter(|m| m.is_to(address))
            .collect()
    }

    /// Waits (up to `timeout`) until `address` has received `n` messages; returns them all.
    ///
    /// # Panics
    /// When they do not arrive in time.
    pub async fn wait_for_count(
        &self,
        address: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Delivered> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.messages_to(address);
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{address} received {} message(s), expected {n}, within {timeout:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 15 s) for the first message to `address` and returns it.
    ///
    /// # Panics
    /// When none arrives in time.
    pub async fn wait_for(&self, address: &str) -> Delivered {
        self.wait_for_count(address, 1, Duration::from_secs(15))
            .await
            .remove(0)
    }

    /// Waits (up to 15 s) for the newest message to `address` once there are `n`.
    ///
    /// # Panics
    /// When they do not arrive in time.
    pub async fn wait_for_nth(&self, address: &str, n: usize) -> Delivered {
        let mut all = self
            .wait_for_count(address, n, Duration::from_secs(15))
            .await;
        all.swap_remove(n - 1)
    }

    /// Asserts that `address` received no message (after the worker had `settle` to send one).
    ///
    /// # Panics
    /// When one arrived.
    pub async fn assert_none_to(&self, address: &str, settle: Duration) {
        tokio::time::sleep(settle).await;
        let got = self.messages_to(address);
        assert!(got.is_empty(), "{address} received {got:?}");
    }
}
