//! Numbers in a message: amounts ("$1,200", "1.200 €", "1k", "five hundred bucks"), budgets
//! (at most, at least, between), and quantities.

use events_schema::Money;

use super::Lexicons;
use crate::catalog::Catalog;
use crate::engine::lexicon::Lexicon;
use crate::engine::text::Phrases;

/// "$800", "800$", "800", "1,200", "1.200", "799.99", "1k" as minor units.
pub(super) fn amount(word: &str, thousand_after: bool) -> Option<i64> {
    let digits: String = word
        .trim_start_matches(['$', '€', '£'])
        .trim_end_matches(['$', '€', '£'])
        .to_owned();
    let (digits, thousands) = match digits.strip_suffix('k') {
        Some(d) => (d.to_owned(), true),
        None => (digits, thousand_after),
    };
    // "1,200" and "1.200" are thousands; "799.99" has cents.
    let grouped = |sep: char| {
        let parts: Vec<&str> = digits.split(sep).collect();
        parts.len() > 1 && parts[1..].iter().all(|p| p.len() == 3)
    };
    let plain = if grouped(',') {
        digits.replace(',', "")
    } else if grouped('.') {
        digits.replace('.', "")
    } else {
        digits.replace(',', ".")
    };
    let (major, minor) = match plain.split_once('.') {
        Some((a, b)) if b.len() <= 2 => (a.to_owned(), format!("{b:0<2}")),
        Some(_) => return None,
        None => (plain, "00".to_owned()),
    };
    if major.is_empty()
        || !major.bytes().all(|b| b.is_ascii_digit())
        || !minor.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let major: i64 = major.parse().ok()?;
    let minor: i64 = minor.parse().ok()?;
    let value = major.checked_mul(100)?.checked_add(minor)?;
    if thousands {
        value.checked_mul(1000)
    } else {
        Some(value)
    }
}

/// Numbers written in words from position `at` ("five hundred", "two", "fünfhundert"): the
/// value and how many words it took.
pub(super) fn number_words(words: &[String], at: usize, lex: &Lexicon) -> Option<(u32, usize)> {
    let mut total: u32 = 0;
    let mut current: u32 = 0;
    let mut used = 0;
    for w in &words[at..] {
        let Some(&n) = lex.numbers.get(w.as_str()) else {
            break;
        };
        if n >= 100 && used > 0 {
            // "полутора тысяч": a word that is already thousands is not multiplied again.
            if current < n {
                current = current.max(1).saturating_mul(n);
            }
            if n >= 1000 {
                total = total.saturating_add(current);
                current = 0;
            }
        } else if n >= 100 {
            current = n;
        } else if used > 0
            && !(current.is_multiple_of(10) && (n < 10 || current.is_multiple_of(100)))
        {
            // "twenty one", "hundred twenty", but "two, one for my sister" is two numbers.
            break;
        } else {
            current = current.saturating_add(n);
        }
        used += 1;
    }
    (used > 0).then_some((total.saturating_add(current), used))
}

/// Amounts in the words: (position, minor units, words used).
pub(super) fn amounts(words: &[String], lex: &Lexicon) -> Vec<(usize, i64, usize)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let thousand_after = words
            .get(i + 1)
            .is_some_and(|n| lex.thousand.has_word(n) || n == "k");
        if let Some(minor) = amount(&words[i], thousand_after) {
            found.push((i, minor, if thousand_after { 2 } else { 1 }));
            i += 1;
            continue;
        }
        if let Some((n, used)) = number_words(words, i, lex) {
            found.push((i, i64::from(n) * 100, used));
            i += used;
            continue;
        }
        i += 1;
    }
    found
}

