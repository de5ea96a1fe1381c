//! Validating a catalog file as serde read it ([`super::raw`]) into a [`Catalog`], every error
//! naming the line and the field at fault.

use super::raw::*;
use super::span::*;
use super::*;
/// One step of a field path such as `products[3].price`.
#[derive(Clone, Copy)]
pub(super) enum Seg {
    Key(&'static str),
    Index(usize),
}

pub(super) fn path_of(path: &serde_path_to_error::Path) -> String {
    if path.iter().next().is_none() {
        String::new()
    } else {
        path.to_string()
    }
}

/// The text being loaded, kept to point errors at lines and to read prices exactly.
pub(super) struct Source<'a> {
    pub(super) text: &'a str,
    pub(super) origin: &'a str,
    /// The TOML document with spans, or `None` for JSON.
    pub(super) toml: Option<Spanned<DeTable<'a>>>,
}

impl Source<'_> {
    pub(super) fn validate(&self, raw: RawCatalog) -> Result<Catalog, CatalogError> {
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

/// `799`, `799.5` or `799.00` in minor units (2 decimals); `None` for anything else.
pub(super) fn parse_price(text: &str) -> Option<i64> {
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

pub(super) fn unknown_category(given: &str, categories: &[Category]) -> String {
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

pub(super) fn lowered(words: Vec<String>) -> Vec<String> {
    words.into_iter().map(|w| w.trim().to_lowercase()).collect()
}

/// A suggested id for a rejected one: "Nova X1" becomes "nova-x1".
pub(super) fn slug(text: &str) -> String {
    let lowered = text.to_lowercase();
    let words = lowered
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    words.collect::<Vec<_>>().join("-")
}
