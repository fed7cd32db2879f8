//! The grammar of every setting in the workspace: one boolean grammar, one duration grammar,
//! one base-URL rule and one `COOKIE_DOMAIN` rule, read through [`Vars`], failing with one
//! [`ConfigError`]. auth-service, expense-service and embedders all parse with these, so a
//! value means the same thing to every service.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// A setting that is missing or malformed: one line naming the variable and saying what is
/// expected. It never contains the value (which may be a secret or hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable, e.g. `JWT_SECRET`.
    pub variable: &'static str,
    /// What is wrong with it (never the value).
    pub problem: String,
}

impl ConfigError {
    /// An error about `variable`.
    pub fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// What [`parse_bool`] accepts, for messages and documentation.
pub const BOOL_GRAMMAR: &str = "true/false, 1/0, yes/no or on/off";
/// What [`parse_duration`] accepts, for messages and documentation.
pub const DURATION_GRAMMAR: &str = "a duration such as 90, 30s, 5m, 12h, 7d, 2w or 1h 30m";

/// Variables read through a lookup function (the process environment, or a map in tests).
/// Values are trimmed; an empty value counts as unset.
pub struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars").finish_non_exhaustive()
    }
}

impl<'a> Vars<'a> {
    /// Reads through `get` (`None` = unset).
    pub fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { get }
    }

    /// The trimmed value, `None` when unset or empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `parse` applied to the value, or to `default` when unset; its message names `name`.
    ///
    /// # Errors
    /// `parse`'s message as a [`ConfigError`] for `name`.
    pub fn parse<T>(
        &self,
        name: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let value = self.get(name);
        parse(value.as_deref().unwrap_or(default)).map_err(|p| ConfigError::new(name, p))
    }

    /// A boolean in the one grammar of [`parse_bool`]; `default` when unset.
    ///
    /// # Errors
    /// Anything outside that grammar.
    pub fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_bool(&v)
                .ok_or_else(|| ConfigError::new(name, format!("expected {BOOL_GRAMMAR}"))),
        }
    }

    /// A lifetime or timeout (longer than zero) in the grammar of [`parse_duration`].
    ///
    /// # Errors
    /// Anything outside that grammar, or zero.
    pub fn lifetime(&self, name: &'static str, default: &str) -> Result<Duration, ConfigError> {
        let d = self.duration(name, default)?;
        if d.is_zero() {
            return Err(ConfigError::new(name, "must be longer than zero"));
        }
        Ok(d)
    }

    /// A duration (zero allowed, e.g. a clock leeway) in the grammar of [`parse_duration`].
    ///
    /// # Errors
    /// Anything outside that grammar.
    pub fn duration(&self, name: &'static str, default: &str) -> Result<Duration, ConfigError> {
        self.parse(name, default, |v| {
            parse_duration(v).ok_or_else(|| format!("expected {DURATION_GRAMMAR}"))
        })
    }

    /// An external base URL ([`parse_base_url`]).
    ///
    /// # Errors
    /// Anything but an http(s) URL without user, query or fragment.
    pub fn base_url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        self.parse(name, default, parse_base_url)
    }

    /// A secret of at least `min_len` bytes, `None` when unset; never echoed.
    ///
    /// # Errors
    /// A shorter value.
    pub fn secret(
        &self,
        name: &'static str,
        min_len: usize,
    ) -> Result<Option<SecretString>, ConfigError> {
        match self.get(name) {
            Some(v) if v.len() < min_len => Err(ConfigError::new(
                name,
                format!("must be at least {min_len} bytes long"),
            )),
            v => Ok(v.map(SecretString::from)),
        }
    }

    /// `COOKIE_DOMAIN` ([`parse_cookie_domain`]); `None` when unset (host-only cookies).
    ///
    /// # Errors
    /// A value that is not a domain name.
    pub fn cookie_domain(&self) -> Result<Option<String>, ConfigError> {
        self.get("COOKIE_DOMAIN")
            .map(|d| {
                parse_cookie_domain(&d).ok_or_else(|| {
                    ConfigError::new(
                        "COOKIE_DOMAIN",
                        "expected a domain name such as example.com",
                    )
                })
            })
            .transpose()
    }
}

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, case-insensitive; `None` otherwise.
#[must_use]
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses `90` (seconds), `30s`, `5m`, `12h`, `7d`, `2w` and sums such as `1h30m` or
/// `1h 30m` (whitespace only between parts). Zero is a valid duration here; settings that
/// are lifetimes refuse it ([`Vars::lifetime`]).
#[must_use]
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        if c == ' ' && number.is_none() {
            // Between parts (`1h 30m`), never between a number and its unit (`5 m`).
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if number.is_some() {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// An external base URL: absolute http(s) with a host, and no user, password, query or
/// fragment (the message never repeats the value: it could hold a password).
///
/// # Errors
/// What is wrong, in words.
pub fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|_| "expected an absolute http(s) URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err("expected an absolute http(s) URL".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain user information".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not contain a query or a fragment".to_owned());
    }
    Ok(url)
}

