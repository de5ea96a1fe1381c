//! Reading a message: which language it is in, what the shopper asks (one ask or several),
//! which products they name (with aliases and typos) or point at ("it", "the second one", "the
//! other one", "the cheapest camera", "lighter than that"), quantities, budgets, categories,
//! needs and shop topics. Rules over data (the lexicons in `command-service/lexicon/` and the
//! catalog's own words), no I/O, no LLM: analytics never depend on a model.

use events_schema::{Intent, Money};

mod naming;
mod numbers;
mod pointing;

use naming::{category, products, shop_topic};
use numbers::{budget, quantity};
use pointing::{focus_in_cart_early, reference, selector, sibling, spec_value};

use super::detect;
use super::lexicon::{Lexicon, lexicon};
use super::text::{Phrases, Text};
use crate::catalog::Catalog;
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

/// The lexicons a message is read with: its language's, then English (shoppers everywhere
/// write "ok", "checkout", "thx").
struct Lexicons<'a> {
    primary: &'a Lexicon,
    english: &'a Lexicon,
}

impl Lexicons<'_> {
    fn find(&self, entry: impl Fn(&Lexicon) -> &Phrases, words: &[String]) -> Option<usize> {
        let a = entry(self.primary).find(words).map(|(at, _)| at);
        let b = entry(self.english).find(words).map(|(at, _)| at);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn any(&self, entry: impl Fn(&Lexicon) -> &Phrases, words: &[String]) -> bool {
        entry(self.primary).any(words) || entry(self.english).any(words)
    }
}

