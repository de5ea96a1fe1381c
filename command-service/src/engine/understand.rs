//! Reading a message: what the shopper wants (intent), which products they name (with aliases
//! and typos), quantities, budgets, categories, and references to earlier replies ("it", "the
//! second one", "the cheaper one"). Rules, no I/O, no LLM: analytics never depend on a model.

use events_schema::{Intent, Money};

use crate::catalog::Catalog;

/// How the message points at a product it does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// "it", "this one", "that": the product in focus.
    It,
    /// "the second one", "#2": a position in the last list offered (0-based).
    Position(usize),
    /// "the last one".
    Last,
    /// "the cheaper one", "the cheapest".
    Cheaper,
    /// "the more expensive one", "the best".
    Pricier,
}

/// What a message says, as far as the rules can tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Understanding {
    pub intent: Intent,
    /// Products named in the message, in order of appearance.
    pub products: Vec<String>,
    pub reference: Option<Reference>,
    pub quantity: Option<u32>,
    /// "under $800", "my budget is 500".
    pub budget: Option<Money>,
    pub category: Option<String>,
    /// The message also says what the user wants (budget or category), besides its intent.
    pub states_preference: bool,
    /// A plain "yes" (to whatever the bot just asked).
    pub affirmative: bool,
}

/// Lower-case words of the text: letters, digits, `$` amounts and `#n` kept; emoji dropped.
pub fn words(text: &str) -> Vec<String> {
    let lowered = text.to_lowercase().replace('’', "'");
    lowered
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '$' | '#' | '.' | '\'' | '-' | '/')))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | '\'' | '-')))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn has(words: &[String], any: &[&str]) -> bool {
    words.iter().any(|w| any.contains(&w.as_str()))
}

fn has_phrase(text: &str, any: &[&str]) -> bool {
    any.iter().any(|p| contains_phrase(text, p))
}

/// `phrase` occurs in `text` on word boundaries.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    phrase_at(text, phrase).is_some()
}