/// `COOKIE_DOMAIN` as both sides of the cookie must read it: a bare lowercase DNS name
/// (a leading dot is dropped, as browsers do); `None` when it is not one. auth-service sets
/// the cookie with it and siblings check tenant hosts against it, so they share this rule.
#[must_use]
pub fn parse_cookie_domain(value: &str) -> Option<String> {
    let domain = value.trim_start_matches('.').to_ascii_lowercase();
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    ok.then_some(domain)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with<T>(pairs: &[(&str, &str)], f: impl FnOnce(&Vars<'_>) -> T) -> T {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let get = move |k: &str| map.get(k).cloned();
        f(&Vars::new(&get))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in [
            "",
            "m",
            "5x",
            "5m3",
            "-5m",
            "5 m",
            "5 minutes",
            "5min",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn lifetimes_refuse_zero_and_accept_sums_while_plain_durations_take_zero() {
        with(&[("TTL", "0"), ("LEEWAY", "0")], |v| {
            assert_eq!(v.lifetime("TTL", "5m").unwrap_err().variable, "TTL");
            assert_eq!(v.duration("LEEWAY", "30s").unwrap(), Duration::ZERO);
        });
        with(&[("TTL", "0s")], |v| {
            assert!(v.lifetime("TTL", "5m").is_err())
        });
        with(&[("TTL", "1h 30m")], |v| {
            assert_eq!(v.lifetime("TTL", "5m").unwrap(), Duration::from_secs(5_400));
        });
        with(&[("TTL", "  ")], |v| {
            assert_eq!(v.lifetime("TTL", "5m").unwrap(), Duration::from_secs(300));
        });
    }

    #[test]
    fn one_boolean_grammar() {
        for (text, value) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("On", true),
            ("false", false),
            ("0", false),
            ("No", false),
            ("off", false),
        ] {
            assert_eq!(parse_bool(text), Some(value), "{text}");
        }
        for bad in ["", "maybe", "y", "2", "enabled"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
        with(&[("B", "maybe")], |v| {
            let err = v.bool("B", true).unwrap_err();
            assert_eq!(err.to_string().lines().count(), 1);
            assert!(err.to_string().starts_with("invalid setting B: "), "{err}");
            assert!(!err.to_string().contains("maybe"), "never the value");
        });
        with(&[], |v| assert!(v.bool("B", true).unwrap()));
    }

    #[test]
    fn base_urls_and_domains() {
        assert!(parse_base_url("https://auth.example.com/").is_ok());
        for bad in [
            "not a url",
            "ftp://x.example",
            "https://u:hunter2@x.example",
            "https://x.example/?q=1",
            "https://x.example/#f",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
        with(&[("PUBLIC_URL", "https://u:hunter2@x.example")], |v| {
            let err = v.base_url("PUBLIC_URL", "http://localhost").unwrap_err();
            assert!(!err.to_string().contains("hunter2"), "{err}");
        });
        assert_eq!(parse_cookie_domain(".Example.COM").unwrap(), "example.com");
        for bad in ["", "http://example.com", "exa mple.com", "-a.com", "a..com"] {
            assert!(parse_cookie_domain(bad).is_none(), "{bad}");
        }
        with(&[("COOKIE_DOMAIN", "exa mple.com")], |v| {
            assert_eq!(v.cookie_domain().unwrap_err().variable, "COOKIE_DOMAIN");
        });
    }
}