/// Reads one message.
pub fn understand(raw: &str, catalog: &Catalog, ctx: Context<'_>) -> Understanding {
    let text = Text::new(raw);
    let language = detect::language(&text, ctx.conversation, ctx.channel);
    let lex = Lexicons {
        primary: lexicon(language),
        english: lexicon(Language::En),
    };
    let names = catalog.words();
    let all = &text.words;

    // Products by name, then the words without them: numbers in names ("Vertex 14") are
    // neither budgets nor quantities, and "phone" in "Nova phone" is no category.
    let (mut products, rest) = products(all, names, &lex);
    // "More or less" compares nothing ("más o menos 500" stays: an approximate budget).
    let mut hedge = vec![false; rest.len()];
    for l in [lex.primary, lex.english] {
        for (start, len) in l.hedges.all(&rest) {
            let amount_next = rest.get(start + len).is_some_and(|w| {
                w.starts_with(|c: char| c.is_ascii_digit() || c == '$' || c == '€')
                    || lex.primary.numbers.contains_key(w.as_str())
            });
            if !amount_next {
                hedge[start..start + len].fill(true);
            }
        }
    }
    let rest: Vec<String> = rest
        .into_iter()
        .zip(hedge)
        .filter_map(|(w, h)| (!h).then_some(w))
        .collect();
    if products.is_empty()
        && (lex.any(|l| &l.correction, &rest) || lex.any(|l| &l.no, &rest))
        && let Some(id) = ctx
            .focus
            .and_then(|f| sibling(f, &rest, names, catalog, &lex))
    {
        products.push(id);
    }

    // "Does the Reverb One have a detachable cable?": a product named by one word that is
    // also the name of a spec, beside another product in a specs question, is that spec.
    if products.len() == 2 && lex.any(|l| &l.specs, all) {
        let spec_word_only = |id: &String| {
            names
                .products
                .iter()
                .find(|p| &p.id == id)
                .is_some_and(|p| {
                    let said: Vec<&crate::engine::text::Phrase> = p
                        .phrases
                        .iter()
                        .filter(|ph| (0..all.len()).any(|at| ph.is_at(all, at)))
                        .collect();
                    !said.is_empty()
                        && said.iter().all(|ph| ph.len() == 1)
                        && all.iter().any(|w| {
                            said.iter().any(|ph| ph.is_at(std::slice::from_ref(w), 0))
                                && names.spec_names.iter().any(|(_, n)| n.has_word(w))
                        })
                })
        };
        if let Some(i) = products.iter().position(spec_word_only) {
            products.remove(i);
        }
    }

    // A shop question, and the words without its phrase (so "phone number" asks for no phone).
    let before_topic = rest;
    let (topic, topic_at, rest) = shop_topic(&before_topic, names, &lex);

    let first = all.first().map(String::as_str).unwrap_or_default();
    let has = |entry: fn(&Lexicon) -> &Phrases| lex.any(entry, &rest);
    let at = |entry: fn(&Lexicon) -> &Phrases| lex.find(entry, &rest);

    let yes = has(|l| &l.yes) || raw.contains(['👍', '👌', '✅']);
    let no = has(|l| &l.no);
    let hesitant = has(|l| &l.hesitation);
    // A category the shop question's own words make "my old" ("trade in my old laptop") is
    // no request for one.
    let category = category(&rest, names, &lex)
        .filter(|_| topic_at.is_none() || category(&before_topic, names, &lex).is_some());
    let use_case = names
        .uses
        .iter()
        .filter_map(|(id, words)| words.find(&rest).map(|(at, _)| (at, id)))
        .min()
        .map(|(_, id)| id.clone());
    let (budget, budget_min) = budget(&rest, lex.primary, &lex, catalog);
    let quantity = quantity(&rest, lex.primary, budget.is_some() || budget_min.is_some());
    let reference = reference(&rest, &lex);
    let ordinal = |w: &String| {
        lex.primary
            .ordinals
            .get(w.as_str())
            .or_else(|| lex.english.ordinals.get(w.as_str()))
            .copied()
            .filter(|&n| n >= 1)
    };
    let mut positions: Vec<usize> = rest.iter().filter_map(ordinal).map(|n| n - 1).collect();
    // "the first two", "los dos primeros", "первые два": the first n of the list.
    let first_n = rest.iter().enumerate().find_map(|(i, w)| {
        (ordinal(w) == Some(1)).then_some(())?;
        [i.checked_sub(1), Some(i + 1)]
            .into_iter()
            .flatten()
            .filter_map(|j| rest.get(j))
            .find_map(|n| {
                n.parse::<usize>()
                    .ok()
                    .or_else(|| lex.primary.numbers.get(n.as_str()).map(|&n| n as usize))
                    .filter(|n| (2..=6).contains(n))
            })
    });
    if let Some(n) = first_n {
        positions = (0..n).collect();
    }
    // "the first and the last": the last of the list among them.
    let last = !positions.is_empty() && lex.any(|l| &l.last, &rest);
    let quantity = if first_n.is_some() { None } else { quantity };
    let selector = selector(&rest, names, &lex)
        .or_else(|| {
            // "the 16-inch one", not "laptops with 16 GB" (a list) or "I need 16 GB".
            (category.is_none() || !has(|l| &l.browse))
                .then(|| spec_value(&rest, catalog, names))
                .flatten()
        })
        .filter(|s| {
            // "cameras cheaper than 1000 dollars" states a budget, it picks no product.
            !(budget.is_some() || budget_min.is_some())
                || !matches!(s, Selector::Relative(Measure::Price, _))
        });
    // "The best camera" names a spec, not the cameras: the category is read without the words
    // of the specs the selector picks by ("the phone with the best camera" is still phones).
    let category = match &selector {
        Some(
            Selector::Extreme(Measure::Spec(kinds), _)
            | Selector::Relative(Measure::Spec(kinds), _),
        ) if category.is_some() => {
            let spec_word = |w: &String| {
                names.kinds.iter().any(|k| {
                    kinds.contains(&k.name)
                        && [&k.words, &k.more, &k.less]
                            .iter()
                            .any(|p| p.any(std::slice::from_ref(w)))
                })
            };
            let stripped: Vec<String> = rest.iter().filter(|w| !spec_word(w)).cloned().collect();
            naming::category(&stripped, names, &lex)
        }
        _ => category,
    };
    // "The cheaper of the two": of the two products just talked about.
    let of_two = rest.iter().enumerate().any(|(i, w)| {
        let two = w == "2" || lex.primary.numbers.get(w.as_str()) == Some(&2);
        two && lex.primary.partitive.any(&rest[i.saturating_sub(2)..=i])
    });
    let increase = has(|l| &l.more) && !has(|l| &l.comparative);

    let cart_word = has(|l| &l.cart);
    // "and a usb-c cable" right after adding to the cart adds that too.
    let continues_cart = focus_in_cart_early(&ctx)
        && !products.is_empty()
        && rest.len() <= 5
        && rest
            .first()
            .is_some_and(|w| lex.primary.also.has_word(w) || lex.english.also.has_word(w));
    let add = has(|l| &l.add);
    let compare = has(|l| &l.compare);
    let remove = has(|l| &l.remove);
    let in_cart = |id: &String| ctx.cart.contains(id);
    let focus_in_cart = ctx.focus.is_some_and(|f| ctx.cart.iter().any(|c| c == f));
    let names_cart_item = products.iter().any(in_cart)
        || (products.is_empty() && focus_in_cart && category.is_none())
        || category.as_ref().is_some_and(|c| {
            ctx.cart
                .iter()
                .filter_map(|id| catalog.product(id))
                .any(|p| &p.category == c)
        });
    // "If I order it today, when does it come?" orders nothing.
    let buy = has(|l| &l.buy)
        && !(topic.is_some()
            && at(|l| &l.conditional).is_some_and(|c| at(|l| &l.buy).is_some_and(|b| c <= b)));
    let change = has(|l| &l.change);
    let checkout = has(|l| &l.checkout);
    let cart_view = has(|l| &l.cart_view);
    let price = at(|l| &l.price);
    // The specs the message names ("how heavy is it?": the weight), in order, and where the
    // first spec's name is.
    let mut asked_specs: Vec<String> = Vec::new();
    let mut spec_named_at: Option<usize> = None;
    for (at, _, i) in names.spec_mentions.matches(&rest) {
        let (name, is_name) = &names.spec_mention[i];
        if *is_name {
            spec_named_at = Some(spec_named_at.map_or(at, |s| s.min(at)));
        }
        if !asked_specs.contains(name) {
            asked_specs.push(name.clone());
        }
    }
    let specs = at(|l| &l.specs).or(spec_named_at);
    // "how much storage", "de cuánto es la pantalla": a spec, not a price.
    let price = price.filter(|_| {
        let span = lex
            .primary
            .price
            .find(&rest)
            .or_else(|| lex.english.price.find(&rest));
        span.is_none_or(|(at, len)| {
            let after = &rest[(at + len).min(rest.len())..(at + len + 3).min(rest.len())];
            // ("how much is the camera" asks a price: a category's word is no spec's.)
            !after.iter().any(|next| {
                names.kinds.iter().any(|k| k.words.has_word(next))
                    && !names.categories.iter().any(|(_, c)| c.has_word(next))
            })
        })
    });
    // A specs phrase (not only a spec's name) besides a price is a second ask.
    let specs_asked = at(|l| &l.specs).is_some();
    let browse = has(|l| &l.browse);
    let preference = has(|l| &l.preference);
    let points = !products.is_empty() || reference.is_some() || selector.is_some();
    // "How long does the battery of the Hush 700 last": a spec, not a delivery time.
    let (topic, topic_at) = if topic.as_deref() == Some("delivery")
        && specs.is_some()
        && (points || !asked_specs.is_empty())
    {
        (None, None)
    } else {
        (topic, topic_at)
    };
    let short = rest.len() <= 6;

    let intent = if first == "/start" {
        Intent::Greeting
    } else if first == "/help" {
        Intent::Help
    } else if ctx.awaiting_checkout && yes && !no && !hesitant && products.is_empty() && short {
        Intent::Confirm
    } else if ctx.pending_purchase
        && yes
        && !no
        && !hesitant
        && products.is_empty()
        && !browse
        && !compare
        && quantity.is_none()
        && topic.is_none()
        && (rest.len() <= 5 || buy)
    {
        // A short "yes" (or "yes, I want it") to the question just asked; "ok, show me
        // laptops" or "I'm not sure" confirm nothing.
        Intent::Confirm
    } else if (ctx.pending_purchase || ctx.awaiting_checkout)
        && no
        && !points
        && topic.is_none()
        && !(quantity.is_some() && (change || has(|l| &l.correction)))
    {
        Intent::Cancel
    } else if checkout {
        Intent::Checkout
    } else if remove && (cart_word || names_cart_item) {
        Intent::CartRemove
    } else if (continues_cart && !buy)
        || (add && !compare && (cart_word || points || !ctx.cart.is_empty()))
        || (cart_word && (buy || points || quantity.is_some()) && !cart_view)
    {
        if (products.iter().any(in_cart) || (products.is_empty() && names_cart_item))
            && (increase || quantity.is_some())
        {
            Intent::CartUpdate
        } else {
            Intent::CartAdd
        }
    } else if cart_view || (cart_word && !points && quantity.is_none()) {
        Intent::CartView
    } else if ctx.pending_purchase && quantity.is_some() && (change || has(|l| &l.correction)) {
        // "actually make it 3" while a purchase waits: a new quantity for it.
        Intent::Purchase
    } else if !ctx.cart.is_empty()
        && quantity.is_some()
        && (change || increase || has(|l| &l.correction))
        && (products.is_empty() || names_cart_item)
    {
        Intent::CartUpdate
    } else if quantity.is_some_and(|q| q >= 2)
        && (products.len() == 1 || reference == Some(Reference::It) || ctx.focus.is_some())
        && selector.is_none()
        && !matches!(
            reference,
            Some(Reference::Position(_) | Reference::Other | Reference::Last)
        )
        && (2..=8).contains(&rest.len())
        && price.is_none()
        && specs.is_none()
        && !compare
        && !browse
        && topic.is_none()
        && category.is_none()
        && budget.is_none()
        && budget_min.is_none()
        && positions.is_empty()
    {
        // "2 of them", "can I have two?": that many of the product at hand.
        Intent::Purchase
    } else if buy && (points || !(category.is_some() || use_case.is_some() || budget.is_some())) {
        // "I want a phone" asks to see phones; "I'll take it" buys the one in focus.
        Intent::Purchase
    } else if (compare
        && (products.len() >= 2 || (points && !products.is_empty()) || reference.is_some()))
        || (products.len() == 2 && price.is_none() && specs.is_none() && topic.is_none())
    {
        // Two products named with no other ask ("nova x1 or pixelon 8?") are weighed up.
        Intent::Compare
    } else if price.is_some() && (points || !browse) && (points || budget.is_none()) {
        Intent::PriceInquiry
    } else if let Some(selector) = &selector {
        // "The cheaper of the two, what processor does it have?": a spec of the one picked.
        let picked_by: &[String] = match selector {
            Selector::Extreme(Measure::Spec(kinds), _)
            | Selector::Relative(Measure::Spec(kinds), _)
            | Selector::Value { kinds, .. } => kinds,
            _ => &[],
        };
        if !asked_specs.is_empty()
            && !asked_specs.iter().any(|s| picked_by.contains(s))
            && at(|l| &l.specs).is_some()
        {
            Intent::SpecsRequest
        } else {
            Intent::ProductInfo
        }
    } else if specs.is_some() && (points || category.is_none()) {
        Intent::SpecsRequest
    } else if !products.is_empty()
        || reference.is_some_and(|r| r != Reference::It)
        || (reference.is_some() && has(|l| &l.about))
    {
        Intent::ProductInfo
    } else if category.is_some() && !preference && use_case.is_none() {
        Intent::Browse
    } else if use_case.is_some() || budget.is_some() || (preference && category.is_some()) {
        Intent::Preference
    } else if category.is_some() {
        Intent::Browse
    } else if has(|l| &l.thanks) && !has(|l| &l.goodbye) {
        Intent::Thanks
    } else if has(|l| &l.help) {
        Intent::Help
    } else if has(|l| &l.goodbye) {
        Intent::Goodbye
    } else if browse {
        Intent::Browse
    } else if has(|l| &l.greeting) {
        Intent::Greeting
    } else if no && short {
        Intent::Cancel
    } else {
        Intent::Unknown
    };

    // A shop question is the ask, or a further one besides a real other ask (a list of a
    // category, a product's price or specs), answered in the order asked.
    let mut also = Vec::new();
    let mut intent = intent;
    // "And the X1 Pro?" right after a price or specs question asks the same of it.
    if intent == Intent::ProductInfo
        && !products.is_empty()
        && selector.is_none()
        && rest.len() <= 3
        && (rest.is_empty() || lex.any(|l| &l.also, &rest[..1]) || lex.any(|l| &l.about, &rest))
        && let Some(last @ (Intent::PriceInquiry | Intent::SpecsRequest)) = ctx.last_intent
    {
        intent = last;
    }
    // "Show me tablets and what does the Papyr 7 cost?": the list, then the price.
    if matches!(intent, Intent::PriceInquiry | Intent::SpecsRequest)
        && category.is_some()
        && !products.is_empty()
        && let (Some(b), Some(p)) = (at(|l| &l.browse), price.or(specs))
        && b < p
    {
        also.push(intent);
        intent = Intent::Browse;
    }
    if let Some(topic_at) = topic_at {
        // A category named in passing ("warranty on laptops") is the question's object.
        let real_other = match intent {
            Intent::Browse => (browse && category.is_some()) || budget.is_some(),
            Intent::Preference => preference || budget.is_some() || category.is_some(),
            Intent::PriceInquiry | Intent::SpecsRequest | Intent::ProductInfo | Intent::Compare => {
                points
            }
            // "When will my order arrive if I order today?" buys nothing: a purchase besides a
            // shop question names what it buys or how many.
            Intent::Purchase => points || quantity.is_some(),
            Intent::CartAdd | Intent::CartRemove | Intent::CartUpdate => true,
            Intent::CartView | Intent::Checkout => true,
            _ => false,
        };
        if !real_other {
            intent = Intent::ShopQuestion;
        } else {
            let first_at = price.or(specs).or_else(|| at(|l| &l.browse)).unwrap_or(0);
            if topic_at < first_at {
                also.push(intent);
                intent = Intent::ShopQuestion;
            } else {
                also.push(Intent::ShopQuestion);
            }
        }
    }
    // "How heavy is it and what does it cost?": both, in the order asked.
    if intent == Intent::PriceInquiry
        && let (Some(p), Some(s)) = (price, specs)
        && points
        && specs_asked
    {
        if s < p {
            intent = Intent::SpecsRequest;
            also.insert(0, Intent::PriceInquiry);
        } else {
            also.insert(0, Intent::SpecsRequest);
        }
    }
    // Buying names one unless it says how many.
    let quantity = match intent {
        Intent::Purchase => quantity.or(Some(1)),
        Intent::CartAdd if !names_cart_item => quantity.or(Some(1)),
        _ => quantity,
    };

    let states_preference = matches!(intent, Intent::Preference)
        || (matches!(intent, Intent::Browse)
            && (budget.is_some() || budget_min.is_some() || use_case.is_some()));
    Understanding {
        language,
        intent,
        also,
        products,
        reference,
        positions,
        last,
        selector,
        of_two,
        asked_specs,
        quantity,
        budget,
        budget_min,
        category,
        use_case,
        topic,
        states_preference,
        affirmative: yes && !no,
        increase,
    }
}

