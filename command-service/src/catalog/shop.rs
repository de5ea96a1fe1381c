//! What the catalog says besides products: the shop's policies and FAQ, how specs compare, the
//! needs products serve, and texts in several languages.

use std::collections::BTreeMap;

use super::quantity::Unit;
use crate::language::Language;

/// A text written in one or more languages; read in a language, it falls back to English, then
/// to whatever the shop wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Texts(pub(crate) BTreeMap<Language, String>);

impl Texts {
    pub fn get(&self, language: Language) -> Option<&str> {
        self.0
            .get(&language)
            .or_else(|| self.0.get(&Language::En))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
    }

    /// Only the text written in `language`, without falling back.
    pub fn exactly(&self, language: Language) -> Option<&str> {
        self.0.get(&language).map(String::as_str)
    }
}

/// The shop itself: its name and what it answers about itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shop {
    pub name: String,
    pub policies: Vec<Policy>,
    pub faq: Vec<Faq>,
}

/// The fixed subjects of a shop's policies. The bot knows how shoppers ask about each in every
/// language it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Shipping,
    Delivery,
    Returns,
    Warranty,
    Payment,
    Contact,
    Hours,
}

impl Topic {
    pub const ALL: [Topic; 7] = [
        Topic::Shipping,
        Topic::Delivery,
        Topic::Returns,
        Topic::Warranty,
        Topic::Payment,
        Topic::Contact,
        Topic::Hours,
    ];

    /// The name used in the catalog and recorded on events (`returns`).
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Shipping => "shipping",
            Topic::Delivery => "delivery",
            Topic::Returns => "returns",
            Topic::Warranty => "warranty",
            Topic::Payment => "payment",
            Topic::Contact => "contact",
            Topic::Hours => "hours",
        }
    }

    pub fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub topic: Topic,
    pub answer: Texts,
    /// The shop's own ways of asking, besides the bot's built-in ones.
    pub phrasings: Vec<String>,
}

/// A question beyond the fixed topics; its `id` is the topic recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Faq {
    pub id: String,
    pub phrasings: Vec<String>,
    pub answer: Texts,
}

/// Which way of a spec is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    More,
    Less,
}

/// How the values of one spec (by name) compare, and how shoppers talk about it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecKind {
    /// The spec name products use (`battery life`).
    pub name: String,
    pub unit: Unit,
    pub better: Better,
    /// What shoppers call it ("battery", "akku").
    pub words: Vec<String>,
    /// Phrases that ask for more of it ("bigger battery", "heavier").
    pub more: Vec<String>,
    /// Phrases that ask for less of it ("lighter").
    pub less: Vec<String>,
    /// The spec's name in other languages.
    pub names: Texts,
}

/// A need products serve ("photography"), and how shoppers say it.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    pub id: String,
    pub words: Vec<String>,
    /// How the bot names the need, per language ("for photography").
    pub names: Texts,
}