const NUMBER_WORDS: &[(&str, u32)] = &[
    ("one", 1),
    ("a", 1),
    ("an", 1),
    ("single", 1),
    ("two", 2),
    ("couple", 2),
    ("both", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
];

const ORDINALS: &[(&str, usize)] = &[
    ("first", 0),
    ("1st", 0),
    ("second", 1),
    ("2nd", 1),
    ("third", 2),
    ("3rd", 2),
    ("fourth", 3),
    ("4th", 3),
    ("fifth", 4),
    ("5th", 4),
    ("sixth", 5),
    ("6th", 5),
];

/// Parses "$800", "800$", "800 dollars", "800", "1,200", "799.99" into minor units.
fn amount(word: &str) -> Option<i64> {
    let digits: String = word
        .trim_start_matches('$')
        .trim_end_matches('$')
        .replace(',', "");
    let digits = digits
        .strip_suffix('k')
        .map_or(digits.clone(), |d| format!("{d}000"));
    let (major, minor) = match digits.split_once('.') {
        Some((a, b)) if b.len() <= 2 => (a.to_owned(), format!("{b:0<2}")),
        Some(_) => return None,
        None => (digits, "00".to_owned()),
    };
    if major.is_empty()
        || !major.bytes().all(|b| b.is_ascii_digit())
        || !minor.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let major: i64 = major.parse().ok()?;
    let minor: i64 = minor.parse().ok()?;
    major.checked_mul(100)?.checked_add(minor)
}

fn budget(words: &[String], catalog: &Catalog) -> Option<Money> {
    let cues = [
        "under", "below", "less", "max", "maximum", "budget", "upto", "within", "cheaper",
        "around", "about",
    ];
    for (i, w) in words.iter().enumerate() {
        let money_word = w.starts_with('$') || w.ends_with('$');
        let after_cue = i > 0
            && (cues.contains(&words[i - 1].as_str())
                || words[..i]
                    .iter()
                    .rev()
                    .take(3)
                    .any(|p| cues.contains(&p.as_str())));
        let before_currency = words
            .get(i + 1)
            .is_some_and(|n| matches!(n.as_str(), "dollars" | "usd" | "bucks" | "eur" | "euros"));
        if (money_word || after_cue || before_currency)
            && let Some(minor) = amount(w)
            && minor >= 1_000
        {
            return Some(Money::new(minor, catalog.currency().clone()));
        }
    }
    None
}

fn quantity(words: &[String]) -> Option<u32> {
    for (i, w) in words.iter().enumerate() {
        // "16 gb", "6.1 in": a number with a unit is a spec, not a quantity.
        let unit = words.get(i + 1).is_some_and(|u| {
            matches!(
                u.as_str(),
                "gb" | "tb"
                    | "mb"
                    | "mp"
                    | "mah"
                    | "hz"
                    | "in"
                    | "inch"
                    | "inches"
                    | "mm"
                    | "g"
                    | "kg"
                    | "w"
                    | "hours"
                    | "h"
                    | "core"
                    | "cores"
            )
        });
        if let Ok(n) = w.parse::<u32>()
            && (1..=99).contains(&n)
            && !unit
        {
            // A bare number after "under"/"$" is a price, not a quantity.
            let price_like = i > 0
                && matches!(
                    words[i - 1].as_str(),
                    "under" | "below" | "budget" | "is" | "than"
                );
            if !price_like {
                return Some(n);
            }
        }
        if let Some((_, n)) = NUMBER_WORDS.iter().find(|(word, _)| word == w)
            && !matches!(w.as_str(), "a" | "an")
        {
            return Some(*n);
        }
    }
    None
}

fn reference(text: &str, words: &[String]) -> Option<Reference> {
    if has(
        words,
        &[
            "cheaper",
            "cheapest",
            "cheap",
            "budget",
            "affordable",
            "less",
        ],
    ) && has_phrase(
        text,
        &[
            "cheaper one",
            "cheapest",
            "cheaper",
            "less expensive",
            "most affordable",
        ],
    ) {
        return Some(Reference::Cheaper);
    }
    if has_phrase(
        text,
        &[
            "more expensive",
            "most expensive",
            "pricier",
            "priciest",
            "the best one",
            "premium one",
            "better one",
        ],
    ) {
        return Some(Reference::Pricier);
    }
    if has_phrase(text, &["last one", "the last"]) {
        return Some(Reference::Last);
    }
    for (i, w) in words.iter().enumerate() {
        if let Some((_, n)) = ORDINALS.iter().find(|(o, _)| o == w) {
            return Some(Reference::Position(*n));
        }
        if let Some(n) = w.strip_prefix('#').and_then(|n| n.parse::<usize>().ok())
            && n >= 1
        {
            return Some(Reference::Position(n - 1));
        }
        if (w == "number" || w == "no" || w == "option")
            && let Some(n) = words.get(i + 1).and_then(|n| n.parse::<usize>().ok())
            && n >= 1
        {
            return Some(Reference::Position(n - 1));
        }
    }
    if has(words, &["it", "this", "that", "them", "one"]) {
        return Some(Reference::It);
    }
    None
}

fn category(words: &[String], text: &str, catalog: &Catalog) -> Option<String> {
    for c in catalog.categories() {
        let mut names: Vec<String> = vec![c.id.clone(), c.name.to_lowercase()];
        names.extend(c.aliases.iter().map(|a| a.to_lowercase()));
        for n in &names {
            if contains_phrase(text, n)
                || words
                    .iter()
                    .any(|w| w == n || w.trim_end_matches('s') == n.trim_end_matches('s'))
            {
                return Some(c.id.clone());
            }
        }
    }
    None
}

/// Products named in the text, best match first, by name, alias, or a near spelling of either
/// (one typo in short words, two in long ones).
pub fn products(text: &str, words: &[String], catalog: &Catalog) -> Vec<String> {
    // (start, end, product): where in the text each product is named.
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    for p in catalog.products() {
        let mut names: Vec<String> = vec![p.name.to_lowercase(), p.id.replace('-', " ")];
        names.extend(p.aliases.iter().map(|a| a.to_lowercase()));
        // The longest name that occurs, so "nova x1 pro" is not read as "nova x1".
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut span = names
            .iter()
            .filter(|n| n.len() >= 2)
            .find_map(|n| phrase_at(text, n).map(|at| (at, at + n.len())));
        if span.is_none() {
            // One typo in a distinctive single-word name of 6+ letters ("pixleon"), two in
            // 9+; shorter words are too often ordinary words ("zero" is not "aero").
            span = names
                .iter()
                .filter(|n| !n.contains(' ') && n.len() >= 6 && n.chars().all(char::is_alphabetic))
                .find_map(|n| {
                    let limit = if n.len() >= 9 { 2 } else { 1 };
                    words
                        .iter()
                        .filter(|w| !COMMON_WORDS.contains(&w.as_str()))
                        .find(|w| {
                            n.len().abs_diff(w.len()) <= limit
                                && strsim::osa_distance(n, w) <= limit
                        })
                        .and_then(|w| phrase_at(text, w).map(|at| (at, at + w.len())))
                });
        }
        if let Some((start, end)) = span {
            found.push((start, end, p.id.clone()));
        }
    }
    // A name inside a longer name found at the same place is not a second product.
    let spans: Vec<(usize, usize)> = found.iter().map(|(s, e, _)| (*s, *e)).collect();
    found.retain(|(s, e, _)| {
        !spans
            .iter()
            .any(|(os, oe)| os <= s && e <= oe && (oe - os) > (e - s))
    });
    found.sort();
    found.dedup_by(|a, b| a.2 == b.2);
    found.into_iter().map(|(_, _, id)| id).collect()
}

/// Ordinary words never taken for a misspelt product name.
const COMMON_WORDS: &[&str] = &[
    "please",
    "thanks",
    "phones",
    "tablet",
    "tablets",
    "laptop",
    "laptops",
    "camera",
    "cameras",
    "should",
    "would",
    "could",
    "better",
    "cheaper",
    "bigger",
    "smaller",
    "battery",
    "screen",
    "storage",
    "memory",
    "budget",
    "dollars",
    "people",
    "office",
    "school",
    "travel",
    "gaming",
    "friend",
    "mother",
    "father",
    "sister",
    "brother",
    "around",
    "little",
    "really",
    "pretty",
    "something",
    "anything",
    "another",
    "between",
    "compare",
    "display",
    "charger",
    "charge",
];

/// Where `phrase` occurs in `text` on word boundaries.
fn phrase_at(text: &str, phrase: &str) -> Option<usize> {
    let mut start = 0;
    while let Some(i) = text.get(start..)?.find(phrase) {
        let at = start + i;
        let end = at + phrase.len();
        let before = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = text[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before && after {
            return Some(at);
        }
        start = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// Reads one message. `pending_purchase` is whether a confirmation is awaited (so "yes" means
/// something).
pub fn understand(text: &str, catalog: &Catalog, pending_purchase: bool) -> Understanding {
    let lowered = text.to_lowercase().replace('’', "'");
    let words = words(text);
    let products = products(&lowered, &words, catalog);
    // Numbers inside product names ("Vertex 14", "Pixelon 8") are neither budgets nor
    // quantities: read those from the text without the names.
    let mut unnamed = lowered.clone();
    for p in products.iter().filter_map(|id| catalog.product(id)) {
        let mut names: Vec<String> = vec![p.name.to_lowercase(), p.id.replace('-', " ")];
        names.extend(p.aliases.iter().map(|a| a.to_lowercase()));
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for n in names.iter().filter(|n| !n.is_empty()) {
            unnamed = unnamed.replace(n.as_str(), " ");
        }
    }
    let number_words = self::words(&unnamed);
    let reference = reference(&lowered, &words);
    let quantity = quantity(&number_words);
    let budget = budget(&number_words, catalog);
    let category = category(&words, &lowered, catalog);
    let first = words.first().map(String::as_str).unwrap_or_default();

    let greeting = has(
        &words,
        &[
            "hi",
            "hello",
            "hey",
            "hiya",
            "howdy",
            "greetings",
            "yo",
            "hola",
            "/start",
            "start",
        ],
    ) || has_phrase(
        &lowered,
        &["good morning", "good afternoon", "good evening"],
    );
    let help = first == "/help"
        || has(&words, &["help", "menu", "commands"])
        || has_phrase(&lowered, &["what can you do", "how does this work"]);
    let thanks = has(
        &words,
        &["thanks", "thank", "thx", "ty", "cheers", "appreciate"],
    );
    let bye = has(&words, &["bye", "goodbye", "cya", "farewell"])
        || has_phrase(&lowered, &["see you", "see ya", "that's all", "thats all"]);
    let yes = has(
        &words,
        &[
            "yes",
            "yep",
            "yeah",
            "yup",
            "sure",
            "ok",
            "okay",
            "confirm",
            "confirmed",
            "correct",
            "y",
        ],
    ) || has_phrase(
        &lowered,
        &[
            "place the order",
            "go ahead",
            "do it",
            "sounds good",
            "let's do it",
        ],
    );
    let no = has(&words, &["no", "nope", "cancel", "nah", "stop"])
        || has_phrase(
            &lowered,
            &["never mind", "nevermind", "changed my mind", "not now"],
        );
    let purchase = has(
        &words,
        &[
            "buy", "purchase", "order", "take", "get", "want", "need", "checkout", "cart",
        ],
    ) && (has_phrase(
        &lowered,
        &[
            "i'll take",
            "ill take",
            "i will take",
            "i'll get",
            "i will get",
            "i want",
            "i need",
            "i'd like",
            "id like",
            "buy",
            "purchase",
            "order",
            "add to cart",
            "checkout",
            "take it",
            "take them",
            "get it",
            "i'll have",
        ],
    ));
    let compare = has(
        &words,
        &[
            "compare",
            "comparison",
            "vs",
            "versus",
            "difference",
            "differences",
        ],
    ) || has_phrase(&lowered, &["which is better", "which one is better"]);
    let price = has(&words, &["price", "prices", "cost", "costs", "priced", "$"])
        || has_phrase(&lowered, &["how much"]);
    let specs = has(
        &words,
        &[
            "specs",
            "spec",
            "specifications",
            "specification",
            "features",
            "details",
            "battery",
            "screen",
            "display",
            "storage",
            "memory",
            "ram",
            "camera",
            "weight",
            "processor",
            "cpu",
            "size",
        ],
    ) || has_phrase(&lowered, &["tell me more", "more about", "more info"]);
    let browse = has(
        &words,
        &[
            "show",
            "list",
            "catalog",
            "catalogue",
            "products",
            "browse",
            "options",
            "available",
            "recommend",
            "suggest",
            "sell",
            "offer",
        ],
    ) || has_phrase(
        &lowered,
        &[
            "do you have",
            "what do you have",
            "what have you got",
            "anything",
        ],
    ) || (category.is_some() && products.is_empty());
    let preference = budget.is_some()
        || has_phrase(
            &lowered,
            &[
                "looking for",
                "i'm interested in",
                "im interested in",
                "i like",
                "i prefer",
                "my budget",
                "interested in",
            ],
        ) && category.is_some();

    let intent = if first == "/start" {
        Intent::Greeting
    } else if first == "/help" {
        Intent::Help
    } else if pending_purchase
        && yes
        && !no
        && !has_phrase(&lowered, &["not sure", "not yet", "maybe", "later"])
        && products.is_empty()
        && !browse
        && !compare
        && (words.len() <= 5 || purchase)
    {
        // A short "yes" (or "yes, I want it") to the question just asked; "ok, show me
        // laptops" or "I'm not sure" confirm nothing.
        Intent::Confirm
    } else if pending_purchase && no {
        Intent::Cancel
    } else if purchase
        && !price
        && !(category.is_some() && products.is_empty() && reference.is_none())
    {
        // "I want a phone" asks to see phones; "I want it" buys the one in focus.
        Intent::Purchase
    } else if compare && (products.len() >= 2 || reference.is_some() || !products.is_empty()) {
        Intent::Compare
    } else if price && (products.len() == 1 || reference.is_some() || !browse) {
        Intent::PriceInquiry
    } else if specs && (products.len() == 1 || reference.is_some() || category.is_none()) {
        Intent::SpecsRequest
    } else if browse {
        Intent::Browse
    } else if preference {
        Intent::Preference
    } else if !products.is_empty() || reference.is_some_and(|r| r != Reference::It) {
        Intent::ProductInfo
    } else if help {
        Intent::Help
    } else if thanks {
        Intent::Thanks
    } else if bye {
        Intent::Goodbye
    } else if greeting {
        Intent::Greeting
    } else if no {
        Intent::Cancel
    } else {
        Intent::Unknown
    };
    let states_preference = preference || (budget.is_some() && intent == Intent::Browse);
    Understanding {
        intent,
        products,
        reference,
        quantity,
        budget,
        category,
        states_preference,
        affirmative: yes && !no,
    }
}

/// Positive or negative words and emoji, counted.
pub fn sentiment(text: &str) -> events_schema::Sentiment {
    const POSITIVE: &[&str] = &[
        "great",
        "good",
        "love",
        "awesome",
        "perfect",
        "nice",
        "excellent",
        "amazing",
        "thanks",
        "thank",
        "cool",
        "happy",
        "wonderful",
        "fantastic",
        "best",
        "like",
        "glad",
        "!",
    ];
    const NEGATIVE: &[&str] = &[
        "bad",
        "terrible",
        "awful",
        "hate",
        "expensive",
        "worst",
        "angry",
        "disappointed",
        "broken",
        "slow",
        "annoying",
        "useless",
        "problem",
        "wrong",
        "ridiculous",
        "scam",
        "never",
    ];
    let words = words(text);
    let mut score: i32 = 0;
    for w in &words {
        if POSITIVE.contains(&w.as_str()) {
            score += 1;
        }
        if NEGATIVE.contains(&w.as_str()) {
            score -= 1;
        }
    }
    for c in text.chars() {
        match c {
            '😀' | '😃' | '😄' | '😊' | '😍' | '👍' | '❤' | '🎉' | '🙂' | '🥰' | '😁' => {
                score += 1
            }
            '😡' | '😠' | '👎' | '😞' | '😢' | '🙁' | '😤' => score -= 1,
            _ => {}
        }
    }
    let lowered = text.to_lowercase();
    if lowered.contains("not good")
        || lowered.contains("not happy")
        || lowered.contains("too expensive")
    {
        score -= 2;
    }
    match score {
        s if s > 0 => events_schema::Sentiment::Positive,
        s if s < 0 => events_schema::Sentiment::Negative,
        _ => events_schema::Sentiment::Neutral,
    }
}
