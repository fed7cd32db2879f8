//! Domain types: parse, don't validate. Each newtype's `parse` is the only way to build it.

pub mod currency;
pub mod date;
pub mod money;
pub mod text;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

pub use currency::Currency;
pub use date::{Month, SpentOn};
pub use money::{Money, format_minor};
pub use text::{DepartmentName, Description, Reason};

/// Field errors, `{"field": ["message", …]}` — the JSON error shape of the contract and what
/// the HTML forms show beside each input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a message for a field.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Keeps the value on success, records the message under `field` on failure.
    pub fn check<T>(&mut self, field: &str, result: Result<T, impl Into<String>>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e);
                None
            }
        }
    }

    /// True when nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for a field (what a form shows under the input).
    #[must_use]
    pub fn first(&self, field: &str) -> Option<&str> {
        self.0
            .get(field)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every message, for the summary at the top of a form.
    #[must_use]
    pub fn all(&self) -> Vec<String> {
        self.0.values().flatten().cloned().collect()
    }
}

/// Where an expense is in its review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpenseStatus {
    /// Waiting for an admin or owner; its owner may still edit or delete it.
    Pending,
    /// Accepted by a reviewer.
    Approved,
    /// Refused by a reviewer, with a reason.
    Rejected,
}

impl ExpenseStatus {
    /// The stored and displayed name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
}

impl FromStr for ExpenseStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            _ => Err("Choose pending, approved or rejected.".into()),
        }
    }
}

impl fmt::Display for ExpenseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An expense as typed into the form or sent as JSON, before validation.
#[derive(Clone, Debug, Default)]
pub struct ExpenseInput {
    /// Decimal amount, e.g. `12.34`.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Free text.
    pub description: String,
    /// `YYYY-MM-DD`.
    pub spent_on: String,
    /// A department id (of the same tenant: checked against the database).
    pub department_id: String,
}

/// A validated expense (the department's tenant is checked by the repository).
#[derive(Clone, Debug)]
pub struct ValidExpense {
    /// Amount and currency.
    pub money: Money,
    /// Description.
    pub description: Description,
    /// Day spent.
    pub spent_on: SpentOn,
    /// Department id, syntactically valid.
    pub department_id: Uuid,
}

impl ExpenseInput {
    /// Validates every field, collecting all problems at once.
    ///
    /// # Errors
    /// The field map when anything is wrong.
    pub fn validate(&self, today: NaiveDate) -> Result<ValidExpense, FieldErrors> {
        let mut errors = FieldErrors::new();
        let currency = errors.check("currency", Currency::parse(&self.currency));
        let money = currency.and_then(|c| errors.check("amount", Money::parse(&self.amount, c)));
        // Without a currency the decimals can't be judged, but the shape and sign can.
        if currency.is_none() && !money::looks_like_positive_decimal(&self.amount) {
            errors.add("amount", "Enter an amount greater than zero, like 12.34.");
        }
        let description = errors.check("description", Description::parse(&self.description));
        let spent_on = errors.check("spent_on", SpentOn::parse(&self.spent_on, today));
        let department_id = errors.check(
            "department_id",
            Uuid::parse_str(self.department_id.trim()).map_err(|_| "Choose a department."),
        );
        match (money, description, spent_on, department_id) {
            (Some(money), Some(description), Some(spent_on), Some(department_id))
                if errors.is_empty() =>
            {
                Ok(ValidExpense {
                    money,
                    description,
                    spent_on,
                    department_id,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn a_good_expense_validates() {
        let input = ExpenseInput {
            amount: "12.34".into(),
            currency: "eur".into(),
            description: "Taxi".into(),
            spent_on: "2026-11-20".into(),
            department_id: Uuid::nil().to_string(),
        };
        let v = input.validate(today()).unwrap();
        assert_eq!(v.money.minor(), 1234);
        assert_eq!(v.money.currency().code(), "EUR");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let input = ExpenseInput {
            currency: "ZZZ".into(),
            ..Default::default()
        };
        let errors = input.validate(today()).unwrap_err();
        for field in [
            "amount",
            "currency",
            "description",
            "spent_on",
            "department_id",
        ] {
            assert!(
                errors.first(field).is_some(),
                "{field} missing in {errors:?}"
            );
        }
        let json = serde_json::to_value(&errors).unwrap();
        assert!(json["currency"][0].as_str().unwrap().contains("ISO 4217"));
    }

    #[test]
    fn status_round_trips() {
        for s in [
            ExpenseStatus::Pending,
            ExpenseStatus::Approved,
            ExpenseStatus::Rejected,
        ] {
            assert_eq!(s.as_str().parse::<ExpenseStatus>().unwrap(), s);
        }
        assert!("PENDING".parse::<ExpenseStatus>().is_err());
    }
}
