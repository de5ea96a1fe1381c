//! How a message points at a product it does not name: "it", "the second one", "the other
//! one", "not that one, the Pro", "the cheapest", "lighter than that".

use super::{Context, Direction, Lexicons, Measure, Reference, Selector};
use crate::catalog::{Catalog, Unit};
use crate::engine::names::{CatalogWords, KindWords};

/// The product in focus is a line of the cart (the last thing done was a cart add).
pub(super) fn focus_in_cart_early(ctx: &Context<'_>) -> bool {
    ctx.focus.is_some_and(|f| ctx.cart.iter().any(|c| c == f))
}

/// "Not that one, the Pro": the one product of the focus's category whose name has a word the
/// focus's name lacks and the message says.
pub(super) fn sibling(
    focus: &str,
    words: &[String],
    names: &CatalogWords,
    catalog: &Catalog,
    lex: &Lexicons<'_>,
) -> Option<String> {
    let category = &catalog.product(focus)?.category;
    let focus_words = &names.products.iter().find(|p| p.id == focus)?.name_words;
    let ordinary = |w: &String| {
        [lex.primary, lex.english].iter().any(|l| {
            l.numbers.contains_key(w.as_str())
                || l.it.has_word(w)
                || l.other.has_word(w)
                || l.not_products.has_word(w)
        })
    };
    let said = |w: &String| {
        w.len() >= 3
            && w.chars().all(char::is_alphabetic)
            && !focus_words.contains(w)
            && words.contains(w)
            && !ordinary(w)
    };
    let mut found = names.products.iter().filter(|p| {
        p.id != focus
            && catalog
                .product(&p.id)
                .is_some_and(|x| &x.category == category)
            && p.name_words.iter().any(said)
    });
    let first = found.next()?;
    found.next().is_none().then(|| first.id.clone())
}

pub(super) fn reference(words: &[String], lex: &Lexicons<'_>) -> Option<Reference> {
    if lex.any(|l| &l.other, words) {
        return Some(Reference::Other);
    }
    for (i, w) in words.iter().enumerate() {
        let ordinal = lex
            .primary
            .ordinals
            .get(w.as_str())
            .or_else(|| lex.english.ordinals.get(w.as_str()));
        if let Some(&n) = ordinal
            && n >= 1
        {
            return Some(Reference::Position(n - 1));
        }
        if let Some(n) = w.strip_prefix('#').and_then(|n| n.parse::<usize>().ok())
            && n >= 1
        {
            return Some(Reference::Position(n - 1));
        }
        if (lex.primary.position.has_word(w) || lex.english.position.has_word(w))
            && let Some(n) = words.get(i + 1).and_then(|n| n.parse::<usize>().ok())
            && (1..=9).contains(&n)
        {
            return Some(Reference::Position(n - 1));
        }
    }
    if lex.any(|l| &l.last, words) {
        return Some(Reference::Last);
    }
    if lex.any(|l| &l.it, words) {
        return Some(Reference::It);
    }
    None
}

/// A product chosen by a measure: "the cheapest", "a cheaper one", "the best zoom", "lighter".
pub(super) fn selector(
    words: &[String],
    names: &CatalogWords,
    lex: &Lexicons<'_>,
) -> Option<Selector> {
    let superlative = lex.any(|l| &l.superlative, words);
    let comparative = lex.any(|l| &l.comparative, words);
    let make = |measure: Measure, direction: Direction| {
        if superlative {
            Selector::Extreme(measure, direction)
        } else {
            Selector::Relative(measure, direction)
        }
    };
    // Spec words that say the direction ("lighter", "bigger battery").
    let mut directed: Vec<(usize, &str, Direction)> = Vec::new();
    for k in &names.kinds {
        if let Some((at, _)) = k.less.find(words) {
            directed.push((at, &k.name, Direction::Less));
        }
        if let Some((at, _)) = k.more.find(words) {
            directed.push((at, &k.name, Direction::More));
        }
    }
    if let Some(&(_, _, direction)) = directed.iter().min_by_key(|(at, _, _)| *at) {
        let kinds: Vec<String> = directed
            .iter()
            .filter(|(_, _, d)| *d == direction)
            .map(|(_, k, _)| (*k).to_owned())
            .collect();
        return Some(make(Measure::Spec(kinds), direction));
    }
    // A spec word with a superlative or comparative ("the best zoom", "more storage"): the
    // better way of that spec.
    if superlative || comparative {
        let kinds: Vec<&KindWords> = names.kinds.iter().filter(|k| k.words.any(words)).collect();
        let cheaper = lex.any(|l| &l.cheaper, words);
        let pricier = lex.any(|l| &l.pricier, words);
        if !kinds.is_empty() && !cheaper && !pricier {
            return Some(make(
                Measure::Spec(kinds.iter().map(|k| k.name.clone()).collect()),
                Direction::More,
            ));
        }
        if cheaper {
            return Some(make(Measure::Price, Direction::Less));
        }
        if pricier {
            return Some(make(Measure::Price, Direction::More));
        }
    }
    if lex.any(|l| &l.cheaper, words) {
        return Some(make(Measure::Price, Direction::Less));
    }
    if lex.any(|l| &l.pricier, words) {
        return Some(make(Measure::Price, Direction::More));
    }
    None
}

