//! Field errors: the DRF shape of a 400 (`{"field": ["message", …]}`).

use std::collections::BTreeMap;

use super::AppError;

/// Field name → messages, in a stable order (the DRF shape of a 400).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub(super) BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// Adds a message to `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Whether any field has a message.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when empty, else the 400 error.
    ///
    /// # Errors
    /// [`AppError::Fields`] when any field has a message.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Fields(self))
        }
    }

    /// A map with one field and one message.
    #[must_use]
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut f = Self::default();
        f.add(field, message);
        f
    }
}
