//! A person's name for a `User-Agent` string ("Chrome 131 on Linux"), for the sessions
//! table of the account page; the raw string stays available as a tooltip.

use std::sync::LazyLock;

use woothee::parser::Parser;

static PARSER: LazyLock<Parser> = LazyLock::new(Parser::new);

const UNKNOWN: &str = "UNKNOWN";

/// "Browser MAJOR on System", or the best part of it that is known; "Unknown browser" for
/// nothing recognisable (or no header).
#[must_use]
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|s| !s.is_empty()) else {
        return "Unknown browser".to_owned();
    };
    let Some(r) = PARSER.parse(ua) else {
        return "Unknown browser".to_owned();
    };
    // Programs (curl, HTTP libraries): their own product token, "curl/8.5.0" → "curl 8".
    if r.name == "HTTP Library" || r.category == "crawler" {
        let product = ua.split_whitespace().next().unwrap_or(ua);
        return match product.split_once('/') {
            Some((name, version)) => {
                format!("{name} {}", version.split('.').next().unwrap_or(version))
            }
            None => product.to_owned(),
        }
        .chars()
        .take(60)
        .collect();
    }
    let browser = match (r.name, r.version) {
        (UNKNOWN, _) | ("", _) => None,
        (name, UNKNOWN | "") => Some(name.to_owned()),
        (name, version) => {
            let major = version.split('.').next().unwrap_or(version);
            Some(format!("{name} {major}"))
        }
    };
    let os = match r.os {
        UNKNOWN | "" => None,
        "Mac OSX" => Some("macOS"),
        os => Some(os),
    };
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b,
        (None, Some(o)) => format!("A browser on {o}"),
        (None, None) => "Unknown browser".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_named_by_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on Windows 10",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
        ];
        for (ua, want) in cases {
            assert_eq!(describe(Some(ua)), want, "{ua}");
        }
    }

    #[test]
    fn unknown_or_missing_agents_say_so() {
        assert_eq!(describe(None), "Unknown browser");
        assert_eq!(describe(Some("   ")), "Unknown browser");
        assert_eq!(describe(Some("\u{0}\u{1}garbage")), "Unknown browser");
        assert_eq!(describe(Some("curl/8.5.0")), "curl 8");
    }
}