/// Positive or negative words and emoji, counted, in the message's language and English.
pub fn sentiment(raw: &str, language: Language) -> events_schema::Sentiment {
    let text = Text::new(raw);
    let mut score: i32 = 0;
    for lex in [lexicon(language), lexicon(Language::En)] {
        score += lex.positive.all(&text.words).len() as i32;
        score -= lex.negative.all(&text.words).len() as i32;
        if language == Language::En {
            break;
        }
    }
    if raw.contains('!') {
        score += 1;
    }
    for c in raw.chars() {
        match c {
            '😀' | '😃' | '😄' | '😊' | '😍' | '👍' | '❤' | '🎉' | '🙂' | '🥰' | '😁' => {
                score += 1
            }
            '😡' | '😠' | '👎' | '😞' | '😢' | '🙁' | '😤' => score -= 1,
            _ => {}
        }
    }
    match score {
        s if s > 0 => events_schema::Sentiment::Positive,
        s if s < 0 => events_schema::Sentiment::Negative,
        _ => events_schema::Sentiment::Neutral,
    }
}

#[cfg(test)]
mod tests {
    use super::numbers::amount;
    use super::*;

    fn read(text: &str) -> Understanding {
        understand(text, &Catalog::demo().expect("demo"), Context::default())
    }

    #[test]
    fn amounts_read_thousands_cents_and_words() {
        assert_eq!(amount("$1,200", false), Some(120_000));
        assert_eq!(amount("1.200", false), Some(120_000));
        assert_eq!(amount("799.99", false), Some(79_999));
        assert_eq!(amount("1k", false), Some(100_000));
        assert_eq!(amount("2", true), Some(200_000));
        assert_eq!(amount("abc", false), None);
        let u = read("phones for under five hundred bucks?");
        assert_eq!(u.budget.map(|b| b.amount_minor), Some(50_000));
        let u = read("looking for a phone between 300 and 600");
        assert_eq!(
            (
                u.budget_min.map(|b| b.amount_minor),
                u.budget.map(|b| b.amount_minor)
            ),
            (Some(30_000), Some(60_000))
        );
    }

