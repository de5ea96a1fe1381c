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

mod quantity;
mod shop;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use events_schema::{Currency, Money};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

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
    pub fn from_json(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
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
    pub fn spec_kinds(&self) -> &[SpecKind] {
        &self.spec_kinds
    }

    pub fn spec_kind(&self, name: &str) -> Option<&SpecKind> {
        self.spec_kinds.iter().find(|k| k.name == name)
    }

    /// How the spec `name` is written in `language`: the spec kind's name or the catalog's
    /// `[spec_names]` entry there, else as products write it.
    pub fn spec_label<'a>(&'a self, name: &'a str, language: Language) -> &'a str {
        self.spec_kind(name)
            .and_then(|k| k.names.exactly(language))
            .or_else(|| self.spec_names.get(name).and_then(|t| t.exactly(language)))
            .unwrap_or(name)
    }

    /// The needs products serve, in file order.
    pub fn uses(&self) -> &[Use] {
        &self.uses
    }

    pub fn use_named(&self, id: &str) -> Option<&Use> {
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

/// The file as serde sees it; [`Source::validate`] turns it into a [`Catalog`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    currency: String,
    #[serde(default)]
    shop: Option<RawShop>,
    #[serde(default)]
    spec_kinds: Vec<RawSpecKind>,
    #[serde(default)]
    uses: Vec<RawUse>,
    #[serde(default)]
    spec_names: BTreeMap<String, BTreeMap<String, String>>,
    categories: Vec<RawCategory>,
    products: Vec<RawProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShop {
    name: String,
    #[serde(default)]
    policies: Vec<RawPolicy>,
    #[serde(default)]
    faq: Vec<RawFaq>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    topic: String,
    answer: BTreeMap<String, String>,
    #[serde(default)]
    phrasings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaq {
    id: String,
    phrasings: Vec<String>,
    answer: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpecKind {
    name: String,
    unit: String,
    better: RawBetter,
    words: Vec<String>,
    #[serde(default)]
    more: Vec<String>,
    #[serde(default)]
    less: Vec<String>,
    #[serde(default)]
    translations: BTreeMap<String, RawName>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawBetter {
    More,
    Less,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUse {
    id: String,
    words: Vec<String>,
    #[serde(default)]
    translations: BTreeMap<String, RawName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawName {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    uses: Vec<String>,
    #[serde(default)]
    translations: BTreeMap<String, RawName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProductText {
    name: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    id: String,
    name: String,
    category: String,
    /// Only checked to be present: [`Source::validate`] reads the price's own text back through
    /// [`Source::span`], as serde would hand over a rounded `f64`.
    #[serde(rename = "price")]
    _price: serde::de::IgnoredAny,
    description: String,
    #[serde(default)]
    specs: Vec<Spec>,
    #[serde(default)]
    aliases: Vec<String>,
    stock: u32,
    #[serde(default)]
    uses: Vec<String>,
    #[serde(default)]
    translations: BTreeMap<String, RawProductText>,
}

/// One step of a field path such as `products[3].price`.
#[derive(Clone, Copy)]
enum Seg {
    Key(&'static str),
    Index(usize),
}

fn path_of(path: &serde_path_to_error::Path) -> String {
    if path.iter().next().is_none() {
        String::new()
    } else {
        path.to_string()
    }
}

/// The text being loaded, kept to point errors at lines and to read prices exactly.
struct Source<'a> {
    text: &'a str,
    origin: &'a str,
    /// The TOML document with spans, or `None` for JSON.
    toml: Option<Spanned<DeTable<'a>>>,
}

impl Source<'_> {
    fn validate(&self, raw: RawCatalog) -> Result<Catalog, CatalogError> {
        use Seg::{Index, Key};
        let currency = Currency::new(&raw.currency)
            .map_err(|e| self.invalid(&[Key("currency")], e.to_string()))?;
        if raw.categories.is_empty() {
            return Err(self.invalid(&[Key("categories")], "add at least one category"));
        }
        if raw.products.is_empty() {
            return Err(self.invalid(&[Key("products")], "add at least one product"));
        }
        let shop = match raw.shop {
            Some(shop) => self.shop(shop)?,
            None => Shop::default(),
        };

        let mut spec_kinds: Vec<SpecKind> = Vec::with_capacity(raw.spec_kinds.len());
        for (i, raw) in raw.spec_kinds.into_iter().enumerate() {
            let at = |field| [Key("spec_kinds"), Index(i), Key(field)];
            self.check_text(&at("name"), &raw.name, "a name")?;
            if let Some(first) = spec_kinds.iter().position(|k| k.name == raw.name) {
                let message = format!("\"{}\" already has a kind at spec_kinds[{first}]", raw.name);
                return Err(self.invalid(&at("name"), message));
            }
            let unit = Unit::parse(&raw.unit).ok_or_else(|| {
                let message = format!("unknown unit \"{}\" (known: {})", raw.unit, Unit::known());
                self.invalid(&at("unit"), message)
            })?;
            self.check_words(&at("words"), &raw.words, true)?;
            self.check_words(&at("more"), &raw.more, false)?;
            self.check_words(&at("less"), &raw.less, false)?;
            spec_kinds.push(SpecKind {
                name: raw.name,
                unit,
                better: match raw.better {
                    RawBetter::More => Better::More,
                    RawBetter::Less => Better::Less,
                },
                words: lowered(raw.words),
                more: lowered(raw.more),
                less: lowered(raw.less),
                names: self.names(&at("translations"), raw.translations)?,
            });
        }

        let mut uses: Vec<Use> = Vec::with_capacity(raw.uses.len());
        for (i, raw) in raw.uses.into_iter().enumerate() {
            let at = |field| [Key("uses"), Index(i), Key(field)];
            let known = uses.iter().map(|u| u.id.as_str());
            self.check_id(&at("id"), &raw.id, "uses", known)?;
            self.check_words(&at("words"), &raw.words, true)?;
            uses.push(Use {
                id: raw.id,
                words: lowered(raw.words),
                names: self.names(&at("translations"), raw.translations)?,
            });
        }

        let mut categories: Vec<Category> = Vec::with_capacity(raw.categories.len());
        for (i, raw) in raw.categories.into_iter().enumerate() {
            let at = |field| [Key("categories"), Index(i), Key(field)];
            let known = categories.iter().map(|c| c.id.as_str());
            self.check_id(&at("id"), &raw.id, "categories", known)?;
            self.check_text(&at("name"), &raw.name, "a name")?;
            self.check_aliases(&at("aliases"), &raw.aliases)?;
            self.check_uses(&at("uses"), &raw.uses, &uses)?;
            categories.push(Category {
                id: raw.id,
                name: raw.name,
                aliases: raw.aliases,
                uses: raw.uses,
                names: self.names(&at("translations"), raw.translations)?,
            });
        }

        let mut products: Vec<Product> = Vec::with_capacity(raw.products.len());
        for (i, raw) in raw.products.into_iter().enumerate() {
            let at = |field| [Key("products"), Index(i), Key(field)];
            let known = products.iter().map(|p| p.id.as_str());
            self.check_id(&at("id"), &raw.id, "products", known)?;
            self.check_text(&at("name"), &raw.name, "a name")?;
            if !categories.iter().any(|c| c.id == raw.category) {
                let message = unknown_category(&raw.category, &categories);
                return Err(self.invalid(&at("category"), message));
            }
            let written = self.span(&at("price")).map_or("", |r| &self.text[r]);
            let text = written.trim_matches(|c| c == '"' || c == '\'');
            let amount_minor = match parse_price(text) {
                Some(0) => return Err(self.invalid(&at("price"), "a price must be above 0")),
                Some(minor) => minor,
                None => {
                    let message = format!("\"{text}\" is not a price like 12.50");
                    return Err(self.invalid(&at("price"), message));
                }
            };
            self.check_aliases(&at("aliases"), &raw.aliases)?;
            self.check_uses(&at("uses"), &raw.uses, &uses)?;
            let mut measures = Vec::new();
            for (j, spec) in raw.specs.iter().enumerate() {
                let Some(kind) = spec_kinds.iter().find(|k| k.name == spec.name) else {
                    continue;
                };
                let Some(thousandths) = quantity::read(&spec.value, kind.unit) else {
                    let message = format!(
                        "\"{}\" has no quantity in {} (the unit of the spec kind \"{}\"); write it like \"12 {}\"",
                        spec.value,
                        kind.unit.name(),
                        kind.name,
                        kind.unit.name()
                    );
                    let path = [
                        Key("products"),
                        Index(i),
                        Key("specs"),
                        Index(j),
                        Key("value"),
                    ];
                    return Err(self.invalid(&path, message));
                };
                measures.push(Measure {
                    kind: kind.name.clone(),
                    thousandths,
                });
            }
            let mut names = BTreeMap::new();
            let mut descriptions = BTreeMap::new();
            for (tag, text) in raw.translations {
                let language = self.language(&at("translations"), &tag)?;
                if let Some(name) = text.name {
                    names.insert(language, name);
                }
                if let Some(description) = text.description {
                    descriptions.insert(language, description);
                }
            }
            products.push(Product {
                id: raw.id,
                name: raw.name,
                category: raw.category,
                price: Money::new(amount_minor, currency.clone()),
                description: raw.description,
                specs: raw.specs,
                aliases: raw.aliases,
                stock: raw.stock,
                uses: raw.uses,
                measures,
                names: Texts(names),
                descriptions: Texts(descriptions),
            });
        }
        let mut spec_names = BTreeMap::new();
        for (name, texts) in raw.spec_names {
            let texts = self.texts(&[Key("spec_names")], texts)?;
            spec_names.insert(name, texts);
        }
        Ok(Catalog {
            currency,
            shop,
            spec_kinds,
            uses,
            spec_names,
            categories,
            products,
            words: Default::default(),
        })
    }

    fn shop(&self, raw: RawShop) -> Result<Shop, CatalogError> {
        use Seg::{Index, Key};
        self.check_text(&[Key("shop"), Key("name")], &raw.name, "a name")?;
        let mut policies: Vec<Policy> = Vec::with_capacity(raw.policies.len());
        for (i, raw) in raw.policies.into_iter().enumerate() {
            let at = |field| [Key("shop"), Key("policies"), Index(i), Key(field)];
            let topic = Topic::parse(&raw.topic).ok_or_else(|| {
                let known: Vec<&str> = Topic::ALL.iter().map(|t| t.as_str()).collect();
                let message = format!("unknown topic \"{}\" (known: {}); questions on other subjects go in [[shop.faq]]", raw.topic, known.join(", "));
                self.invalid(&at("topic"), message)
            })?;
            if policies.iter().any(|p| p.topic == topic) {
                let message = format!("the {} policy is already written above", raw.topic);
                return Err(self.invalid(&at("topic"), message));
            }
            self.check_words(&at("phrasings"), &raw.phrasings, false)?;
            policies.push(Policy {
                topic,
                answer: self.texts(&at("answer"), raw.answer)?,
                phrasings: lowered(raw.phrasings),
            });
        }
        let mut faq: Vec<Faq> = Vec::with_capacity(raw.faq.len());
        for (i, raw) in raw.faq.into_iter().enumerate() {
            let at = |field| [Key("shop"), Key("faq"), Index(i), Key(field)];
            let known = faq.iter().map(|f| f.id.as_str());
            self.check_id(&at("id"), &raw.id, "shop.faq", known)?;
            if Topic::parse(&raw.id).is_some() {
                let message = format!(
                    "\"{}\" is a policy topic; write it in [[shop.policies]]",
                    raw.id
                );
                return Err(self.invalid(&at("id"), message));
            }
            self.check_words(&at("phrasings"), &raw.phrasings, true)?;
            faq.push(Faq {
                id: raw.id,
                phrasings: lowered(raw.phrasings),
                answer: self.texts(&at("answer"), raw.answer)?,
            });
        }
        Ok(Shop {
            name: raw.name,
            policies,
            faq,
        })
    }

    /// Texts by language tag: at least one, every tag a language the bot speaks, none empty.
    fn texts(&self, path: &[Seg], raw: BTreeMap<String, String>) -> Result<Texts, CatalogError> {
        if raw.is_empty() {
            return Err(self.invalid(
                path,
                "write the text in at least one language, like answer.en = \"…\"",
            ));
        }
        let mut texts = BTreeMap::new();
        for (tag, text) in raw {
            let language = self.language(path, &tag)?;
            self.check_text(path, &text, "a text")?;
            texts.insert(language, text);
        }
        Ok(Texts(texts))
    }

    fn names(&self, path: &[Seg], raw: BTreeMap<String, RawName>) -> Result<Texts, CatalogError> {
        let raw: BTreeMap<String, String> = raw.into_iter().map(|(tag, n)| (tag, n.name)).collect();
        if raw.is_empty() {
            return Ok(Texts::default());
        }
        self.texts(path, raw)
    }

    fn language(&self, path: &[Seg], tag: &str) -> Result<Language, CatalogError> {
        Language::from_tag(tag)
            .filter(|l| l.code() == tag)
            .ok_or_else(|| {
                let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
                let message = format!(
                    "unknown language \"{tag}\" (the bot speaks {})",
                    known.join(", ")
                );
                self.invalid(path, message)
            })
    }

    fn check_words(
        &self,
        path: &[Seg],
        words: &[String],
        required: bool,
    ) -> Result<(), CatalogError> {
        if required && words.is_empty() {
            return Err(self.invalid(path, "list at least one word shoppers use"));
        }
        if words
            .iter()
            .any(|w| w.trim().trim_end_matches('*').is_empty())
        {
            return Err(self.invalid(path, "a word cannot be empty; remove the \"\""));
        }
        Ok(())
    }

    fn check_uses(&self, path: &[Seg], given: &[String], uses: &[Use]) -> Result<(), CatalogError> {
        if let Some(unknown) = given.iter().find(|g| !uses.iter().any(|u| &&u.id == g)) {
            let known: Vec<&str> = uses.iter().map(|u| u.id.as_str()).collect();
            let message = format!(
                "unknown use \"{unknown}\" (known: {}); declare it in [[uses]]",
                known.join(", ")
            );
            return Err(self.invalid(path, message));
        }
        Ok(())
    }

    fn check_id<'k>(
        &self,
        path: &[Seg],
        id: &str,
        list: &str,
        mut earlier: impl Iterator<Item = &'k str>,
    ) -> Result<(), CatalogError> {
        if id.is_empty() {
            return Err(self.invalid(path, "an id cannot be empty"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            let message = format!(
                "\"{id}\" is not an id; use lowercase letters, digits and '-', like \"{}\"",
                slug(id)
            );
            return Err(self.invalid(path, message));
        }
        if let Some(first) = earlier.position(|e| e == id) {
            let message =
                format!("\"{id}\" is already the id of {list}[{first}]; ids must be unique");
            return Err(self.invalid(path, message));
        }
        Ok(())
    }

    fn check_text(&self, path: &[Seg], text: &str, what: &str) -> Result<(), CatalogError> {
        if text.trim().is_empty() {
            return Err(self.invalid(path, format!("{what} cannot be empty")));
        }
        Ok(())
    }

    fn check_aliases(&self, path: &[Seg], aliases: &[String]) -> Result<(), CatalogError> {
        if aliases.iter().any(|a| a.trim().is_empty()) {
            return Err(self.invalid(path, "an alias cannot be empty; remove the \"\""));
        }
        Ok(())
    }

    /// An error at `path`, on the line of the deepest part of `path` found in the text.
    fn invalid(&self, path: &[Seg], message: impl Into<String>) -> CatalogError {
        let line = (0..=path.len())
            .rev()
            .find_map(|n| self.span(&path[..n]))
            .map_or(1, |span| line_at(self.text, span.start));
        let mut field = String::new();
        for seg in path {
            match seg {
                Seg::Key(key) if field.is_empty() => field.push_str(key),
                Seg::Key(key) => field = format!("{field}.{key}"),
                Seg::Index(i) => field = format!("{field}[{i}]"),
            }
        }
        CatalogError::Invalid {
            origin: self.origin.to_owned(),
            line,
            field,
            message: message.into(),
        }
    }

    /// Where the value at `path` is written in the text.
    fn span(&self, path: &[Seg]) -> Option<Range<usize>> {
        match &self.toml {
            Some(root) => toml_span(root, path),
            None => json_span(self.text, path),
        }
    }
}

fn toml_span(root: &Spanned<DeTable<'_>>, path: &[Seg]) -> Option<Range<usize>> {
    let mut span = root.span();
    let mut table = Some(root.get_ref());
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    for seg in path {
        let value = match *seg {
            Seg::Key(key) => table?.get(key)?,
            Seg::Index(i) => array?.get(i)?,
        };
        span = value.span();
        table = value.get_ref().as_table();
        array = value.get_ref().as_array().map(|a| &a[..]);
    }
    Some(span)
}

/// Finds a value in JSON text already known to be valid, by stepping over what precedes it.
fn json_span(text: &str, path: &[Seg]) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let mut at = skip_space(b, 0);
    for seg in path {
        let opener = b.get(at).copied();
        at = skip_space(b, at + 1);
        match *seg {
            Seg::Key(key) if opener == Some(b'{') => loop {
                let key_end = json_end(b, at).filter(|_| b[at] == b'"')?;
                let value = skip_space(b, skip_space(b, key_end) + 1);
                if &b[at + 1..key_end - 1] == key.as_bytes() {
                    at = value;
                    break;
                }
                at = json_next(b, value)?;
            },
            Seg::Index(i) if opener == Some(b'[') => {
                for _ in 0..i {
                    at = json_next(b, at)?;
                }
            }
            _ => return None,
        }
    }
    Some(at..json_end(b, at)?)
}

/// The start of the item after the one at `at` in an object or array, if there is one.
fn json_next(b: &[u8], at: usize) -> Option<usize> {
    let after = skip_space(b, json_end(b, at)?);
    (b.get(after) == Some(&b',')).then(|| skip_space(b, after + 1))
}

fn skip_space(b: &[u8], mut at: usize) -> usize {
    while b.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The end of the JSON value starting at `at`.
fn json_end(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at)? {
        b'"' => {
            let mut i = at + 1;
            loop {
                match b.get(i)? {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
        }
        b'{' | b'[' => {
            let (mut i, mut depth) = (at, 0usize);
            loop {
                match b.get(i)? {
                    b'"' => i = json_end(b, i)? - 1,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 1 => return Some(i + 1),
                    b'}' | b']' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
        }
        b']' | b'}' | b',' => None,
        _ => Some(
            b[at..]
                .iter()
                .position(|c| b",]} \t\r\n".contains(c))
                .map_or(b.len(), |n| at + n),
        ),
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `799`, `799.5` or `799.00` in minor units (2 decimals); `None` for anything else.
fn parse_price(text: &str) -> Option<i64> {
    let (whole, cents) = match text.split_once('.') {
        Some((whole, fraction)) if (1..=2).contains(&fraction.len()) => {
            (whole, format!("{fraction:0<2}"))
        }
        Some(_) => return None,
        None => (text, "00".to_owned()),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(&cents) {
        return None;
    }
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents.parse().ok()?)
}

fn unknown_category(given: &str, categories: &[Category]) -> String {
    let known: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
    let mut message = format!("unknown category \"{given}\" (known: {})", known.join(", "));
    let lowered = given.to_lowercase();
    let distance = |c: &Category| match c.aliases.iter().any(|a| a.to_lowercase() == lowered) {
        true => 0,
        false => strsim::levenshtein(&lowered, &c.id),
    };
    let closest = categories.iter().min_by_key(|c| distance(c));
    if let Some(category) = closest.filter(|c| distance(c) <= 2) {
        message.push_str(&format!("; did you mean \"{}\"?", category.id));
    }
    message
}

fn lowered(words: Vec<String>) -> Vec<String> {
    words.into_iter().map(|w| w.trim().to_lowercase()).collect()
}

/// A suggested id for a rejected one: "Nova X1" becomes "nova-x1".
fn slug(text: &str) -> String {
    let lowered = text.to_lowercase();
    let words = lowered
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    words.collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small catalog; tests break one line of it and expect the error on that line.
    const TOML: &str = r#"currency = "USD"

[[categories]]
id = "phones"
name = "Phones"
aliases = ["phone"]

[[categories]]
id = "laptops"
name = "Laptops"

[[products]]
id = "nova-x1"
name = "Nova X1"
category = "phones"
price = 799.00
description = "A phone."
specs = [{ name = "storage", value = "128 GB" }]
aliases = ["nova"]
stock = 3

[[products]]
id = "vertex-14"
name = "Vertex 14"
category = "laptops"
price = 0.10
description = "A laptop."
stock = 0
"#;

    /// The same catalog as [`TOML`].
    const JSON: &str = r#"{
  "currency": "USD",
  "categories": [
    { "id": "phones", "name": "Phones", "aliases": ["phone"] },
    { "id": "laptops", "name": "Laptops" }
  ],
  "products": [
    {
      "id": "nova-x1", "name": "Nova X1", "category": "phones", "price": 799.00,
      "description": "A phone.", "specs": [{ "name": "storage", "value": "128 GB" }],
      "aliases": ["nova"], "stock": 3
    },
    {
      "id": "vertex-14",
      "name": "Vertex 14",
      "category": "laptops",
      "price": 0.10,
      "description": "A laptop.",
      "stock": 0
    }
  ]
}"#;

    /// The error for [`TOML`] (or [`JSON`], by `to`'s syntax) with `from` replaced by `to`.
    fn error_after(from: &str, to: &str) -> String {
        let (text, result) = if from.starts_with('"') {
            let text = JSON.replacen(from, to, 1);
            let result = Catalog::from_json(&text, "catalog.json");
            (text, result)
        } else {
            let text = TOML.replacen(from, to, 1);
            let result = Catalog::from_toml(&text, "catalog.toml");
            (text, result)
        };
        assert_ne!(
            text,
            if from.starts_with('"') { JSON } else { TOML },
            "{from:?} not found"
        );
        result
            .expect_err("the broken catalog should be rejected")
            .to_string()
    }

    /// Asserts every `(from, to, expected)` case fails with a message starting with `expected`.
    fn assert_errors(cases: &[(&str, &str, &str)]) {
        for (from, to, expected) in cases {
            let error = error_after(from, to);
            assert!(
                error.starts_with(expected),
                "{to:?}:\n got {error}\nwant {expected}"
            );
        }
    }

    fn usd(amount_minor: i64) -> Money {
        Money::new(
            amount_minor,
            Currency::new("USD").expect("USD is a currency"),
        )
    }

    #[test]
    fn demo_catalog_parses_and_is_big_enough() {
        let demo = Catalog::demo().expect("the demo catalog parses");
        assert_eq!(demo.currency().as_str(), "USD");
        assert!(
            demo.products().len() >= 25,
            "{} products",
            demo.products().len()
        );
        assert!(demo.categories().len() >= 5);
        for category in demo.categories() {
            assert!(
                demo.in_category(&category.id).count() >= 3,
                "{} is thin",
                category.id
            );
            assert!(
                !category.aliases.is_empty(),
                "{} has no aliases",
                category.id
            );
        }
        for product in demo.products() {
            assert!((1..=12).contains(&product.aliases.len()), "{}", product.id);
            assert!((3..=7).contains(&product.specs.len()), "{}", product.id);
        }
        assert!(demo.products().iter().any(|p| p.stock == 0));
        assert!(demo.products().iter().any(|p| p.stock == 1));
    }

    /// What the bot's understanding leans on: every policy answered in every language, every
    /// category named in every language, spec kinds with values, and needs products serve.
    #[test]
    fn demo_catalog_speaks_four_languages_and_measures_its_specs() {
        let demo = Catalog::demo().expect("the demo catalog parses");
        let shop = demo.shop();
        assert_eq!(shop.policies.len(), Topic::ALL.len());
        for language in Language::ALL {
            for policy in &shop.policies {
                assert!(
                    policy.answer.exactly(language).is_some(),
                    "{:?} {language}",
                    policy.topic
                );
            }
            for faq in &shop.faq {
                assert!(
                    faq.answer.exactly(language).is_some(),
                    "{} {language}",
                    faq.id
                );
            }
            for category in demo.categories() {
                assert!(category.names.exactly(language).is_some() || language == Language::En);
            }
        }
        // Every spec kind measures something.
        for kind in demo.spec_kinds() {
            let measured = demo
                .products()
                .iter()
                .filter(|p| p.measure(&kind.name).is_some())
                .count();
            assert!(measured >= 1, "{} measures nothing", kind.name);
        }
        let lightest_laptop = demo
            .in_category("laptops")
            .min_by_key(|p| p.measure("weight"))
            .expect("laptops");
        assert_eq!(lightest_laptop.id, "aero-book-13");
        assert_eq!(
            demo.product("focale-z40").and_then(|p| p.measure("zoom")),
            Some(40_000)
        );
        assert_eq!(
            demo.product("pulse-3")
                .and_then(|p| p.measure("battery life")),
            Some(48_000)
        );
        // Every spec a product has is named in every language, by its kind or [spec_names]
        // (where the word is the same, like "cable" in Spanish, the entry says so).
        for product in demo.products() {
            for spec in &product.specs {
                for language in [Language::Es, Language::De, Language::Ru] {
                    let named = demo.spec_kind(&spec.name).is_some()
                        || demo
                            .spec_names
                            .get(&spec.name)
                            .and_then(|t| t.exactly(language))
                            .is_some();
                    assert!(named, "{} has no {language} name", spec.name);
                }
            }
        }
        assert_eq!(demo.spec_label("weight", Language::De), "Gewicht");
        assert_eq!(demo.spec_label("type", Language::Es), "tipo");
        assert_eq!(demo.spec_label("type", Language::En), "type");
        for use_ in demo.uses() {
            assert!(
                demo.products().iter().any(|p| demo.serves(p, &use_.id)),
                "nothing serves {}",
                use_.id
            );
        }
    }

    #[test]
    fn shop_sections_and_spec_kinds_are_checked_with_their_line() {
        let base = "currency = \"USD\"\n[[categories]]\nid = \"c\"\nname = \"C\"\n[[products]]\nid = \"p\"\nname = \"P\"\ncategory = \"c\"\nprice = 1\ndescription = \"d\"\nstock = 1\n";
        let error = |extra: &str| {
            Catalog::from_toml(&format!("{base}{extra}"), "shop.toml")
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(
            error(
                "specs = [{ name = \"weight\", value = \"heavy\" }]\n[[spec_kinds]]\nname = \"weight\"\nunit = \"g\"\nbetter = \"less\"\nwords = [\"weight\"]\n"
            ),
            "shop.toml line 12: products[0].specs[0].value: \"heavy\" has no quantity in g (the unit of the spec kind \"weight\"); write it like \"12 g\""
        );
        assert_eq!(
            error(
                "[[spec_kinds]]\nname = \"weight\"\nunit = \"stone\"\nbetter = \"less\"\nwords = [\"weight\"]\n"
            ),
            "shop.toml line 14: spec_kinds[0].unit: unknown unit \"stone\" (known: mAh, h, g, GB, in, MP, x, cores, W, Hz)"
        );
        assert_eq!(
            error(
                "[shop]\nname = \"S\"\n[[shop.policies]]\ntopic = \"refunds\"\nanswer.en = \"30 days\"\n"
            ),
            "shop.toml line 15: shop.policies[0].topic: unknown topic \"refunds\" (known: shipping, delivery, returns, warranty, payment, contact, hours); questions on other subjects go in [[shop.faq]]"
        );
        assert_eq!(
            error(
                "[shop]\nname = \"S\"\n[[shop.policies]]\ntopic = \"returns\"\nanswer.fr = \"30 jours\"\n"
            ),
            "shop.toml line 16: shop.policies[0].answer: unknown language \"fr\" (the bot speaks en, es, de, ru)"
        );
        assert_eq!(
            error("uses = [\"gaming\"]\n"),
            "shop.toml line 12: products[0].uses: unknown use \"gaming\" (known: ); declare it in [[uses]]"
        );
    }

    #[test]
    fn demo_catalog_has_cheap_and_dear_phones_and_laptops() {
        let demo = Catalog::demo().expect("the demo catalog parses");
        let prices = |category| -> Vec<i64> {
            demo.in_category(category)
                .map(|p| p.price.amount_minor)
                .collect()
        };
        let (phones, laptops) = (prices("phones"), prices("laptops"));
        assert!(phones.len() >= 5 && laptops.len() >= 4);
        assert_eq!(
            (phones.iter().min(), phones.iter().max()),
            (Some(&19900), Some(&109900))
        );
        assert_eq!(
            (laptops.iter().min(), laptops.iter().max()),
            (Some(&49900), Some(&2_19900))
        );
        assert_eq!(laptops.iter().filter(|&&p| p < 80000).count(), 2);
        assert_eq!(demo.product("papyr-7").map(|p| &p.price), Some(&usd(13999)));
        assert_eq!(
            demo.category("phones").map(|c| c.name.as_str()),
            Some("Phones")
        );
        assert_eq!(demo.product("nova"), None);
    }

    #[test]
    fn toml_and_json_of_the_same_catalog_are_equal() {
        let toml = Catalog::from_toml(TOML, "catalog.toml").expect("TOML parses");
        assert_eq!(
            toml,
            Catalog::from_json(JSON, "catalog.json").expect("JSON parses")
        );
        let price = |id| toml.product(id).map(|p| p.price.amount_minor);
        assert_eq!(price("vertex-14"), Some(10), "0.10 is ten cents");
        let specs = toml.product("nova-x1").map(|p| p.specs.clone());
        let storage = Spec {
            name: "storage".into(),
            value: "128 GB".into(),
        };
        assert_eq!(specs, Some(vec![storage]));
        let names: Vec<&str> = toml
            .in_category("phones")
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["Nova X1"]);

        let quoted = TOML.replace("price = 799.00", "price = \"799.5\"");
        let quoted = Catalog::from_toml(&quoted, "catalog.toml").expect("quoted price parses");
        assert_eq!(quoted.products()[0].price, usd(79950));
    }

    #[test]
    #[rustfmt::skip]
    fn syntax_type_and_unknown_field_errors_name_line_and_field() {
        assert_errors(&[
            ("stock = 3", "stock 3", "catalog.toml line 20: "),
            ("\"stock\": 0", "\"stock\" 0", "catalog.json line 19: "),
            ("stock = 3", "stock = 3\ncolour = 1", "catalog.toml line 21: products[0].colour: "),
            ("\"stock\": 0", "\"stock\": 0, \"colour\": 1", "catalog.json line 19: products[1].colour: "),
            ("stock = 3", "stock = -1", "catalog.toml line 20: products[0].stock: "),
            ("\"stock\": 0", "\"stock\": \"no\"", "catalog.json line 19: products[1].stock: "),
        ]);
        assert!(
            error_after("stock = 3", "stock = 3\ncolour = 1").contains("unknown field `colour`")
        );
        let missing = error_after("name = \"Vertex 14\"\n", "");
        assert!(missing.ends_with("missing field `name`"), "{missing}");
    }

    #[test]
    fn empty_lists_are_rejected() {
        let text = "currency = \"USD\"\ncategories = []\nproducts = []\n";
        let error = Catalog::from_toml(text, "catalog.toml")
            .expect_err("should be rejected")
            .to_string();
        assert_eq!(
            error,
            "catalog.toml line 2: categories: add at least one category"
        );
        let text = "{\"currency\": \"USD\",\n\"categories\": [{\"id\": \"a\", \"name\": \"A\"}],\n\"products\": []}";
        let error = Catalog::from_json(text, "catalog.json")
            .expect_err("should be rejected")
            .to_string();
        assert_eq!(
            error,
            "catalog.json line 3: products: add at least one product"
        );
    }

    #[test]
    #[rustfmt::skip]
    fn bad_ids_names_and_currencies_are_rejected() {
        assert_errors(&[
            ("id = \"nova-x1\"", "id = \"Nova X1\"", "catalog.toml line 13: products[0].id: \"Nova X1\" is not an id; use lowercase letters, digits and '-', like \"nova-x1\""),
            ("id = \"vertex-14\"", "id = \"nova-x1\"", "catalog.toml line 23: products[1].id: \"nova-x1\" is already the id of products[0]; ids must be unique"),
            ("id = \"laptops\"", "id = \"phones\"", "catalog.toml line 9: categories[1].id: \"phones\" is already the id of categories[0]; ids must be unique"),
            ("\"id\": \"vertex-14\"", "\"id\": \"\"", "catalog.json line 14: products[1].id: an id cannot be empty"),
            ("name = \"Laptops\"", "name = \" \"", "catalog.toml line 10: categories[1].name: a name cannot be empty"),
            ("\"name\": \"Vertex 14\"", "\"name\": \"\"", "catalog.json line 15: products[1].name: a name cannot be empty"),
            ("currency = \"USD\"", "currency = \"usd\"", "catalog.toml line 1: currency: currency `usd` is not an ISO 4217 code"),
            ("aliases = [\"nova\"]", "aliases = [\"\"]", "catalog.toml line 19: products[0].aliases: an alias cannot be empty"),
        ]);
    }

    #[test]
    #[rustfmt::skip]
    fn unknown_categories_and_bad_prices_are_rejected() {
        assert_errors(&[
            ("category = \"phones\"", "category = \"phone\"", "catalog.toml line 15: products[0].category: unknown category \"phone\" (known: phones, laptops); did you mean \"phones\"?"),
            ("\"category\": \"laptops\"", "\"category\": \"tv\"", "catalog.json line 16: products[1].category: unknown category \"tv\" (known: phones, laptops)"),
            ("price = 799.00", "price = \"12,50\"", "catalog.toml line 16: products[0].price: \"12,50\" is not a price like 12.50"),
            ("price = 0.10", "price = 0.105", "catalog.toml line 26: products[1].price: \"0.105\" is not a price like 12.50"),
            ("price = 0.10", "price = true", "catalog.toml line 26: products[1].price: \"true\" is not a price like 12.50"),
            ("\"price\": 0.10", "\"price\": -3", "catalog.json line 17: products[1].price: \"-3\" is not a price like 12.50"),
            ("\"price\": 0.10", "\"price\": \"1e3\"", "catalog.json line 17: products[1].price: \"1e3\" is not a price like 12.50"),
            ("\"price\": 799.00", "\"price\": 0.00", "catalog.json line 9: products[0].price: a price must be above 0"),
        ]);
    }

    #[test]
    fn files_are_read_by_extension() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (toml, json) = (dir.path().join("shop.toml"), dir.path().join("shop.JSON"));
        std::fs::write(&toml, TOML).expect("write test file");
        std::fs::write(&json, JSON).expect("write test file");
        assert_eq!(
            Catalog::load(&toml).expect("shop.toml loads"),
            Catalog::load(&json).expect("shop.JSON loads")
        );

        std::fs::write(&toml, TOML.replace("stock = 0", "stock = 0.5")).expect("write test file");
        let error = Catalog::load(&toml)
            .expect_err("should be rejected")
            .to_string();
        let expected = format!("{} line 28: products[1].stock: ", toml.display());
        assert!(error.starts_with(&expected), "{error}");
    }

    #[test]
    fn unknown_extensions_and_missing_files_are_reported_with_their_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let yaml = dir.path().join("shop.yaml");
        std::fs::write(&yaml, TOML).expect("write test file");
        let error = Catalog::load(&yaml)
            .expect_err("should be rejected")
            .to_string();
        let expected = format!(
            "catalog {}: unknown file type; use a .toml or .json file",
            yaml.display()
        );
        assert_eq!(error, expected);

        let missing = dir.path().join("missing.toml");
        let error = Catalog::load(&missing)
            .expect_err("should be rejected")
            .to_string();
        assert!(error.starts_with(&format!("cannot read catalog {}: ", missing.display())));
        assert!(
            error.ends_with("; check the path and that the file is readable"),
            "{error}"
        );
    }
}
