//! What the rules make of a message: the understanding, and how it points at products.

use events_schema::{Intent, Money};

use crate::language::Language;

/// How the message points at a product it does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// "it", "this one", "that": the product in focus.
    It,
    /// "the second one", "#2": a position in the last list offered (0-based).
    Position(usize),
    /// "the last one".
    Last,
    /// "the other one": of the last two offered, the one not in focus.
    Other,
}

/// What a product is chosen by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    Price,
    /// A spec kind, by name; a word like "battery" may name several kinds (a phone's mAh, a
    /// laptop's hours): the products at hand decide which.
    Spec(Vec<String>),
}

/// Which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    More,
    Less,
}

/// A product chosen by a measure rather than by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The most or least of a pool: "the cheapest camera", "the one with the best zoom".
    Extreme(Measure, Direction),
    /// The nearest better than the product in focus: "a cheaper one", "lighter than that".
    Relative(Measure, Direction),
    /// The one with that value of a spec: "the 16-inch one", "the 256 GB version". `kinds`
    /// are the spec kinds measured in the value's unit; `thousandths` of that unit.
    Value {
        kinds: Vec<String>,
        thousandths: i64,
    },
}

/// What the rules know of the conversation when they read a message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// A purchase waits for "yes".
    pub pending_purchase: bool,
    /// The bot just showed the cart and asked to confirm the checkout.
    pub awaiting_checkout: bool,
    /// Products in the cart.
    pub cart: &'a [String],
    /// The language of the conversation so far.
    pub conversation: Option<Language>,
    /// The language the channel reports for the user.
    pub channel: Option<Language>,
    /// The product the conversation is about.
    pub focus: Option<&'a str>,
    /// The intent of the shopper's last message in this session.
    pub last_intent: Option<Intent>,
}

/// What a message says, as far as the rules can tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Understanding {
    /// The language the message is read and answered in.
    pub language: Language,
    /// The first ask's intent (the one recorded on `MessageReceived`).
    pub intent: Intent,
    /// Further asks, answered after the first: a price or specs question about the same
    /// product, a shop question.
    pub also: Vec<Intent>,
    /// Products named in the message, in order of appearance.
    pub products: Vec<String>,
    pub reference: Option<Reference>,
    /// Every position the message names ("the third and the fourth"), 0-based, in order.
    pub positions: Vec<usize>,
    /// The positions named include the last of the list ("the first and the last").
    pub last: bool,
    pub selector: Option<Selector>,
    /// "Of the two": a selector picks between the two products last talked about.
    pub of_two: bool,
    /// The specs asked about by name ("how heavy": `weight`); none for all of them.
    pub asked_specs: Vec<String>,
    pub quantity: Option<u32>,
    /// The most the shopper wants to spend: "under $800", "my budget is 500".
    pub budget: Option<Money>,
    /// The least: "between 300 and 600".
    pub budget_min: Option<Money>,
    pub category: Option<String>,
    /// A need, as one of the catalog's uses.
    pub use_case: Option<String>,
    /// The policy topic or FAQ id of a shop question.
    pub topic: Option<String>,
    /// The message also says what the shopper wants (budget, category, need), besides its
    /// intent.
    pub states_preference: bool,
    /// A plain "yes" (to whatever the bot just asked).
    pub affirmative: bool,
    /// "One more", "another": the quantity adds to what is there.
    pub increase: bool,
}

impl Understanding {
    /// An understanding with only an intent, in a language.
    pub fn bare(intent: Intent, language: Language) -> Understanding {
        Understanding {
            language,
            intent,
            also: Vec::new(),
            products: Vec::new(),
            reference: None,
            positions: Vec::new(),
            last: false,
            selector: None,
            of_two: false,
            asked_specs: Vec::new(),
            quantity: None,
            budget: None,
            budget_min: None,
            category: None,
            use_case: None,
            topic: None,
            states_preference: false,
            affirmative: false,
            increase: false,
        }
    }
}
