//! The words the rules read, per language, as data: `command-service/lexicon/<code>.toml`.
//! Each entry is a list of phrases (see [`super::text`] for how they match). The files are
//! compiled in and read once; a test checks that every language has every entry.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::text::{Phrases, fold};
use crate::language::Language;

/// The lexicon of one language, as written in its file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    markers: Vec<String>,
    greeting: Vec<String>,
    help: Vec<String>,
    thanks: Vec<String>,
    goodbye: Vec<String>,
    yes: Vec<String>,
    no: Vec<String>,
    hesitation: Vec<String>,
    buy: Vec<String>,
    cart: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    cart_view: Vec<String>,
    checkout: Vec<String>,
    change: Vec<String>,
    more: Vec<String>,
    price: Vec<String>,
    specs: Vec<String>,
    compare: Vec<String>,
    browse: Vec<String>,
    preference: Vec<String>,
    possessive: Vec<String>,
    correction: Vec<String>,
    other: Vec<String>,
    it: Vec<String>,
    last: Vec<String>,
    position: Vec<String>,
    cheaper: Vec<String>,
    pricier: Vec<String>,
    superlative: Vec<String>,
    comparative: Vec<String>,
    budget_max: Vec<String>,
    budget_max_after: Vec<String>,
    budget_min: Vec<String>,
    between: Vec<String>,
    range_to: Vec<String>,
    currency: Vec<String>,
    thousand: Vec<String>,
    articles: Vec<String>,
    also: Vec<String>,
    about: Vec<String>,
    partitive: Vec<String>,
    hedges: Vec<String>,
    conditional: Vec<String>,
    not_products: Vec<String>,
    positive: Vec<String>,
    negative: Vec<String>,
    numbers: BTreeMap<String, u32>,
    ordinals: BTreeMap<String, usize>,
    topics: BTreeMap<String, Vec<String>>,
}

/// The lexicon of one language, ready to match.
#[derive(Debug)]
pub(crate) struct Lexicon {
    /// Short common words that say the text is in this language.
    pub markers: Phrases,
    pub greeting: Phrases,
    pub help: Phrases,
    pub thanks: Phrases,
    pub goodbye: Phrases,
    pub yes: Phrases,
    pub no: Phrases,
    /// "not sure", "maybe later": no yes, no no.
    pub hesitation: Phrases,
    pub buy: Phrases,
    pub cart: Phrases,
    pub add: Phrases,
    pub remove: Phrases,
    pub cart_view: Phrases,
    pub checkout: Phrases,
    /// "make it", "change to": a new quantity.
    pub change: Phrases,
    /// "another", "one more": an increase.
    pub more: Phrases,
    pub price: Phrases,
    pub specs: Phrases,
    pub compare: Phrases,
    pub browse: Phrases,
    pub preference: Phrases,
    /// "my": "my phone" is not a request for phones.
    pub possessive: Phrases,
    pub correction: Phrases,
    /// "the other one".
    pub other: Phrases,
    pub it: Phrases,
    pub last: Phrases,
    /// "number", "option", "#": the word before a position.
    pub position: Phrases,
    pub cheaper: Phrases,
    pub pricier: Phrases,
    pub superlative: Phrases,
    pub comparative: Phrases,
    pub budget_max: Phrases,
    /// "150 tops", "1000 is my max": a cue after the amount.
    pub budget_max_after: Phrases,
    pub budget_min: Phrases,
    pub between: Phrases,
    pub range_to: Phrases,
    pub currency: Phrases,
    /// "k", "grand": a thousand after a number.
    pub thousand: Phrases,
    /// "a", "un", "ein": a number word that is only an article.
    pub articles: Phrases,
    /// "and", "also": a message that continues the last one ("and a cable").
    pub also: Phrases,
    /// "Tell me about", "what about": a question about one product.
    pub about: Phrases,
    /// "Of the", "de los", "из": the number after it counts what was offered ("the cheaper of
    /// the two"), it orders no quantity.
    pub partitive: Phrases,
    /// "More or less", "más o menos": no comparison, no ask; read past.
    pub hedges: Phrases,
    /// "If I", "wenn ich", "если": a purchase said after it is a supposition ("if I order
    /// today, when does it arrive?"), not an order.
    pub conditional: Phrases,
    /// Ordinary words never taken for a misspelt product name.
    pub not_products: Phrases,
    pub positive: Phrases,
    pub negative: Phrases,
    /// Number words, folded ("two" = 2, "hundred" = 100; 100 and above multiply).
    pub numbers: BTreeMap<String, u32>,
    /// Ordinal words, folded, to 1-based positions.
    pub ordinals: BTreeMap<String, usize>,
    /// How shoppers ask about each policy topic.
    pub topics: Vec<(String, Phrases)>,
}

