//! Where an error is in the file: the span of a field path, from the TOML parser's own spans or,
//! for JSON, by stepping over the (already valid) text; and the line of an offset.

use super::load::Seg;
use super::*;

pub(super) fn toml_span(root: &Spanned<DeTable<'_>>, path: &[Seg]) -> Option<Range<usize>> {
    let mut span = root.span();
    let mut table = Some(root.get_ref());
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    for seg in path {
        let value = match *seg {
            Seg::Key(key) => table?.get(key)?,
            Seg::Index(i) => array?.get(i)?,
        };
        span = value.span();
        table = value.get_ref().as_table();
        array = value.get_ref().as_array().map(|a| &a[..]);
    }
    Some(span)
}

/// Finds a value in JSON text already known to be valid, by stepping over what precedes it.
pub(super) fn json_span(text: &str, path: &[Seg]) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let mut at = skip_space(b, 0);
    for seg in path {
        let opener = b.get(at).copied();
        at = skip_space(b, at + 1);
        match *seg {
            Seg::Key(key) if opener == Some(b'{') => loop {
                let key_end = json_end(b, at).filter(|_| b[at] == b'"')?;
                let value = skip_space(b, skip_space(b, key_end) + 1);
                if &b[at + 1..key_end - 1] == key.as_bytes() {
                    at = value;
                    break;
                }
                at = json_next(b, value)?;
            },
            Seg::Index(i) if opener == Some(b'[') => {
                for _ in 0..i {
                    at = json_next(b, at)?;
                }
            }
            _ => return None,
        }
    }
    Some(at..json_end(b, at)?)
}

/// The start of the item after the one at `at` in an object or array, if there is one.
pub(super) fn json_next(b: &[u8], at: usize) -> Option<usize> {
    let after = skip_space(b, json_end(b, at)?);
    (b.get(after) == Some(&b',')).then(|| skip_space(b, after + 1))
}

pub(super) fn skip_space(b: &[u8], mut at: usize) -> usize {
    while b.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The end of the JSON value starting at `at`.
pub(super) fn json_end(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at)? {
        b'"' => {
            let mut i = at + 1;
            loop {
                match b.get(i)? {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
        }
        b'{' | b'[' => {
            let (mut i, mut depth) = (at, 0usize);
            loop {
                match b.get(i)? {
                    b'"' => i = json_end(b, i)? - 1,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 1 => return Some(i + 1),
                    b'}' | b']' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
        }
        b']' | b'}' | b',' => None,
        _ => Some(
            b[at..]
                .iter()
                .position(|c| b",]} \t\r\n".contains(c))
                .map_or(b.len(), |n| at + n),
        ),
    }
}

pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
