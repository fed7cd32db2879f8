//! The JSON request body: `Content-Type: application/json` (else `415`), at most the
//! app's body limit (else `413`), valid JSON (else `400 {"detail": "JSON parse error …"}`),
//! and an object (else `400 {"non_field_errors": […]}`). Fields are then read one by
//! one, collecting every problem into one DRF-style field map, so a client sees all its
//! mistakes at once and never a serde message about Rust types.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use crate::error::{AppError, FieldErrors};

/// "This field is required."
pub const REQUIRED: &str = "This field is required.";
/// "This field may not be blank."
pub const BLANK: &str = "This field may not be blank.";
/// "Not a valid string."
pub const NOT_STRING: &str = "Not a valid string.";

/// Whether the request says its body is JSON (`application/json`, any parameters, or
/// an `application/*+json` type).
#[must_use]
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// A JSON object body.
#[derive(Debug, Default)]
pub struct JsonBody(pub Map<String, Value>);

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            let given = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| crate::infra::audit::truncate(v, 100))
                .unwrap_or_default();
            return Err(AppError::UnsupportedMediaType(given));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("The request body could not be read.".into())
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(other) => Err(AppError::Fields(FieldErrors::single(
                "non_field_errors",
                format!(
                    "Invalid data. Expected a dictionary, but got {}.",
                    type_name(&other)
                ),
            ))),
            // serde_json's message names a line and column, never the input.
            Err(e) => Err(AppError::BadRequest(
                format!("JSON parse error - {e}").into(),
            )),
        }
    }
}

impl JsonBody {
    /// A required string, trimmed, not blank.
    pub fn string(&self, name: &str, errors: &mut FieldErrors) -> Option<String> {
        let s = self.raw(name, errors)?;
        let t = s.trim();
        if t.is_empty() {
            errors.add(name, BLANK);
            return None;
        }
        Some(t.to_owned())
    }

    /// A required string exactly as sent (passwords), not empty.
    pub fn raw(&self, name: &str, errors: &mut FieldErrors) -> Option<String> {
        match self.0.get(name) {
            None | Some(Value::Null) => {
                errors.add(name, REQUIRED);
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                errors.add(name, BLANK);
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.add(name, NOT_STRING);
                None
            }
        }
    }

    /// An optional string (absent or null = `None`), trimmed; blank is an error.
    pub fn opt_string(&self, name: &str, errors: &mut FieldErrors) -> Option<String> {
        match self.0.get(name) {
            None | Some(Value::Null) => None,
            Some(_) => self.string(name, errors),
        }
    }

    /// Whether the field is present and not null.
    #[must_use]
    pub fn present(&self, name: &str) -> bool {
        !matches!(self.0.get(name), None | Some(Value::Null))
    }

    /// An optional boolean (absent or null = `None`).
    pub fn opt_bool(&self, name: &str, errors: &mut FieldErrors) -> Option<bool> {
        match self.0.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                errors.add(name, "Must be a valid boolean.");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_media_types_count_as_json() {
        let with = |ct: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(ct));
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        for not in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
            "text/json+x",
        ] {
            assert!(!with(not), "{not}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
