//! The product catalog: the categories and products the bot can talk about, read from a TOML or
//! JSON file (or the bundled demo shop) and validated once, at load, so the rest of the bot can
//! trust every id, category and price it sees.
//!
//! # File format
//!
//! ```toml
//! currency = "USD"                # ISO 4217, one currency for the whole catalog
//!
//! [[categories]]
//! id = "phones"                   # lowercase letters, digits and '-'; unique
//! name = "Phones"
//! aliases = ["phone", "mobile"]   # optional: words shoppers use for it
//!
//! [[products]]
//! id = "nova-x1"                  # lowercase letters, digits and '-'; unique
//! name = "Nova X1"
//! category = "phones"             # the id of a category above
//! price = 799.00                  # major units, at most 2 decimals; "799.00" also accepted
//! description = "A balanced flagship phone."
//! specs = [{ name = "storage", value = "128 GB" }]   # optional, kept in file order
//! aliases = ["nova", "x1"]        # optional: short names and common misspellings
//! stock = 14                      # units on hand, 0 = sold out
//! ```
//!
//! JSON has the same structure (`{"currency": "USD", "categories": [..], "products": [..]}`).
//! Prices are read from the number's own text, never through a float, so `0.10` is exactly 10
//! cents. Every currency is assumed to have 2 decimal places. Unknown fields are rejected, and
//! every error names the file, the line and the field at fault.

mod load;
mod quantity;
mod raw;
mod shop;
mod span;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use events_schema::{Currency, Money};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use load::{Source, path_of};
use raw::RawCatalog;
use span::line_at;

pub use quantity::{Unit, show as show_quantity};
pub use shop::{Better, Faq, Policy, Shop, SpecKind, Texts, Topic, Use};

use crate::language::Language;

/// The bundled demo shop, parsed by [`Catalog::demo`].
const DEMO_TOML: &str = include_str!("../../catalog/demo.toml");

/// A validated catalog: ids are unique, every product's category exists, prices are positive.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    currency: Currency,
    shop: Shop,
    spec_kinds: Vec<SpecKind>,
    uses: Vec<Use>,
    /// Other specs' names per language, by the name products use.
    spec_names: BTreeMap<String, Texts>,
    categories: Vec<Category>,
    products: Vec<Product>,
    /// The catalog's names and words as the rules match them, made on first use.
    words: crate::engine::names::Cached,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: String,
    /// How the bot names the category to shoppers.
    pub name: String,
    /// Other words shoppers use for it ("phone", "mobile"), for matching messages.
    pub aliases: Vec<String>,
    /// Needs every product of the category serves (ids of the catalog's uses).
    pub uses: Vec<String>,
    /// The name in other languages.
    pub names: Texts,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: String,
    pub name: String,
    /// The id of one of the catalog's categories.
    pub category: String,
    /// Always in the catalog's currency.
    pub price: Money,
    pub description: String,
    /// In file order, which is the order the bot lists them in.
    pub specs: Vec<Spec>,
    /// Short names and misspellings shoppers type ("nova", "x1"), for matching messages.
    pub aliases: Vec<String>,
    pub stock: u32,
    /// Needs the product serves (ids of the catalog's uses), besides its category's.
    pub uses: Vec<String>,
    /// The values of specs that have a kind, read once as thousandths of the kind's unit.
    pub measures: Vec<Measure>,
    /// The name in other languages (usually none: brand names stay).
    pub names: Texts,
    /// The description in other languages.
    pub descriptions: Texts,
}

/// A spec value as a comparable quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// The spec kind's name (`battery life`).
    pub kind: String,
    /// Thousandths of the kind's unit.
    pub thousandths: i64,
}

impl Product {
    /// The product's value of a spec kind, if it has that spec.
    pub fn measure(&self, kind: &str) -> Option<i64> {
        self.measures
            .iter()
            .find(|m| m.kind == kind)
            .map(|m| m.thousandths)
    }

