//! Whether a message sounds positive, negative or neutral.

use super::lexicon;
use crate::engine::text::Text;
use crate::language::Language;

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
