//! The catalog as the rules read it: every product name and alias, category word, spec word,
//! need and shop phrasing made into [`Phrase`]s once per catalog (on first use), so reading a
//! message only compares words.

use std::sync::OnceLock;

use super::text::{Phrase, Phrases, fold, sound_key, split};
use crate::catalog::{Catalog, Topic};

/// How shoppers name one product.
#[derive(Debug)]
pub(crate) struct ProductNames {
    pub id: String,
    /// Name, id and aliases as phrases, longest first (so "nova x1 pro" wins over "nova x1").
    pub phrases: Vec<Phrase>,
    /// Distinctive one-word names of 6+ letters, for near spellings ("pixleon").
    pub single_words: Vec<String>,
    /// The words of the name ("nova", "x1", "pro"), for "not that one, the Pro".
    pub name_words: Vec<String>,
}

/// A spec kind's words.
#[derive(Debug)]
pub(crate) struct KindWords {
    pub name: String,
    pub words: Phrases,
    pub more: Phrases,
    pub less: Phrases,
}

/// Everything in the catalog a message can name.
#[derive(Debug)]
pub(crate) struct CatalogWords {
    pub products: Vec<ProductNames>,
    /// Every product's names as one index, and the product (its place in `products`) of each.
    pub product_phrases: Phrases,
    pub phrase_product: Vec<usize>,
    /// Every product name as it sounds ([`sound_key`] of each word), for names written in
    /// Cyrillic; `key_product` maps each to its product (an index into `products`).
    pub product_keys: Phrases,
    pub key_product: Vec<usize>,
    pub categories: Vec<(String, Phrases)>,
    /// One-word category names and aliases (folded, without stems), for near spellings.
    pub category_words: Vec<(String, String)>,
    pub kinds: Vec<KindWords>,
    pub uses: Vec<(String, Phrases)>,
    /// The names of the other specs products list ("noise cancelling", "sensors", "water
    /// resistance"), in every language: asking about one is a specs question.
    pub spec_names: Vec<(String, Phrases)>,
    /// Every word that names a spec, indexed once: the kinds' words, their `more` and `less`
    /// ("lighter"), and the other specs' names; `spec_mention` tells, per phrase, which spec
    /// and whether it is the spec's name (not a comparative).
    pub spec_mentions: Phrases,
    pub spec_mention: Vec<(String, bool)>,
    pub policies: Vec<(Topic, Phrases)>,
    pub faq: Vec<(String, Phrases)>,
}

