//! Free-text newtypes: a description, a department name, a review reason.

/// Characters refused in free text: control characters other than newline and tab, and the
/// bidirectional overrides that make text display differently from what it is.
fn has_forbidden_chars(s: &str) -> bool {
    s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t' && c != '\r')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// Trims, then checks length (in characters) and content.
fn checked(input: &str, what: &str, max: usize, required: bool) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() && required {
        return Err(format!("Enter {what}."));
    }
    if s.chars().count() > max {
        return Err(format!("Use at most {max} characters."));
    }
    if has_forbidden_chars(s) {
        return Err("Remove the control characters.".into());
    }
    Ok(s.to_owned())
}

/// An expense description: 1 to 500 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// Maximum length in characters.
    pub const MAX: usize = 500;

    /// # Errors
    /// A user-facing message when empty, longer than 500 characters or containing control characters.
    pub fn parse(input: &str) -> Result<Self, String> {
        checked(input, "a description", Self::MAX, true).map(Self)
    }

    /// The text.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A department name: 1 to 100 characters, unique per tenant (the database says which).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentName(String);

impl DepartmentName {
    /// Maximum length in characters.
    pub const MAX: usize = 100;

    /// # Errors
    /// A user-facing message when empty, too long or containing control characters.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = checked(input, "a name", Self::MAX, true)?;
        if s.contains('\n') || s.contains('\r') || s.contains('\t') {
            return Err("Use a single line.".into());
        }
        Ok(Self(s))
    }

    /// The name.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A review reason: optional when approving, required when rejecting, at most 500 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(Option<String>);

impl Reason {
    /// Maximum length in characters.
    pub const MAX: usize = 500;

    /// # Errors
    /// A user-facing message when required and empty, too long, or containing control characters.
    pub fn parse(input: Option<&str>, required: bool) -> Result<Self, String> {
        let s = checked(input.unwrap_or(""), "a reason", Self::MAX, required)?;
        Ok(Self((!s.is_empty()).then_some(s)))
    }

    /// The reason, if any.
    #[must_use]
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_is_trimmed_and_bounded() {
        assert_eq!(Description::parse("  Taxi  ").unwrap().into_inner(), "Taxi");
        assert!(Description::parse("   ").is_err());
        assert!(Description::parse(&"é".repeat(500)).is_ok());
        assert!(Description::parse(&"é".repeat(501)).is_err());
        assert!(Description::parse("a\u{0}b").is_err());
        assert!(Description::parse("evil\u{202E}txt").is_err());
        assert!(Description::parse("line one\nline two").is_ok());
    }

    #[test]
    fn department_name_is_one_line() {
        assert_eq!(
            DepartmentName::parse(" Sales ").unwrap().into_inner(),
            "Sales"
        );
        assert!(DepartmentName::parse("").is_err());
        assert!(DepartmentName::parse("a\nb").is_err());
        assert!(DepartmentName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn reason_is_required_only_when_asked() {
        assert_eq!(Reason::parse(None, false).unwrap().into_inner(), None);
        assert_eq!(Reason::parse(Some("  "), false).unwrap().into_inner(), None);
        assert!(Reason::parse(Some(" "), true).is_err());
        assert_eq!(
            Reason::parse(Some("dup"), true)
                .unwrap()
                .into_inner()
                .as_deref(),
            Some("dup")
        );
        assert!(Reason::parse(Some(&"x".repeat(501)), false).is_err());
    }
}
