//! The lexicons a message is read with.

use crate::engine::lexicon::Lexicon;
use crate::engine::text::Phrases;

/// The lexicons a message is read with: its language's, then English (shoppers everywhere
/// write "ok", "checkout", "thx").
pub(super) struct Lexicons<'a> {
    pub(super) primary: &'a Lexicon,
    pub(super) english: &'a Lexicon,
}

impl Lexicons<'_> {
    pub(super) fn find(
        &self,
        entry: impl Fn(&Lexicon) -> &Phrases,
        words: &[String],
    ) -> Option<usize> {
        let a = entry(self.primary).find(words).map(|(at, _)| at);
        let b = entry(self.english).find(words).map(|(at, _)| at);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn any(&self, entry: impl Fn(&Lexicon) -> &Phrases, words: &[String]) -> bool {
        entry(self.primary).any(words) || entry(self.english).any(words)
    }
}
