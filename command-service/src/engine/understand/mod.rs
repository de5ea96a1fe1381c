//! Reading a message: which language it is in, what the shopper asks (one ask or several),
//! which products they name (with aliases and typos) or point at ("it", "the second one", "the
//! other one", "the cheapest camera", "lighter than that"), quantities, budgets, categories,
//! needs and shop topics. Rules over data (the lexicons in `command-service/lexicon/` and the
//! catalog's own words), no I/O, no LLM: analytics never depend on a model.

use events_schema::Intent;

mod lexicons;
mod model;
mod naming;
mod numbers;
mod pointing;
mod sentiment;
#[cfg(test)]
mod tests;

pub use model::{Context, Direction, Measure, Reference, Selector, Understanding};
pub use sentiment::sentiment;

use lexicons::Lexicons;

use naming::{category, products, shop_topic};
use numbers::{budget, quantity};
use pointing::{focus_in_cart_early, reference, selector, sibling, spec_value};

use super::detect;
use super::lexicon::{Lexicon, lexicon};
use super::text::{Phrases, Text};
use crate::catalog::Catalog;
use crate::language::Language;

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
