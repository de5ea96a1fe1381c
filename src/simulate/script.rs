//! Who the simulated shoppers are and what they say: a persona each, a language each (see
//! `talk`), and the sessions of messages that persona sends, all drawn from one seeded generator.

use chrono::{DateTime, Utc};
use command_service::catalog::{Catalog, Product};
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::talk::{Talk, pick_talk};

/// One message of a script, at an offset from the simulation's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: DateTime<Utc>,
    pub text: String,
    /// The shopper's language, as a channel would report it.
    pub language: &'static str,
}

/// One simulated shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shopper {
    /// The web chat id (`sim-<seed>-<n>`), stored as `web:sim-<seed>-<n>`.
    pub id: String,
    pub persona: Persona,
    /// The language the shopper writes in (ISO 639-1).
    pub language: &'static str,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Browser,
    PriceChecker,
    Buyer,
    CartBuyer,
    CartLeaver,
    ReturningBuyer,
    Bouncer,
}

const PERSONAS: &[(Persona, u32)] = &[
    (Persona::Browser, 30),
    (Persona::PriceChecker, 25),
    (Persona::Buyer, 10),
    (Persona::CartBuyer, 8),
    (Persona::CartLeaver, 10),
    (Persona::ReturningBuyer, 8),
    (Persona::Bouncer, 12),
];

/// Builds every shopper's script; the same arguments give the same scripts.
pub fn scripts(
    catalog: &Catalog,
    users: u32,
    seed: u64,
    days: u32,
    end: DateTime<Utc>,
) -> Vec<Shopper> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let days = days.max(1);
    let start = end - chrono::Duration::days(i64::from(days));
    (0..users)
        .map(|n| {
            let persona = pick_persona(&mut rng);
            let talk = pick_talk(&mut rng);
            let first_day = rng.random_range(0..days);
            let minute_of_day = rng.random_range(8 * 60..22 * 60);
            let mut at = start
                + chrono::Duration::days(i64::from(first_day))
                + chrono::Duration::minutes(i64::from(minute_of_day));
            let mut lines = Vec::new();
            for (i, session) in sessions(persona, talk, catalog, &mut rng)
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    at += chrono::Duration::hours(rng.random_range(20..96));
                }
                for text in session {
                    at += chrono::Duration::seconds(rng.random_range(8..90));
                    lines.push(Line {
                        at: at.min(end),
                        text,
                        language: talk.language,
                    });
                }
            }
            Shopper {
                id: format!("sim-{seed}-{n}"),
                persona,
                language: talk.language,
                lines,
            }
        })
        .collect()
}

fn pick_persona(rng: &mut ChaCha8Rng) -> Persona {
    let total: u32 = PERSONAS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (p, w) in PERSONAS {
        if roll < *w {
            return *p;
        }
        roll -= w;
    }
    Persona::Browser
}

fn one<'a>(rng: &mut ChaCha8Rng, options: &[&'a str]) -> &'a str {
    options.choose(rng).copied().unwrap_or("hi")
}

/// The sessions (lists of messages) of one shopper.
fn sessions(
    persona: Persona,
    talk: &Talk,
    catalog: &Catalog,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<String>> {
    let language = command_service::language::Language::from_tag(talk.language).unwrap_or_default();
    let categories: Vec<&command_service::catalog::Category> =
        catalog.categories().iter().collect();
    let Some(category) = categories.choose(rng).copied() else {
        return Vec::new();
    };
    let category_name = category
        .names
        .exactly(language)
        .unwrap_or(&category.name)
        .to_lowercase();
    let in_category: Vec<&Product> = catalog
        .in_category(&category.id)
        .filter(|p| p.stock > 0)
        .collect();
    let products: Vec<&Product> = if in_category.is_empty() {
        catalog.products().iter().collect()
    } else {
        in_category
    };
    let product = products
        .choose(rng)
        .map_or("", |p| p.name.as_str())
        .to_owned();
    let other = products
        .choose(rng)
        .map_or("", |p| p.name.as_str())
        .to_owned();
    let fill = |template: &str, rng: &mut ChaCha8Rng| {
        template
            .replace("{c}", &category_name)
            .replace("{p}", &product)
            .replace("{o}", &other)
            .replace("{n}", &(rng.random_range(3..15) * 100).to_string())
    };
    let say = |options: &[&str], rng: &mut ChaCha8Rng| {
        let template = one(rng, options);
        fill(template, rng)
    };
    let greet = say(talk.greet, rng);
    let browse = if rng.random_bool(0.3) {
        say(talk.browse_budget, rng)
    } else {
        say(talk.browse, rng)
    };
    let view = say(talk.view, rng);
    let price = say(talk.price, rng);
    let specs = say(talk.specs, rng);
    let compare = say(talk.compare, rng);
    let buy = say(talk.buy, rng);
    let cart = say(talk.cart, rng);
    let cart_more = say(talk.cart_more, rng);
    let checkout = say(talk.checkout, rng);
    let confirm = say(talk.confirm, rng);
    let cancel = say(talk.cancel, rng);
    let shop = say(talk.shop, rng);
    let bye = say(talk.bye, rng);
    let nonsense = say(talk.nonsense, rng);
    let asks_shop = rng.random_bool(0.3);
    match persona {
        Persona::Bouncer => vec![
            vec![greet, nonsense]
                .into_iter()
                .take(rng.random_range(1..=2))
                .collect(),
        ],
        Persona::Browser => vec![vec![greet, browse, view, bye]],
        Persona::PriceChecker => {
            let mut s = vec![greet, browse, view, price, specs];
            if rng.random_bool(0.4) {
                s.push(compare);
            }
            if asks_shop {
                s.push(shop);
            }
            s.push(bye);
            vec![s]
        }
        Persona::Buyer => {
            let mut s = vec![greet, browse, view, price];
            if asks_shop {
                s.push(shop);
            }
            s.extend([buy, confirm, bye]);
            vec![s]
        }
        Persona::CartBuyer => {
            let mut s = vec![greet, browse, view, cart, cart_more];
            if asks_shop {
                s.push(shop);
            }
            s.extend([checkout, confirm, bye]);
            vec![s]
        }
        Persona::CartLeaver => {
            let mut s = vec![greet, browse, view, price];
            if rng.random_bool(0.5) {
                s.push(cart);
            } else {
                s.push(buy);
                if rng.random_bool(0.5) {
                    s.push(cancel);
                }
            }
            vec![s]
        }
        Persona::ReturningBuyer => vec![
            vec![greet.clone(), browse, view.clone(), price],
            vec![greet, view, buy, confirm, bye],
        ],
    }
}
