//! What the bot says, per language, as data: `command-service/replies/<code>.toml`, templates
//! with `{placeholder}`s the engine fills. Written by people for each language (never machine
//! translation at run time); a test checks that every language has every key and the same
//! placeholders as English.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::language::Language;

const FILES: [(Language, &str); 4] = [
    (Language::En, include_str!("../../replies/en.toml")),
    (Language::Es, include_str!("../../replies/es.toml")),
    (Language::De, include_str!("../../replies/de.toml")),
    (Language::Ru, include_str!("../../replies/ru.toml")),
];

type Templates = BTreeMap<String, String>;

fn parse(language: Language, text: &str) -> Result<Templates, String> {
    toml::from_str(text).map_err(|e| format!("replies/{language}.toml: {e}"))
}

fn all() -> &'static [(Language, Templates)] {
    static ALL: OnceLock<Vec<(Language, Templates)>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|&(language, text)| {
                let templates = parse(language, text).unwrap_or_else(|error| {
                    tracing::error!(%error, "a replies file does not parse; English is used");
                    Templates::new()
                });
                (language, templates)
            })
            .collect()
    })
}

/// The template `key` in `language`, or in English when that language lacks it.
pub fn template(language: Language, key: &str) -> &str {
    let all = all();
    let find = |l: Language| {
        all.iter()
            .find(|(x, _)| *x == l)
            .and_then(|(_, t)| t.get(key))
            .map(String::as_str)
    };
    find(language).or_else(|| find(Language::En)).unwrap_or(key)
}

/// The template `key` in `language` with its placeholders filled.
pub fn say(language: Language, key: &str, values: &[(&str, &str)]) -> String {
    fill(template(language, key), values)
}

/// Replaces each `{name}` in `template` by its value; unknown placeholders stay as written.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(template: &str) -> Vec<&str> {
        let mut names: Vec<&str> = template
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(n, _)| n))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn every_language_has_every_template_with_the_same_placeholders() {
        let english = parse(Language::En, FILES[0].1).expect("en parses");
        for (language, text) in FILES {
            let templates = parse(language, text).unwrap_or_else(|e| panic!("{e}"));
            for (key, en) in &english {
                let Some(t) = templates.get(key) else {
                    panic!("replies/{language}.toml has no `{key}`")
                };
                assert_eq!(
                    placeholders(t),
                    placeholders(en),
                    "replies/{language}.toml `{key}`"
                );
                assert!(
                    !t.trim().is_empty(),
                    "replies/{language}.toml `{key}` is empty"
                );
            }
            for key in templates.keys() {
                assert!(
                    english.contains_key(key),
                    "replies/{language}.toml: unknown `{key}`"
                );
            }
        }
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        assert_eq!(fill("{a} and {b}", &[("a", "1"), ("b", "2")]), "1 and 2");
        assert_eq!(fill("{a} {zz} {", &[("a", "x")]), "x {zz} {");
    }
}
