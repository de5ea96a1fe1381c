//! Which language a message is in: its own words when they are clear (the script, the letters
//! only one language uses, the short common words of each lexicon), else the language of the
//! conversation so far, else what the channel reports (Telegram's `language_code`), else
//! English.

use super::lexicon::lexicon;
use super::text::Text;
use crate::language::Language;

/// The language to read and answer `text` in.
pub fn language(
    text: &Text,
    conversation: Option<Language>,
    channel: Option<Language>,
) -> Language {
    own(text).or(conversation).or(channel).unwrap_or_default()
}

/// The language the text's own words say, when they say one clearly.
pub fn own(text: &Text) -> Option<Language> {
    if text.cyrillic {
        return Some(Language::Ru);
    }
    let mut scores: Vec<(Language, usize)> = [Language::En, Language::Es, Language::De]
        .into_iter()
        .map(|l| {
            let markers = &lexicon(l).markers;
            let hits = text.words.iter().filter(|w| markers.has_word(w)).count();
            let letters = match l {
                Language::Es => text.spanish_marks,
                Language::De => text.german_marks,
                _ => 0,
            };
            (l, 2 * hits + 3 * letters)
        })
        .collect();
    scores.sort_by_key(|&(_, score)| std::cmp::Reverse(score));
    match scores[..] {
        [(best, a), (_, b), ..] if a > b => Some(best),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(text: &str) -> Option<Language> {
        own(&Text::new(text))
    }

    #[test]
    fn the_text_decides_when_it_is_clear() {
        assert_eq!(lang("how much is the nova x1?"), Some(Language::En));
        assert_eq!(lang("Привет, сколько стоит?"), Some(Language::Ru));
        assert_eq!(lang("¿cuánto cuesta?"), Some(Language::Es));
        assert_eq!(lang("Nova X1?"), None);
        assert_eq!(lang("👍"), None);
    }

    #[test]
    fn an_unclear_text_keeps_the_conversation_then_the_channel() {
        let t = Text::new("ok");
        let got = language(&t, Some(Language::De), Some(Language::Es));
        assert!(got == Language::De || own(&t).is_some());
        let t = Text::new("Nova X1?");
        assert_eq!(language(&t, None, Some(Language::Ru)), Language::Ru);
        assert_eq!(language(&t, None, None), Language::En);
    }
}
