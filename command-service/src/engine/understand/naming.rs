//! What a message names: products (with plural endings and near spellings), categories (not
//! after "my"), and the shop topic it asks about.

use super::Lexicons;
use crate::engine::names::CatalogWords;
use crate::engine::text::{Phrases, is_cyrillic, sound_key};

/// Products named in the words, in order, and the words with the names blanked out.
pub(super) fn products(
    words: &[String],
    names: &CatalogWords,
    lex: &Lexicons<'_>,
) -> (Vec<String>, Vec<String>) {
    // Per product, its longest name found, at its first place: (start, end).
    let mut named: Vec<Option<(usize, usize)>> = vec![None; names.products.len()];
    for (at, len, phrase) in names.product_phrases.matches(words) {
        let product = names.phrase_product[phrase];
        let better = match named[product] {
            None => true,
            Some((s, e)) => len > e - s || (len == e - s && at < s),
        };
        if better {
            named[product] = Some((at, at + len));
        }
    }
    // A name written in Cyrillic ("хаш 700", "нова таб 11"): by how it sounds.
    if words.iter().any(|w| is_cyrillic(w)) {
        let keys: Vec<String> = words.iter().map(|w| sound_key(w)).collect();
        for (at, len, phrase) in names.product_keys.matches(&keys) {
            let product = names.key_product[phrase];
            let longer = named[product].is_none_or(|(s, e)| len > e - s);
            if longer && words[at..at + len].iter().any(|w| is_cyrillic(w)) {
                named[product] = Some((at, at + len));
            }
        }
    }
    // (start, end, product index)
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for (i, p) in names.products.iter().enumerate() {
        let span = named[i].or_else(|| {
            // One typo in a distinctive one-word name of 6+ letters ("pixleon"), two in 9+;
            // shorter words are too often ordinary words ("zero" is not "aero").
            p.single_words.iter().find_map(|n| {
                let limit = if n.len() >= 9 { 2 } else { 1 };
                words
                    .iter()
                    .position(|w| {
                        !lex.primary.not_products.has_word(w)
                            && !lex.english.not_products.has_word(w)
                            && n.len().abs_diff(w.len()) <= limit
                            && w.chars().all(char::is_alphabetic)
                            && strsim::osa_distance(n, w) <= limit
                    })
                    .map(|at| (at, at + 1))
            })
        });
        if let Some((start, end)) = span {
            found.push((start, end, i));
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
    let mut rest = words.to_vec();
    for (s, e, _) in &found {
        for w in &mut rest[*s..*e] {
            w.clear();
        }
    }
    let rest: Vec<String> = rest.into_iter().filter(|w| !w.is_empty()).collect();
    let ids = found
        .into_iter()
        .map(|(_, _, i)| names.products[i].id.clone())
        .collect();
    (ids, rest)
}

/// The shop topic asked about (FAQ first: they are the shop's most specific phrasings), where
/// it starts, and the words without its phrase.
pub(super) fn shop_topic(
    words: &[String],
    names: &CatalogWords,
    lex: &Lexicons<'_>,
) -> (Option<String>, Option<usize>, Vec<String>) {
    let faq = names
        .faq
        .iter()
        .filter_map(|(id, p)| p.find(words).map(|(at, len)| (at, len, id.clone())))
        .min_by_key(|(at, len, _)| (*at, std::cmp::Reverse(*len)));
    let policy = || {
        names
            .policies
            .iter()
            .map(|(t, p)| (t.as_str().to_owned(), p))
            .chain(lex.primary.topics.iter().map(|(t, p)| (t.clone(), p)))
            .chain(lex.english.topics.iter().map(|(t, p)| (t.clone(), p)))
            .filter_map(|(t, p)| p.find(words).map(|(at, len)| (at, len, t)))
            .min_by_key(|(at, len, _)| (*at, std::cmp::Reverse(*len)))
    };
    let Some((at, _, topic)) = faq.or_else(policy) else {
        return (None, None, words.to_vec());
    };
    // Every phrase of that topic leaves the words ("how do I reach a person? phone number?").
    let phrases: Vec<&Phrases> = names
        .faq
        .iter()
        .filter(|(id, _)| *id == topic)
        .map(|(_, p)| p)
        .chain(
            names
                .policies
                .iter()
                .filter(|(t, _)| t.as_str() == topic)
                .map(|(_, p)| p),
        )
        .chain(
            lex.primary
                .topics
                .iter()
                .filter(|(t, _)| *t == topic)
                .map(|(_, p)| p),
        )
        .chain(
            lex.english
                .topics
                .iter()
                .filter(|(t, _)| *t == topic)
                .map(|(_, p)| p),
        )
        .collect();
    let mut rest = words.to_vec();
    for p in phrases {
        for (start, len) in p.all(words) {
            for w in &mut rest[start..start + len] {
                w.clear();
            }
        }
    }
    rest.retain(|w| !w.is_empty());
    (Some(topic), Some(at), rest)
}

pub(super) fn category(
    words: &[String],
    names: &CatalogWords,
    lex: &Lexicons<'_>,
) -> Option<String> {
    let ordinary =
        |w: &String| lex.primary.not_products.has_word(w) || lex.english.not_products.has_word(w);
    // A near spelling of a one-word category name of 6+ letters ("kopfhöhrer", "laptpos").
    let near = |w: &String| {
        if w.len() < 5 || !w.chars().all(char::is_alphabetic) {
            return None;
        }
        names
            .category_words
            .iter()
            .find(|(_, n)| {
                let limit = if n.len() >= 9 { 2 } else { 1 };
                n.len() >= 6
                    && n.len().abs_diff(w.len()) <= limit
                    && strsim::osa_distance(n, w) <= limit
            })
            .map(|(id, _)| id)
    };
    let mut found: Vec<(usize, &String)> = names
        .categories
        .iter()
        .flat_map(|(id, phrases)| phrases.matches(words).map(move |(at, _, _)| (at, id)))
        .collect();
    if found.is_empty() {
        found = words
            .iter()
            .enumerate()
            .filter(|(_, w)| !ordinary(w))
            .filter_map(|(at, w)| near(w).map(|id| (at, id)))
            .collect();
    }
    found
        .into_iter()
        // "my phone", "my old phone" is not a request for phones.
        .filter(|(at, _)| {
            !words[at.saturating_sub(2)..*at]
                .iter()
                .any(|w| lex.primary.possessive.has_word(w) || lex.english.possessive.has_word(w))
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, id)| id.clone())
}