impl CatalogWords {
    fn new(catalog: &Catalog) -> CatalogWords {
        let products: Vec<ProductNames> = catalog
            .products()
            .iter()
            .map(|p| {
                let mut names: Vec<String> = vec![p.name.clone(), p.id.replace('-', " ")];
                names.extend(p.aliases.iter().cloned());
                names.extend(p.names.0.values().cloned());
                // The words of a multi-word name may take plural endings ("usb-c cables",
                // "cables usb c").
                let mut phrases: Vec<Phrase> = names
                    .iter()
                    .map(|n| {
                        if n.contains(' ') {
                            let stems: Vec<String> = n
                                .split(' ')
                                .map(|w| {
                                    if w.len() >= 4 && w.chars().all(char::is_alphabetic) {
                                        format!("{w}*")
                                    } else {
                                        w.to_owned()
                                    }
                                })
                                .collect();
                            Phrase::new(&stems.join(" "))
                        } else {
                            Phrase::new(n)
                        }
                    })
                    .filter(|ph| !ph.is_empty())
                    .collect();
                phrases.sort_by_key(|ph| std::cmp::Reverse(ph.len()));
                phrases.dedup();
                let single_words = names
                    .iter()
                    .map(|n| fold(n))
                    .filter(|n| n.len() >= 6 && n.chars().all(char::is_alphabetic))
                    .collect();
                ProductNames {
                    id: p.id.clone(),
                    phrases,
                    single_words,
                    name_words: split(&fold(&p.name)),
                }
            })
            .collect();
        let mut all_names = Vec::new();
        let mut phrase_product = Vec::new();
        for (i, p) in products.iter().enumerate() {
            for phrase in &p.phrases {
                all_names.push(phrase.clone());
                phrase_product.push(i);
            }
        }
        let product_phrases = Phrases::from_phrases(all_names);
        let mut keys = Vec::new();
        let mut key_product = Vec::new();
        for (i, p) in catalog.products().iter().enumerate() {
            let mut names: Vec<&String> = vec![&p.name];
            names.extend(p.aliases.iter());
            for n in names {
                let key: Vec<String> = split(&fold(n)).iter().map(|w| sound_key(w)).collect();
                // Short sounds ("nv" of "Nova") alone would meet ordinary words.
                if key.iter().any(String::is_empty) || (key.len() == 1 && key[0].len() < 4) {
                    continue;
                }
                keys.push(Phrase::new(&key.join(" ")));
                key_product.push(i);
            }
        }
        let product_keys = Phrases::from_phrases(keys);
        let categories: Vec<(String, Phrases)> = catalog
            .categories()
            .iter()
            .map(|c| {
                let mut words: Vec<String> = vec![c.id.clone(), c.name.clone()];
                words.extend(c.aliases.iter().cloned());
                words.extend(c.names.0.values().cloned());
                (c.id.clone(), Phrases::new(&words))
            })
            .collect();
        let category_words = catalog
            .categories()
            .iter()
            .flat_map(|c| {
                let mut words: Vec<String> = vec![c.name.clone()];
                words.extend(c.aliases.iter().cloned());
                words.extend(c.names.0.values().cloned());
                words
                    .into_iter()
                    .map(|w| fold(&w))
                    .filter(|w| !w.contains([' ', '*', '-']))
                    .map(|w| (c.id.clone(), w))
                    .collect::<Vec<_>>()
            })
            .collect();
        let kinds: Vec<KindWords> = catalog
            .spec_kinds()
            .iter()
            .map(|k| KindWords {
                name: k.name.clone(),
                words: Phrases::new(&k.words),
                more: Phrases::new(&k.more),
                less: Phrases::new(&k.less),
            })
            .collect();
        let uses: Vec<(String, Phrases)> = catalog
            .uses()
            .iter()
            .map(|u| (u.id.clone(), Phrases::new(&u.words)))
            .collect();
        let spec_labels = other_spec_names(catalog, &kinds, &categories, &uses);
        let spec_names: Vec<(String, Phrases)> = spec_labels
            .iter()
            .map(|(name, labels)| (name.clone(), Phrases::new(labels)))
            .collect();
        let mut mentions = Vec::new();
        let mut spec_mention = Vec::new();
        for k in catalog.spec_kinds() {
            for (written, is_name) in k
                .words
                .iter()
                .map(|w| (w, true))
                .chain(k.more.iter().chain(&k.less).map(|w| (w, false)))
            {
                for phrase in Phrase::spellings(written) {
                    mentions.push(phrase);
                    spec_mention.push((k.name.clone(), is_name));
                }
            }
        }
        for (name, labels) in &spec_labels {
            for label in labels {
                for phrase in Phrase::spellings(label) {
                    mentions.push(phrase);
                    spec_mention.push((name.clone(), true));
                }
            }
        }
        let spec_mentions = Phrases::from_phrases(mentions);
        let shop = catalog.shop();
        let policies = shop
            .policies
            .iter()
            .map(|p| (p.topic, Phrases::new(&p.phrasings)))
            .collect();
        let faq = shop
            .faq
            .iter()
            .map(|f| (f.id.clone(), Phrases::new(&f.phrasings)))
            .collect();
        CatalogWords {
            products,
            product_phrases,
            phrase_product,
            product_keys,
            key_product,
            categories,
            category_words,
            kinds,
            uses,
            spec_names,
            spec_mentions,
            spec_mention,
            policies,
            faq,
        }
    }
}

/// A catalog's words, made on first use and kept with the catalog.
#[derive(Debug, Default)]
pub struct Cached(OnceLock<CatalogWords>);

impl Cached {
    pub fn get(&self, catalog: &Catalog) -> &CatalogWords {
        self.0.get_or_init(|| CatalogWords::new(catalog))
    }
}

impl Clone for Cached {
    /// A clone reads its catalog again on first use.
    fn clone(&self) -> Self {
        Cached::default()
    }
}

impl PartialEq for Cached {
    /// Derived from the catalog's data, so equal whenever the catalogs are.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The names of the specs that are no spec kind, each with its labels in every language the
/// catalog translates it to; short names ("type", "data") and names that also say
/// a category, a need or a kind ("video", "power") are left out, since they say something else
/// first.
fn other_spec_names(
    catalog: &Catalog,
    kinds: &[KindWords],
    categories: &[(String, Phrases)],
    uses: &[(String, Phrases)],
) -> Vec<(String, Vec<String>)> {
    let taken = |words: &[String]| {
        kinds
            .iter()
            .any(|k| k.words.any(words) || k.more.any(words) || k.less.any(words))
            || categories.iter().any(|(_, p)| p.any(words))
            || uses.iter().any(|(_, p)| p.any(words))
    };
    let mut names: Vec<(String, Vec<String>)> = Vec::new();
    for product in catalog.products() {
        for spec in &product.specs {
            if catalog.spec_kinds().iter().any(|k| k.name == spec.name)
                || names.iter().any(|(n, _)| *n == spec.name)
            {
                continue;
            }
            let mut labels: Vec<String> = Vec::new();
            for language in crate::language::Language::ALL {
                let label = catalog.spec_label(&spec.name, language).to_owned();
                let letters = fold(&label).chars().filter(|c| c.is_alphabetic()).count();
                if letters >= 5 && !taken(&split(&fold(&label))) && !labels.contains(&label) {
                    labels.push(label);
                }
            }
            if !labels.is_empty() {
                names.push((spec.name.clone(), labels));
            }
        }
    }
    names
}