impl Lexicon {
    fn new(raw: Raw) -> Lexicon {
        let p = |w: Vec<String>| Phrases::new(&w);
        Lexicon {
            markers: p(raw.markers),
            greeting: p(raw.greeting),
            help: p(raw.help),
            thanks: p(raw.thanks),
            goodbye: p(raw.goodbye),
            yes: p(raw.yes),
            no: p(raw.no),
            hesitation: p(raw.hesitation),
            buy: p(raw.buy),
            cart: p(raw.cart),
            add: p(raw.add),
            remove: p(raw.remove),
            cart_view: p(raw.cart_view),
            checkout: p(raw.checkout),
            change: p(raw.change),
            more: p(raw.more),
            price: p(raw.price),
            specs: p(raw.specs),
            compare: p(raw.compare),
            browse: p(raw.browse),
            preference: p(raw.preference),
            possessive: p(raw.possessive),
            correction: p(raw.correction),
            other: p(raw.other),
            it: p(raw.it),
            last: p(raw.last),
            position: p(raw.position),
            cheaper: p(raw.cheaper),
            pricier: p(raw.pricier),
            superlative: p(raw.superlative),
            comparative: p(raw.comparative),
            budget_max: p(raw.budget_max),
            budget_max_after: p(raw.budget_max_after),
            budget_min: p(raw.budget_min),
            between: p(raw.between),
            range_to: p(raw.range_to),
            currency: p(raw.currency),
            thousand: p(raw.thousand),
            articles: p(raw.articles),
            also: p(raw.also),
            about: p(raw.about),
            partitive: p(raw.partitive),
            hedges: p(raw.hedges),
            conditional: p(raw.conditional),
            not_products: p(raw.not_products),
            positive: p(raw.positive),
            negative: p(raw.negative),
            numbers: raw
                .numbers
                .into_iter()
                .map(|(w, n)| (fold(&w), n))
                .collect(),
            ordinals: raw
                .ordinals
                .into_iter()
                .map(|(w, n)| (fold(&w), n))
                .collect(),
            topics: raw
                .topics
                .into_iter()
                .map(|(topic, phrases)| (topic, Phrases::new(&phrases)))
                .collect(),
        }
    }
}

const FILES: [(Language, &str); 4] = [
    (Language::En, include_str!("../../lexicon/en.toml")),
    (Language::Es, include_str!("../../lexicon/es.toml")),
    (Language::De, include_str!("../../lexicon/de.toml")),
    (Language::Ru, include_str!("../../lexicon/ru.toml")),
];

/// Reads one lexicon file; an error names the language and the field.
fn parse(language: Language, text: &str) -> Result<Lexicon, String> {
    let raw: Raw = toml::from_str(text).map_err(|e| format!("lexicon/{language}.toml: {e}"))?;
    Ok(Lexicon::new(raw))
}

/// The lexicon of `language`. The files are compiled in and checked by tests, so a broken one
/// cannot ship; should one fail to parse anyway, the bot reads that language with an empty
/// lexicon (and understands nothing in it) rather than stop.
pub(crate) fn lexicon(language: Language) -> &'static Lexicon {
    static ALL: OnceLock<Vec<Lexicon>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|&(language, text)| {
                parse(language, text).unwrap_or_else(|error| {
                    tracing::error!(%error, "a lexicon does not parse");
                    Lexicon::new(Raw::default())
                })
            })
            .collect()
    });
    &all[Language::ALL
        .iter()
        .position(|&l| l == language)
        .unwrap_or(0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lexicon_parses_and_fills_every_entry() {
        for (language, text) in FILES {
            let lexicon = parse(language, text).unwrap_or_else(|e| panic!("{e}"));
            let value: toml::Table = toml::from_str(text).expect("toml");
            for (key, entry) in &value {
                let empty = match entry {
                    toml::Value::Array(a) => a.is_empty(),
                    toml::Value::Table(t) => t.is_empty(),
                    _ => false,
                };
                // `not_products` may be empty where every ordinary word is unlike any name.
                assert!(
                    !empty || key == "not_products",
                    "{language}: `{key}` is empty"
                );
            }
            let topics: Vec<&str> = lexicon.topics.iter().map(|(t, _)| t.as_str()).collect();
            let all: Vec<&str> = crate::catalog::Topic::ALL
                .iter()
                .map(|t| t.as_str())
                .collect();
            let mut sorted = topics.clone();
            sorted.sort();
            let mut expected = all.clone();
            expected.sort();
            assert_eq!(sorted, expected, "{language}: one entry per policy topic");
        }
    }
}
