//! [`JsonString`]: a body field that takes a JSON string and nothing else.
//!
//! poem-openapi's `String` also takes a number or a boolean and turns it into text (`{"text":
//! 42}` was recorded as the message "42"), although the spec it writes says `type: string`.
//! The chat route's fields use this type instead, so what the spec refuses the route refuses
//! (400), and the spec stays exactly what `String` gives (same schema, same validators).

use std::borrow::Cow;

use poem_openapi::registry::MetaSchemaRef;
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonString(pub String);

impl Type for JsonString {
    const IS_REQUIRED: bool = true;

    // Validators (`min_length`, `max_length`, `pattern`) check the string itself.
    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for JsonString {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(JsonString(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for JsonString {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_json_string_is_taken() {
        let parse = |v: Value| JsonString::parse_from_json(Some(v)).map(|s| s.0);
        assert_eq!(parse(Value::from("\u{0}hi ")).ok(), Some("\u{0}hi ".into()));
        for other in [
            Value::from(42),
            Value::from(1.5),
            Value::from(true),
            Value::Null,
            serde_json::json!(["hi"]),
            serde_json::json!({"hi": 1}),
        ] {
            assert!(parse(other.clone()).is_err(), "{other}");
        }
        assert_eq!(JsonString::schema_ref(), String::schema_ref());
    }
}
