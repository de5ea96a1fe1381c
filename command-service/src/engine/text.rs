//! A message as the rules read it: lower case, accents folded ("cámara" and "camara" are one
//! word, "ё" is "е"), apostrophes dropped ("what's" is "whats"), split into words. Phrases from
//! the lexicons and the catalog are read the same way and matched word by word, so a phrase
//! never matches inside a word; a pattern word ending in `*` matches any ending
//! ("наушник*" matches "наушники").

use std::collections::HashMap;

/// Folds one character: lower case without accents; `None` drops it (apostrophes).
fn fold_char(c: char, out: &mut String) {
    let folded = match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ё' => 'е',
        'й' => 'и',
        'ß' => {
            out.push_str("ss");
            return;
        }
        '\'' | '’' | '`' | '´' => return,
        c => c,
    };
    out.push(folded);
}

/// Lower case, accents folded, apostrophes dropped.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        fold_char(c, &mut out);
    }
    out
}

/// Whether a character belongs inside a word: letters, digits, and the signs that are part of
/// amounts, positions and names (`$500`, `#2`, `usb-c`, `1,200`, `4.5`, `24/7`).
fn in_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '$' | '€' | '#' | '-' | '.' | ',' | '/' | '*')
}

/// The words of already folded text, with leading and trailing punctuation trimmed ("500." is
/// "500", "-hi" is "hi").
pub fn split(folded: &str) -> Vec<String> {
    folded
        .split(|c: char| !in_word(c))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | ',' | '-' | '/')))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A message, folded and split once.
#[derive(Debug, Clone)]
pub struct Text {
    /// The words, folded.
    pub words: Vec<String>,
    /// Whether the raw text has letters of the Cyrillic script.
    pub cyrillic: bool,
    /// The raw text's accented letters that say Spanish (ñ, ¿, ¡, á…) or German (ä, ö, ü, ß).
    pub spanish_marks: usize,
    pub german_marks: usize,
}

impl Text {
    pub fn new(raw: &str) -> Text {
        let folded = fold(raw);
        let lowered = raw.to_lowercase();
        Text {
            words: split(&folded),
            cyrillic: raw.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}')),
            spanish_marks: lowered
                .chars()
                .filter(|c| matches!(c, 'ñ' | '¿' | '¡' | 'á' | 'é' | 'í' | 'ó' | 'ú'))
                .count(),
            german_marks: lowered
                .chars()
                .filter(|c| matches!(c, 'ä' | 'ö' | 'ü' | 'ß'))
                .count(),
        }
    }
}

/// One word of a phrase: the word itself, or a stem that takes any ending.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Word(String),
    Stem(String),
}

impl Pattern {
    fn matches(&self, word: &str) -> bool {
        match self {
            Pattern::Word(w) => w == word,
            Pattern::Stem(s) => word.starts_with(s.as_str()),
        }
    }
}

/// A phrase of one or more words, matched on word boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Phrase(Vec<Pattern>);

impl Phrase {
    /// A phrase as written and, when it has an umlaut, also spelled out ("gefällt" and
    /// "gefaellt"), as German is often typed without them; empty phrases left out.
    pub(crate) fn spellings(written: &str) -> Vec<Phrase> {
        let mut all = vec![Phrase::new(written)];
        if written.contains(['ä', 'ö', 'ü', 'Ä', 'Ö', 'Ü']) {
            let spelled: String = written
                .chars()
                .flat_map(|c| match c {
                    'ä' | 'Ä' => vec!['a', 'e'],
                    'ö' | 'Ö' => vec!['o', 'e'],
                    'ü' | 'Ü' => vec!['u', 'e'],
                    c => vec![c],
                })
                .collect();
            all.push(Phrase::new(&spelled));
        }
        all.retain(|p| !p.is_empty());
        all
    }

    /// Reads a phrase as written in a lexicon or catalog ("i'll take", "наушник*").
    pub fn new(written: &str) -> Phrase {
        Phrase(
            split(&fold(written))
                .into_iter()
                .map(|w| match w.strip_suffix('*') {
                    Some(stem) if !stem.is_empty() => Pattern::Stem(stem.to_owned()),
                    _ => Pattern::Word(w.trim_end_matches('*').to_owned()),
                })
                .filter(|p| !matches!(p, Pattern::Word(w) if w.is_empty()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many words the phrase has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the phrase occurs in `words` starting at `at`.
    pub(crate) fn is_at(&self, words: &[String], at: usize) -> bool {
        words.len() >= at + self.0.len()
            && self.0.iter().zip(&words[at..]).all(|(p, w)| p.matches(w))
    }
}

/// A list of phrases (one lexicon entry), indexed by their first word so that matching costs
/// a lookup per word of the message rather than a scan of every phrase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Phrases {
    all: Vec<Phrase>,
    /// Phrases whose first word is a whole word, by that word (indexes into `all`).
    by_first: HashMap<String, Vec<usize>>,
    /// Phrases whose first word is a stem.
    stemmed: Vec<usize>,
}

impl Phrases {
    /// Phrases as written, each in its [`Phrase::spellings`].
    pub fn new<S: AsRef<str>>(written: &[S]) -> Phrases {
        Phrases::from_phrases(
            written
                .iter()
                .flat_map(|w| Phrase::spellings(w.as_ref()))
                .collect(),
        )
    }

    /// Indexes phrases already made, keeping their order (a phrase's index is its place).
    pub(crate) fn from_phrases(all: Vec<Phrase>) -> Phrases {
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        let mut stemmed = Vec::new();
        for (i, p) in all.iter().enumerate() {
            match p.0.first() {
                Some(Pattern::Word(w)) => by_first.entry(w.clone()).or_default().push(i),
                Some(Pattern::Stem(_)) => stemmed.push(i),
                None => {}
            }
        }
        Phrases {
            all,
            by_first,
            stemmed,
        }
    }

    /// Every match as (start, length, index of the phrase), in order of start.
    pub fn matches<'w>(
        &'w self,
        words: &'w [String],
    ) -> impl Iterator<Item = (usize, usize, usize)> + 'w {
        words.iter().enumerate().flat_map(move |(at, word)| {
            let exact = self.by_first.get(word).map_or(&[][..], Vec::as_slice);
            exact
                .iter()
                .chain(self.stemmed.iter())
                .copied()
                .filter(move |&i| self.all[i].is_at(words, at))
                .map(move |i| (at, self.all[i].len(), i))
        })
    }

    /// The first place any of the phrases occurs, and how many words it spans there (the
    /// longest phrase at the earliest place).
    pub fn find(&self, words: &[String]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (at, len, _) in self.matches(words) {
            match best {
                Some((b, _)) if at > b => break,
                Some((_, l)) if len <= l => {}
                _ => best = Some((at, len)),
            }
        }
        best
    }

    pub fn any(&self, words: &[String]) -> bool {
        self.matches(words).next().is_some()
    }

    /// Every place any phrase occurs, as (start, length), for blanking them out.
    pub fn all(&self, words: &[String]) -> Vec<(usize, usize)> {
        self.matches(words).map(|(at, len, _)| (at, len)).collect()
    }

    /// Whether the single word `word` is one of the one-word phrases.
    pub(crate) fn has_word(&self, word: &str) -> bool {
        let one = |i: &usize| self.all[*i].0.len() == 1 && self.all[*i].0[0].matches(word);
        self.by_first.get(word).is_some_and(|v| v.iter().any(one)) || self.stemmed.iter().any(one)
    }
}

/// Whether a folded word is written in Cyrillic.
pub(crate) fn is_cyrillic(word: &str) -> bool {
    word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}'))
}