    #[test]
    fn counts_of_what_was_offered_are_no_quantities() {
        assert_eq!(
            read("put the cheaper of the two in my basket").quantity,
            Some(1)
        );
        assert_eq!(read("me llevo el más barato de los dos").quantity, Some(1));
        let u = read("сравни первые два");
        assert_eq!(
            (u.intent, u.positions.clone()),
            (Intent::Compare, vec![0, 1])
        );
        assert_eq!(u.quantity, None);
        let u = read("compare the first and the last");
        assert_eq!((u.positions.clone(), u.last), (vec![0], true));
    }

    #[test]
    fn brands_written_in_cyrillic_are_named() {
        assert_eq!(read("скока стоит хаш 700?").products, vec!["hush-700"]);
        assert_eq!(
            read("чем хаш 700 отличается от hush buds?").products,
            vec!["hush-700", "hush-buds"]
        );
        assert_eq!(
            read("какой экран у нова таб 11").products,
            vec!["nova-tab-11"]
        );
    }

    #[test]
    fn a_spec_word_that_is_also_a_category_names_the_spec() {
        let u = read("cual tiene mejor camara de los dos");
        assert_eq!((u.category.clone(), u.of_two), (None, true));
        let u = read("the phone with the best camera");
        assert_eq!(u.category.as_deref(), Some("phones"));
        assert_eq!(
            read("the cheapest camera").category.as_deref(),
            Some("cameras")
        );
    }