/// The budget the words state: (most, least).
pub(super) fn budget(
    words: &[String],
    primary: &Lexicon,
    lex: &Lexicons<'_>,
    catalog: &Catalog,
) -> (Option<Money>, Option<Money>) {
    let money = |minor: i64| Money::new(minor, catalog.currency().clone());
    let amounts = amounts(words, primary);
    let cue_before = |entry: fn(&Lexicon) -> &Phrases, at: usize| {
        let from = at.saturating_sub(4);
        lex.any(entry, &words[from..at])
    };
    let currency_around = |at: usize, used: usize| {
        let word = &words[at];
        word.contains(['$', '€', '£'])
            || words
                .get(at + used)
                .is_some_and(|n| lex.any(|l| &l.currency, std::slice::from_ref(n)))
    };
    // "between 300 and 600", "from 300 to 600", "300-600"
    for pair in amounts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let joined = b.0 == a.0 + a.2 + 1
            && lex.any(|l| &l.range_to, std::slice::from_ref(&words[a.0 + a.2]));
        if joined
            && (cue_before(|l| &l.between, a.0) || currency_around(b.0, b.2))
            && a.1 < b.1
            && a.1 >= 1_000
        {
            return (Some(money(b.1)), Some(money(a.1)));
        }
    }
    // An amount with its cue right before it or a currency beside it first ("12 und …, max
    // 250 €" is 250); then one whose cue comes a few words after ("800 € will ich nicht
    // ausgeben").
    for near in [true, false] {
        for &(at, minor, used) in &amounts {
            if minor < 1_000 {
                continue;
            }
            let reach = if near { 3 } else { 6 };
            let after = &words[(at + used).min(words.len())..(at + used + reach).min(words.len())];
            let max_after = lex.any(|l| &l.budget_max_after, after);
            let max_cue = cue_before(|l| &l.budget_max, at) || max_after;
            let min_cue = cue_before(|l| &l.budget_min, at);
            let money_like = currency_around(at, used);
            if near && !(money_like || cue_before(|l| &l.budget_max, at) || min_cue || max_after) {
                continue;
            }
            // "mehr als 800 € will ich nicht ausgeben": at most, said the long way round.
            let far = &words[(at + used).min(words.len())..(at + used + 6).min(words.len())];
            if min_cue && !max_cue && !lex.any(|l| &l.budget_max_after, far) {
                return (None, Some(money(minor)));
            }
            if max_cue || money_like {
                return (Some(money(minor)), None);
            }
        }
    }
    (None, None)
}

/// A quantity: a number from 1 to 99 that is no budget and no spec ("16 gb").
pub(super) fn quantity(words: &[String], lex: &Lexicon, has_budget: bool) -> Option<u32> {
    const UNITS: &[&str] = &[
        "gb", "tb", "mb", "mp", "mah", "hz", "inch", "inches", "mm", "g", "kg", "w", "hours", "h",
        "core", "cores", "k", "x", "$", "€", "dollars", "bucks", "euros", "usd", "eur",
    ];
    let specs = super::pointing::spec_values(words);
    for (i, w) in words.iter().enumerate() {
        // "the cheaper of the two": a count of what was offered.
        if lex.partitive.any(&words[i.saturating_sub(2)..=i]) {
            continue;
        }
        let unit = words
            .get(i + 1)
            .is_some_and(|u| UNITS.contains(&u.as_str()) || lex.currency.has_word(u))
            || specs.iter().any(|&(at, _, _)| at == i);
        // "2x", "x2": a count, unless a zoom ("5x zoom", "10x optical").
        let zoom = words
            .get(i + 1)
            .is_some_and(|n| ["zoom", "optical", "optico", "optisch", "зум"].contains(&n.as_str()));
        if let Some(n) = w
            .strip_suffix('x')
            .or_else(|| w.strip_prefix('x'))
            .and_then(|d| d.parse::<u32>().ok())
            && (1..=20).contains(&n)
            && !zoom
        {
            return Some(n);
        }
        if let Ok(n) = w.parse::<u32>()
            && (1..=99).contains(&n)
            && !unit
            && !(has_budget && n >= 10)
        {
            return Some(n);
        }
        if let Some((n, _)) = number_words(words, i, lex)
            && (1..=99).contains(&n)
            && !unit
            && !(n == 1 && lex.articles.has_word(w))
        {
            return Some(n);
        }
    }
    None
}
