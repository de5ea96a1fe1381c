//! Parameters whose schema says exactly which values a route takes: the choices of `days`,
//! `sort` and `order`, dates and date-times, user ids. The value arrives as text and the route
//! checks it itself, so a wrong one gets a 400 whose message names what is taken.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::param::Query;

use crate::error::ApiError;
use crate::period::clip;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};
use serde_json::Value;

/// What a parameter takes, as the spec shows it.
pub trait Shape: Send + Sync + 'static {
    /// The name poem-openapi gives the type (in its own parse errors).
    const NAME: &'static str;
    fn schema() -> MetaSchema;
}

/// The text of a parameter of shape `S`.
pub struct Text<S>(String, PhantomData<S>);

impl<S> Text<S> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S> std::fmt::Debug for Text<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Shape> Type for Text<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        S::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(S::schema()))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<S: Shape> ParseFromParameter for Text<S> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Text(value.to_owned(), PhantomData))
    }
}

fn choices(ty: &'static str, format: Option<&'static str>, items: Vec<Value>) -> MetaSchema {
    MetaSchema {
        format,
        enum_items: items,
        ..MetaSchema::new(ty)
    }
}

fn words(words: &[&str]) -> MetaSchema {
    choices(
        "string",
        None,
        words.iter().map(|w| Value::from(*w)).collect(),
    )
}

/// `days`: 7, 14, 30 or 90.
#[derive(Debug)]
pub struct Days;

impl Shape for Days {
    const NAME: &'static str = "Days";
    fn schema() -> MetaSchema {
        choices(
            "integer",
            Some("int64"),
            crate::period::DAY_CHOICES
                .iter()
                .map(|d| Value::from(*d))
                .collect(),
        )
    }
}

/// `from` and `to`: an RFC 3339 date or date-time (with an offset); never both at once, so
/// `oneOf`, which client generators turn into a choice of the two.
#[derive(Debug)]
pub struct Day;

impl Shape for Day {
    const NAME: &'static str = "DateOrDateTime";
    fn schema() -> MetaSchema {
        let string =
            |format| MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", format)));
        MetaSchema {
            one_of: vec![string("date"), string("date-time")],
            ..MetaSchema::new("string")
        }
    }
}

/// `as_of`: a log position (an integer, 0 or more) or an RFC 3339 date-time; `oneOf`, as
/// with [`Day`].
#[derive(Debug)]
pub struct AsOf;

impl Shape for AsOf {
    const NAME: &'static str = "PositionOrDateTime";
    fn schema() -> MetaSchema {
        let position = MetaSchema {
            minimum: Some(0.0),
            ..MetaSchema::new_with_format("integer", "int64")
        };
        MetaSchema {
            one_of: vec![
                MetaSchemaRef::Inline(Box::new(position)),
                MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time"))),
            ],
            ..MetaSchema::new("string")
        }
    }
}

/// `order`: `asc` or `desc`.
#[derive(Debug)]
pub struct Order;

impl Shape for Order {
    const NAME: &'static str = "Order";
    fn schema() -> MetaSchema {
        words(&["asc", "desc"])
    }
}

/// `sort` of the product figures.
#[derive(Debug)]
pub struct ProductSort;

impl Shape for ProductSort {
    const NAME: &'static str = "ProductSort";
    fn schema() -> MetaSchema {
        words(crate::figures::PRODUCT_SORTS)
    }
}

/// `sort` of the user list.
#[derive(Debug)]
pub struct UserSort;

impl Shape for UserSort {
    const NAME: &'static str = "UserSort";
    fn schema() -> MetaSchema {
        words(crate::read::UserSort::NAMES)
    }
}

/// A user id: `web:` and 1–64 letters, digits, `_`, `-` or `.`, or `telegram:` and a 64-bit
/// integer (events-schema's `UserId`).
#[derive(Debug)]
pub struct UserId;

impl Shape for UserId {
    const NAME: &'static str = "UserId";
    fn schema() -> MetaSchema {
        MetaSchema {
            pattern: Some(USER_ID_PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }
    }
}

/// 18 digits at most, so that every id the pattern admits fits in an `i64` (Telegram's ids are
/// far shorter); a longer one is not found.
pub const USER_ID_PATTERN: &str = r"^(web:[A-Za-z0-9_.\-]{1,64}|telegram:-?[0-9]{1,18})$";

/// Page sizes.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 50;
pub(crate) const MAX_PAGE_SIZE: i64 = 500;
/// Longest search string.
pub(crate) const MAX_SEARCH: usize = 200;

/// The text of an optional parameter.
pub(crate) fn text<S: Shape>(param: &Query<Option<Text<S>>>) -> Option<&str> {
    param.0.as_ref().map(Text::as_str)
}

pub(crate) fn descending(order: Option<&str>) -> Result<bool, ApiError> {
    match order.unwrap_or("desc") {
        "desc" => Ok(true),
        "asc" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "`order` must be `asc` or `desc` (got `{}`)",
            clip(other)
        ))),
    }
}

pub(crate) fn order_name(descending: bool) -> String {
    if descending { "desc" } else { "asc" }.to_owned()
}

/// The search text without the spaces around it (blank is no search). Longer than the spec's
/// `maxLength` as given is refused, spaces included, so the spec and the route agree.
pub(crate) fn search_text(search: Option<&str>) -> Result<Option<String>, ApiError> {
    match search {
        Some(s) if s.chars().count() > MAX_SEARCH => Err(ApiError::bad_request(format!(
            "`search` is at most {MAX_SEARCH} characters"
        ))),
        // The read tables show a NUL as U+FFFD (Postgres cannot hold one), so that is what a
        // NUL in the search finds.
        other => Ok(other
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.replace('\0', "\u{FFFD}"))),
    }
}

pub(crate) fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64), ApiError> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page < 1 {
        return Err(ApiError::bad_request("`page` starts at 1"));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::bad_request(format!(
            "`page_size` must be 1–{MAX_PAGE_SIZE}"
        )));
    }
    Ok((page, size))
}