    #[test]
    fn a_value_with_its_unit_picks_a_product() {
        let u = read("no, the 16 inch one");
        assert_eq!(
            u.selector,
            Some(Selector::Value {
                kinds: vec!["screen".into()],
                thousandths: 16_000
            })
        );
        assert_ne!(u.quantity, Some(16));
        assert!(read("el de 256gb").selector.is_some());
        // Asking for a list with a spec is no pick; asking which one is.
        assert_eq!(read("show me laptops with 16 gb").selector, None);
        assert!(read("which laptop has 32gb of ram").selector.is_some());
        // A time is a spec's value only beside the spec's word.
        assert!(read("the one with 14 days of battery").selector.is_some());
        assert_eq!(read("can it be here in 3 days").selector, None);
    }

    #[test]
    fn ordering_in_a_question_about_delivery_buys_nothing() {
        for text in [
            "how many days till my order gets here?",
            "wann kommt mein paket an wenn ich heute bestelle",
            "если закажу сегодня, когда придёт?",
        ] {
            let u = read(text);
            assert_eq!(
                (u.intent, u.also.clone()),
                (Intent::ShopQuestion, vec![]),
                "{text}"
            );
        }
    }

    #[test]
    fn superlatives_and_comparatives_become_selectors() {
        let u = read("which one has the best zoom?");
        assert_eq!(
            u.selector,
            Some(Selector::Extreme(
                Measure::Spec(vec!["zoom".into()]),
                Direction::More
            ))
        );
        let u = read("anything lighter than that?");
        assert_eq!(
            u.selector,
            Some(Selector::Relative(
                Measure::Spec(vec!["weight".into()]),
                Direction::Less
            ))
        );
        let u = read("whats the cheapest camera you have");
        assert_eq!(
            u.selector,
            Some(Selector::Extreme(Measure::Price, Direction::Less))
        );
        assert_eq!(u.category.as_deref(), Some("cameras"));
    }
}