/// Units as shoppers write them after a number, folded, with their size in thousandths of the
/// unit. Short words that are also ordinary words ("in", "g", "h", "x") are left out.
const UNIT_WORDS: &[(&[&str], Unit, i64)] = &[
    (
        &[
            "inch",
            "inches",
            "pulgada",
            "pulgadas",
            "zoll",
            "дюим",
            "дюима",
            "дюимов",
        ],
        Unit::Inches,
        1_000,
    ),
    (&["gb", "gigas", "гб", "гиг"], Unit::Gigabytes, 1_000),
    (&["tb", "тб"], Unit::Gigabytes, 1_000_000),
    (&["mah", "мач"], Unit::MilliampHours, 1_000),
    (
        &[
            "mp",
            "megapixel",
            "megapixels",
            "megapixeles",
            "мп",
            "мегапикселеи",
            "мегапикселя",
        ],
        Unit::Megapixels,
        1_000,
    ),
    (&["watt", "watts", "вт", "ватт"], Unit::Watts, 1_000),
    (
        &["hours", "hrs", "horas", "stunden", "std", "часов", "часа"],
        Unit::Hours,
        1_000,
    ),
    (
        &["days", "dias", "tage", "tagen", "днеи", "дня", "суток"],
        Unit::Hours,
        24_000,
    ),
];

/// A number and the unit after it ("16 pulgadas", "256gb", "6.1 inch"): the unit and the
/// value in thousandths of it.
pub(crate) fn spec_values(words: &[String]) -> Vec<(usize, Unit, i64)> {
    let unit_of = |w: &str| {
        UNIT_WORDS
            .iter()
            .find(|(names, _, _)| names.contains(&w))
            .map(|&(_, unit, size)| (unit, size))
    };
    let mut found = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let digits_end = w
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(w.len());
        let (number, attached) = w.split_at(digits_end);
        let Ok(value) = number.replace(',', ".").parse::<f64>() else {
            continue;
        };
        let unit = if attached.is_empty() {
            words.get(i + 1).and_then(|u| unit_of(u))
        } else {
            unit_of(attached.trim_start_matches('-'))
        };
        if let Some((unit, size)) = unit {
            found.push((i, unit, (value * size as f64).round() as i64));
        }
    }
    found
}

/// "The 16-inch one": the spec kinds measured in the unit named, and the value. Times
/// ("14 days") name a spec only beside its word ("14 days of battery"): alone they are more
/// often a delivery time.
pub(super) fn spec_value(
    words: &[String],
    catalog: &Catalog,
    names: &CatalogWords,
) -> Option<Selector> {
    let (_, unit, thousandths) = spec_values(words).into_iter().next()?;
    let said = |kind: &str| {
        names
            .kinds
            .iter()
            .any(|k| k.name == kind && k.words.any(words))
    };
    let kinds: Vec<String> = catalog
        .spec_kinds()
        .iter()
        .filter(|k| k.unit == unit && (unit != Unit::Hours || said(&k.name)))
        .map(|k| k.name.clone())
        .collect();
    (!kinds.is_empty()).then_some(Selector::Value { kinds, thousandths })
}