    /// The description in `language`, or the one written in English.
    pub fn description(&self, language: Language) -> &str {
        self.descriptions
            .exactly(language)
            .unwrap_or(&self.description)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    pub value: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read: check the path and its permissions.
    #[error("cannot read catalog {}: {cause}; check the path and that the file is readable", path.display())]
    Read {
        path: PathBuf,
        /// Not a `#[source]`: the message already quotes it, and a chain would repeat it.
        cause: std::io::Error,
    },
    /// The format is chosen by extension: rename the file or convert it.
    #[error("catalog {}: unknown file type; use a .toml or .json file", path.display())]
    UnknownFormat { path: PathBuf },
    /// The file is not a valid catalog: fix `field` at `line` as the message says.
    #[error("{origin} line {line}: {}{message}", field_prefix(field))]
    Invalid {
        origin: String,
        line: usize,
        /// The field path, like `products[3].price`; empty for syntax errors.
        field: String,
        message: String,
    },
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

impl Catalog {
    /// The bundled demo electronics shop.
    ///
    /// This returns a `Result` although it cannot fail in a released build: the demo file is
    /// compiled in and `demo_catalog_*` tests parse it. Returning `Catalog` would need either a
    /// panic or a silent fallback for the impossible case; a `?` at start-up is cheaper than both.
    pub fn demo() -> Result<Catalog, CatalogError> {
        Self::from_toml(DEMO_TOML, "demo.toml")
    }

    /// Reads a catalog file; the extension (`.toml` or `.json`) picks the format.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let parse = match extension.to_ascii_lowercase().as_str() {
            "toml" => Self::from_toml,
            "json" => Self::from_json,
            _ => return Err(CatalogError::UnknownFormat { path: path.into() }),
        };
        let text = std::fs::read_to_string(path).map_err(|cause| CatalogError::Read {
            path: path.to_owned(),
            cause,
        })?;
        parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names the text in error messages (usually the file name).
    pub fn from_toml(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let toml_error = |field: String, error: toml::de::Error| CatalogError::Invalid {
            origin: origin.to_owned(),
            line: error.span().map_or(1, |span| line_at(text, span.start)),
            field,
            message: error.message().trim().to_owned(),
        };
        let root = DeTable::parse(text).map_err(|e| toml_error(String::new(), e))?;
        let raw: RawCatalog =
            serde_path_to_error::deserialize(toml::Deserializer::from(root.clone()))
                .map_err(|e| toml_error(path_of(e.path()), e.into_inner()))?;
        Source {
            text,
            origin,
            toml: Some(root),
        }
        .validate(raw)
    }

    /// Parses JSON text; `origin` names the text in error messages (usually the file name).
    pub(crate) fn from_json(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let json_error = |field: String, error: serde_json::Error| {
            let full = error.to_string();
            let position = format!(" at line {} column {}", error.line(), error.column());
            CatalogError::Invalid {
                origin: origin.to_owned(),
                line: error.line().max(1),
                field,
                message: full.strip_suffix(&position).unwrap_or(&full).to_owned(),
            }
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let raw: RawCatalog = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| json_error(path_of(e.path()), e.into_inner()))?;
        deserializer
            .end()
            .map_err(|e| json_error(String::new(), e))?;
        Source {
            text,
            origin,
            toml: None,
        }
        .validate(raw)
    }

    /// All products, in file order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// All categories, in file order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The products of one category, in file order; empty for an unknown category id.
    pub fn in_category(&self, category_id: &str) -> impl Iterator<Item = &Product> {
        self.products
            .iter()
            .filter(move |p| p.category == category_id)
    }

    /// The one currency every price in the catalog is in.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The shop's name, policies and FAQ.
    pub fn shop(&self) -> &Shop {
        &self.shop
    }

    /// How specs compare, in file order.
    pub(crate) fn spec_kinds(&self) -> &[SpecKind] {
        &self.spec_kinds
    }

    pub(crate) fn spec_kind(&self, name: &str) -> Option<&SpecKind> {
        self.spec_kinds.iter().find(|k| k.name == name)
    }

    /// How the spec `name` is written in `language`: the spec kind's name or the catalog's
    /// `[spec_names]` entry there, else as products write it.
    pub(crate) fn spec_label<'a>(&'a self, name: &'a str, language: Language) -> &'a str {
        self.spec_kind(name)
            .and_then(|k| k.names.exactly(language))
            .or_else(|| self.spec_names.get(name).and_then(|t| t.exactly(language)))
            .unwrap_or(name)
    }

    /// The needs products serve, in file order.
    pub fn uses(&self) -> &[Use] {
        &self.uses
    }

    pub(crate) fn use_named(&self, id: &str) -> Option<&Use> {
        self.uses.iter().find(|u| u.id == id)
    }

    /// The catalog's names and words as the rules match them.
    pub(crate) fn words(&self) -> &crate::engine::names::CatalogWords {
        self.words.get(self)
    }

    /// Whether `product` serves the need `use_id`, itself or through its category.
    pub fn serves(&self, product: &Product, use_id: &str) -> bool {
        product.uses.iter().any(|u| u == use_id)
            || self
                .category(&product.category)
                .is_some_and(|c| c.uses.iter().any(|u| u == use_id))
    }
}
