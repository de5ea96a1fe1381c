//! The languages the bot speaks. Replies are written per language (templates, never machine
//! translation at run time); catalog texts may carry translations and fall back to English.

use std::fmt;

/// A language the bot reads and answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Language {
    #[default]
    En,
    Es,
    De,
    Ru,
}

impl Language {
    pub const ALL: [Language; 4] = [Language::En, Language::Es, Language::De, Language::Ru];

    /// The ISO 639-1 code (`es`), as recorded on events.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
            Language::De => "de",
            Language::Ru => "ru",
        }
    }

    /// Reads an ISO 639-1 code or an IETF tag (`de-AT`, `es_419`, `RU`); `None` for a language
    /// the bot does not speak.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Language::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.code()))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_their_primary_language() {
        assert_eq!(Language::from_tag("de-AT"), Some(Language::De));
        assert_eq!(Language::from_tag("es_419"), Some(Language::Es));
        assert_eq!(Language::from_tag("RU"), Some(Language::Ru));
        assert_eq!(Language::from_tag("en"), Some(Language::En));
        assert_eq!(Language::from_tag("fr"), None);
        assert_eq!(Language::from_tag(""), None);
    }
}