/// A folded word in Latin letters: Cyrillic transliterated ("хаш" is "hash"), others as they
/// are.
fn latin(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        let s = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "h",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "sch",
            'ъ' | 'ь' => "",
            'ы' => "y",
            'ю' => "yu",
            'я' => "ya",
            c => {
                out.push(c);
                continue;
            }
        };
        out.push_str(s);
    }
    out
}

/// How a word sounds, roughly, so that a brand written in Cyrillic ("хаш 700", "пикселон")
/// meets its Latin name ("Hush 700", "Pixelon"): transliterated, vowels dropped after the first
/// letter, letters that sound alike merged (c/k/q, v/w, s/z, x = ks, ph = f), doubles once.
pub(crate) fn sound_key(word: &str) -> String {
    let latin = latin(word);
    // A model code ("8а", "x1") is kept whole: its letters tell models apart.
    if latin.chars().any(|c| c.is_ascii_digit()) {
        return latin;
    }
    let chars: Vec<char> = latin.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let mapped: &str = match c {
            'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'j' if i == 0 => "a",
            'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'j' => "",
            'p' if next == Some('h') => {
                i += 1;
                "f"
            }
            'c' | 'k' | 'q' => "k",
            'x' => "ks",
            'w' | 'v' => "v",
            'z' | 's' => "s",
            c if c.is_alphanumeric() => {
                if !out.ends_with(c) || c.is_ascii_digit() {
                    out.push(c);
                }
                i += 1;
                continue;
            }
            _ => "",
        };
        for m in mapped.chars() {
            if !out.ends_with(m) {
                out.push(m);
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        Text::new(s).words
    }

    #[test]
    fn text_is_folded_and_split_into_words() {
        assert_eq!(
            words("¿Cuánto cuesta la cámara?"),
            ["cuanto", "cuesta", "la", "camara"]
        );
        assert_eq!(
            words("What's the price, $500."),
            ["whats", "the", "price", "$500"]
        );
        assert_eq!(words("Größe für 1,200 €"), ["grosse", "fur", "1,200", "€"]);
        assert_eq!(words("Наушники, ещё!"), ["наушники", "еще"]);
        assert_eq!(words("usb-c cable #2 👍"), ["usb-c", "cable", "#2"]);
        let t = Text::new("Привет, mañana");
        assert!(t.cyrillic);
        assert_eq!(t.spanish_marks, 1);
    }

    #[test]
    fn phrases_match_on_word_boundaries_with_stems() {
        let p = Phrases::new(&["i'll take", "наушник*", "take"]);
        assert_eq!(p.find(&words("ok ill take it")), Some((1, 2)));
        assert_eq!(p.find(&words("хочу наушники")), Some((1, 1)));
        assert_eq!(p.find(&words("mistake")), None);
        assert!(Phrases::new(&["cart"]).has_word("cart"));
        assert!(!Phrases::new(&["cart"]).any(&words("cartoon")));
        assert_eq!(
            Phrases::new(&["a b"]).all(&words("a b c a b")),
            vec![(0, 2), (3, 2)]
        );
    }

    #[test]
    fn brands_written_in_cyrillic_sound_like_their_latin_names() {
        for (a, b) in [
            ("хаш", "hush"),
            ("пикселон", "pixelon"),
            ("вертекс", "vertex"),
            ("аэро", "aero"),
            ("фокаль", "focale"),
            ("снэпвел", "snapwell"),
            ("нова", "nova"),
        ] {
            assert_eq!(sound_key(a), sound_key(b), "{a} / {b}");
        }
        assert_ne!(sound_key("нова"), sound_key("vertex"));
    }

    #[test]
    fn umlauts_spelled_out_match() {
        let p = Phrases::new(&["nicht gefällt"]);
        assert!(p.any(&words("wenn sie mir nicht gefaellt")));
        assert!(p.any(&words("wenn sie mir nicht gefällt")));
    }
}
