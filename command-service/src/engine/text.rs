//! A message as the rules read it: lower case, accents folded ("cámara" and "camara" are one
//! word, "ё" is "е"), apostrophes dropped ("what's" is "whats"), split into words. Phrases from
//! the lexicons and the catalog are read the same way and matched word by word, so a phrase
//! never matches inside a word; a pattern word ending in `*` matches any ending
//! ("наушник*" matches "наушники").

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
pub struct Phrase(Vec<Pattern>);

impl Phrase {
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

    /// Where the phrase first occurs in `words` (the index of its first word).
    pub fn find(&self, words: &[String]) -> Option<usize> {
        self.find_from(words, 0)
    }

    pub fn find_from(&self, words: &[String], from: usize) -> Option<usize> {
        if self.0.is_empty() || words.len() < self.0.len() {
            return None;
        }
        (from..=words.len() - self.0.len())
            .find(|&at| self.0.iter().zip(&words[at..]).all(|(p, w)| p.matches(w)))
    }
}

/// A list of phrases (one lexicon entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Phrases(Vec<Phrase>);

impl Phrases {
    pub fn new<S: AsRef<str>>(written: &[S]) -> Phrases {
        Phrases(
            written
                .iter()
                .map(|w| Phrase::new(w.as_ref()))
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }

    /// The first place any of the phrases occurs, and how many words it spans there (the
    /// longest phrase at the earliest place).
    pub fn find(&self, words: &[String]) -> Option<(usize, usize)> {
        self.0
            .iter()
            .filter_map(|p| p.find(words).map(|at| (at, p.len())))
            .min_by_key(|&(at, len)| (at, std::cmp::Reverse(len)))
    }

    pub fn any(&self, words: &[String]) -> bool {
        self.0.iter().any(|p| p.find(words).is_some())
    }

    /// Every place any phrase occurs, as (start, length), for blanking them out.
    pub fn all(&self, words: &[String]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for p in &self.0 {
            let mut from = 0;
            while let Some(at) = p.find_from(words, from) {
                found.push((at, p.len()));
                from = at + 1;
            }
        }
        found
    }

    /// Whether the single word `word` is one of the one-word phrases.
    pub fn has_word(&self, word: &str) -> bool {
        self.0
            .iter()
            .any(|p| p.0.len() == 1 && p.0[0].matches(word))
    }
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
}
