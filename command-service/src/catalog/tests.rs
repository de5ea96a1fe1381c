//! Tests of loading a catalog: the demo shop, every kind of error and where it points.

use super::*;

/// A small catalog; tests break one line of it and expect the error on that line.
const TOML: &str = r#"currency = "USD"

[[categories]]
id = "phones"
name = "Phones"
aliases = ["phone"]

[[categories]]
id = "laptops"
name = "Laptops"

[[products]]
id = "nova-x1"
name = "Nova X1"
category = "phones"
price = 799.00
description = "A phone."
specs = [{ name = "storage", value = "128 GB" }]
aliases = ["nova"]
stock = 3

[[products]]
id = "vertex-14"
name = "Vertex 14"
category = "laptops"
price = 0.10
description = "A laptop."
stock = 0
"#;

/// The same catalog as [`TOML`].
const JSON: &str = r#"{
  "currency": "USD",
  "categories": [
{ "id": "phones", "name": "Phones", "aliases": ["phone"] },
{ "id": "laptops", "name": "Laptops" }
  ],
  "products": [
{
  "id": "nova-x1", "name": "Nova X1", "category": "phones", "price": 799.00,
  "description": "A phone.", "specs": [{ "name": "storage", "value": "128 GB" }],
  "aliases": ["nova"], "stock": 3
},
{
  "id": "vertex-14",
  "name": "Vertex 14",
  "category": "laptops",
  "price": 0.10,
  "description": "A laptop.",
  "stock": 0
}
  ]
}"#;

/// The error for [`TOML`] (or [`JSON`], by `to`'s syntax) with `from` replaced by `to`.
fn error_after(from: &str, to: &str) -> String {
    let (text, result) = if from.starts_with('"') {
        let text = JSON.replacen(from, to, 1);
        let result = Catalog::from_json(&text, "catalog.json");
        (text, result)
    } else {
        let text = TOML.replacen(from, to, 1);
        let result = Catalog::from_toml(&text, "catalog.toml");
        (text, result)
    };
    assert_ne!(
        text,
        if from.starts_with('"') { JSON } else { TOML },
        "{from:?} not found"
    );
    result
        .expect_err("the broken catalog should be rejected")
        .to_string()
}

/// Asserts every `(from, to, expected)` case fails with a message starting with `expected`.
fn assert_errors(cases: &[(&str, &str, &str)]) {
    for (from, to, expected) in cases {
        let error = error_after(from, to);
        assert!(
            error.starts_with(expected),
            "{to:?}:\n got {error}\nwant {expected}"
        );
    }
}

fn usd(amount_minor: i64) -> Money {
    Money::new(
        amount_minor,
        Currency::new("USD").expect("USD is a currency"),
    )
}

#[test]
fn demo_catalog_parses_and_is_big_enough() {
    let demo = Catalog::demo().expect("the demo catalog parses");
    assert_eq!(demo.currency().as_str(), "USD");
    assert!(
        demo.products().len() >= 25,
        "{} products",
        demo.products().len()
    );
    assert!(demo.categories().len() >= 5);
    for category in demo.categories() {
        assert!(
            demo.in_category(&category.id).count() >= 3,
            "{} is thin",
            category.id
        );
        assert!(
            !category.aliases.is_empty(),
            "{} has no aliases",
            category.id
        );
    }
    for product in demo.products() {
        assert!((1..=12).contains(&product.aliases.len()), "{}", product.id);
        assert!((3..=7).contains(&product.specs.len()), "{}", product.id);
    }
    assert!(demo.products().iter().any(|p| p.stock == 0));
    assert!(demo.products().iter().any(|p| p.stock == 1));
}

/// What the bot's understanding leans on: every policy answered in every language, every
/// category named in every language, spec kinds with values, and needs products serve.
#[test]
fn demo_catalog_speaks_four_languages_and_measures_its_specs() {
    let demo = Catalog::demo().expect("the demo catalog parses");
    let shop = demo.shop();
    assert_eq!(shop.policies.len(), Topic::ALL.len());
    for language in Language::ALL {
        for policy in &shop.policies {
            assert!(
                policy.answer.exactly(language).is_some(),
                "{:?} {language}",
                policy.topic
            );
        }
        for faq in &shop.faq {
            assert!(
                faq.answer.exactly(language).is_some(),
                "{} {language}",
                faq.id
            );
        }
        for category in demo.categories() {
            assert!(category.names.exactly(language).is_some() || language == Language::En);
        }
    }
    // Every spec kind measures something.
    for kind in demo.spec_kinds() {
        let measured = demo
            .products()
            .iter()
            .filter(|p| p.measure(&kind.name).is_some())
            .count();
        assert!(measured >= 1, "{} measures nothing", kind.name);
    }
    let lightest_laptop = demo
        .in_category("laptops")
        .min_by_key(|p| p.measure("weight"))
        .expect("laptops");
    assert_eq!(lightest_laptop.id, "aero-book-13");
    assert_eq!(
        demo.product("focale-z40").and_then(|p| p.measure("zoom")),
        Some(40_000)
    );
    assert_eq!(
        demo.product("pulse-3")
            .and_then(|p| p.measure("battery life")),
        Some(48_000)
    );
    // Every spec a product has is named in every language, by its kind or [spec_names]
    // (where the word is the same, like "cable" in Spanish, the entry says so).
    for product in demo.products() {
        for spec in &product.specs {
            for language in [Language::Es, Language::De, Language::Ru] {
                let named = demo.spec_kind(&spec.name).is_some()
                    || demo
                        .spec_names
                        .get(&spec.name)
                        .and_then(|t| t.exactly(language))
                        .is_some();
                assert!(named, "{} has no {language} name", spec.name);
            }
        }
    }
    assert_eq!(demo.spec_label("weight", Language::De), "Gewicht");
    assert_eq!(demo.spec_label("type", Language::Es), "tipo");
    assert_eq!(demo.spec_label("type", Language::En), "type");
    for use_ in demo.uses() {
        assert!(
            demo.products().iter().any(|p| demo.serves(p, &use_.id)),
            "nothing serves {}",
            use_.id
        );
    }
}

#[test]
fn shop_sections_and_spec_kinds_are_checked_with_their_line() {
    let base = "currency = \"USD\"\n[[categories]]\nid = \"c\"\nname = \"C\"\n[[products]]\nid = \"p\"\nname = \"P\"\ncategory = \"c\"\nprice = 1\ndescription = \"d\"\nstock = 1\n";
    let error = |extra: &str| {
        Catalog::from_toml(&format!("{base}{extra}"), "shop.toml")
            .expect_err("invalid")
            .to_string()
    };
    assert_eq!(
        error(
            "specs = [{ name = \"weight\", value = \"heavy\" }]\n[[spec_kinds]]\nname = \"weight\"\nunit = \"g\"\nbetter = \"less\"\nwords = [\"weight\"]\n"
        ),
        "shop.toml line 12: products[0].specs[0].value: \"heavy\" has no quantity in g (the unit of the spec kind \"weight\"); write it like \"12 g\""
    );
    assert_eq!(
        error(
            "[[spec_kinds]]\nname = \"weight\"\nunit = \"stone\"\nbetter = \"less\"\nwords = [\"weight\"]\n"
        ),
        "shop.toml line 14: spec_kinds[0].unit: unknown unit \"stone\" (known: mAh, h, g, GB, in, MP, x, cores, W, Hz)"
    );
    assert_eq!(
        error(
            "[shop]\nname = \"S\"\n[[shop.policies]]\ntopic = \"refunds\"\nanswer.en = \"30 days\"\n"
        ),
        "shop.toml line 15: shop.policies[0].topic: unknown topic \"refunds\" (known: shipping, delivery, returns, warranty, payment, contact, hours); questions on other subjects go in [[shop.faq]]"
    );
    assert_eq!(
        error(
            "[shop]\nname = \"S\"\n[[shop.policies]]\ntopic = \"returns\"\nanswer.fr = \"30 jours\"\n"
        ),
        "shop.toml line 16: shop.policies[0].answer: unknown language \"fr\" (the bot speaks en, es, de, ru)"
    );
    assert_eq!(
        error("uses = [\"gaming\"]\n"),
        "shop.toml line 12: products[0].uses: unknown use \"gaming\" (known: ); declare it in [[uses]]"
    );
}

#[test]
fn demo_catalog_has_cheap_and_dear_phones_and_laptops() {
    let demo = Catalog::demo().expect("the demo catalog parses");
    let prices = |category| -> Vec<i64> {
        demo.in_category(category)
            .map(|p| p.price.amount_minor)
            .collect()
    };
    let (phones, laptops) = (prices("phones"), prices("laptops"));
    assert!(phones.len() >= 5 && laptops.len() >= 4);
    assert_eq!(
        (phones.iter().min(), phones.iter().max()),
        (Some(&19900), Some(&109900))
    );
    assert_eq!(
        (laptops.iter().min(), laptops.iter().max()),
        (Some(&49900), Some(&2_19900))
    );
    assert_eq!(laptops.iter().filter(|&&p| p < 80000).count(), 2);
    assert_eq!(demo.product("papyr-7").map(|p| &p.price), Some(&usd(13999)));
    assert_eq!(
        demo.category("phones").map(|c| c.name.as_str()),
        Some("Phones")
    );
    assert_eq!(demo.product("nova"), None);
}

#[test]
fn toml_and_json_of_the_same_catalog_are_equal() {
    let toml = Catalog::from_toml(TOML, "catalog.toml").expect("TOML parses");
    assert_eq!(
        toml,
        Catalog::from_json(JSON, "catalog.json").expect("JSON parses")
    );
    let price = |id| toml.product(id).map(|p| p.price.amount_minor);
    assert_eq!(price("vertex-14"), Some(10), "0.10 is ten cents");
    let specs = toml.product("nova-x1").map(|p| p.specs.clone());
    let storage = Spec {
        name: "storage".into(),
        value: "128 GB".into(),
    };
    assert_eq!(specs, Some(vec![storage]));
    let names: Vec<&str> = toml
        .in_category("phones")
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["Nova X1"]);

    let quoted = TOML.replace("price = 799.00", "price = \"799.5\"");
    let quoted = Catalog::from_toml(&quoted, "catalog.toml").expect("quoted price parses");
    assert_eq!(quoted.products()[0].price, usd(79950));
}

#[test]
#[rustfmt::skip]
fn syntax_type_and_unknown_field_errors_name_line_and_field() {
    assert_errors(&[
        ("stock = 3", "stock 3", "catalog.toml line 20: "),
        ("\"stock\": 0", "\"stock\" 0", "catalog.json line 19: "),
        ("stock = 3", "stock = 3\ncolour = 1", "catalog.toml line 21: products[0].colour: "),
        ("\"stock\": 0", "\"stock\": 0, \"colour\": 1", "catalog.json line 19: products[1].colour: "),
        ("stock = 3", "stock = -1", "catalog.toml line 20: products[0].stock: "),
        ("\"stock\": 0", "\"stock\": \"no\"", "catalog.json line 19: products[1].stock: "),
    ]);
    assert!(
        error_after("stock = 3", "stock = 3\ncolour = 1").contains("unknown field `colour`")
    );
    let missing = error_after("name = \"Vertex 14\"\n", "");
    assert!(missing.ends_with("missing field `name`"), "{missing}");
}

#[test]
fn empty_lists_are_rejected() {
    let text = "currency = \"USD\"\ncategories = []\nproducts = []\n";
    let error = Catalog::from_toml(text, "catalog.toml")
        .expect_err("should be rejected")
        .to_string();
    assert_eq!(
        error,
        "catalog.toml line 2: categories: add at least one category"
    );
    let text = "{\"currency\": \"USD\",\n\"categories\": [{\"id\": \"a\", \"name\": \"A\"}],\n\"products\": []}";
    let error = Catalog::from_json(text, "catalog.json")
        .expect_err("should be rejected")
        .to_string();
    assert_eq!(
        error,
        "catalog.json line 3: products: add at least one product"
    );
}

#[test]
#[rustfmt::skip]
fn bad_ids_names_and_currencies_are_rejected() {
    assert_errors(&[
        ("id = \"nova-x1\"", "id = \"Nova X1\"", "catalog.toml line 13: products[0].id: \"Nova X1\" is not an id; use lowercase letters, digits and '-', like \"nova-x1\""),
        ("id = \"vertex-14\"", "id = \"nova-x1\"", "catalog.toml line 23: products[1].id: \"nova-x1\" is already the id of products[0]; ids must be unique"),
        ("id = \"laptops\"", "id = \"phones\"", "catalog.toml line 9: categories[1].id: \"phones\" is already the id of categories[0]; ids must be unique"),
        ("\"id\": \"vertex-14\"", "\"id\": \"\"", "catalog.json line 14: products[1].id: an id cannot be empty"),
        ("name = \"Laptops\"", "name = \" \"", "catalog.toml line 10: categories[1].name: a name cannot be empty"),
        ("\"name\": \"Vertex 14\"", "\"name\": \"\"", "catalog.json line 15: products[1].name: a name cannot be empty"),
        ("currency = \"USD\"", "currency = \"usd\"", "catalog.toml line 1: currency: currency `usd` is not an ISO 4217 code"),
        ("aliases = [\"nova\"]", "aliases = [\"\"]", "catalog.toml line 19: products[0].aliases: an alias cannot be empty"),
    ]);
}

#[test]
#[rustfmt::skip]
fn unknown_categories_and_bad_prices_are_rejected() {
    assert_errors(&[
        ("category = \"phones\"", "category = \"phone\"", "catalog.toml line 15: products[0].category: unknown category \"phone\" (known: phones, laptops); did you mean \"phones\"?"),
        ("\"category\": \"laptops\"", "\"category\": \"tv\"", "catalog.json line 16: products[1].category: unknown category \"tv\" (known: phones, laptops)"),
        ("price = 799.00", "price = \"12,50\"", "catalog.toml line 16: products[0].price: \"12,50\" is not a price like 12.50"),
        ("price = 0.10", "price = 0.105", "catalog.toml line 26: products[1].price: \"0.105\" is not a price like 12.50"),
        ("price = 0.10", "price = true", "catalog.toml line 26: products[1].price: \"true\" is not a price like 12.50"),
        ("\"price\": 0.10", "\"price\": -3", "catalog.json line 17: products[1].price: \"-3\" is not a price like 12.50"),
        ("\"price\": 0.10", "\"price\": \"1e3\"", "catalog.json line 17: products[1].price: \"1e3\" is not a price like 12.50"),
        ("\"price\": 799.00", "\"price\": 0.00", "catalog.json line 9: products[0].price: a price must be above 0"),
    ]);
}

#[test]
fn files_are_read_by_extension() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (toml, json) = (dir.path().join("shop.toml"), dir.path().join("shop.JSON"));
    std::fs::write(&toml, TOML).expect("write test file");
    std::fs::write(&json, JSON).expect("write test file");
    assert_eq!(
        Catalog::load(&toml).expect("shop.toml loads"),
        Catalog::load(&json).expect("shop.JSON loads")
    );

    std::fs::write(&toml, TOML.replace("stock = 0", "stock = 0.5")).expect("write test file");
    let error = Catalog::load(&toml)
        .expect_err("should be rejected")
        .to_string();
    let expected = format!("{} line 28: products[1].stock: ", toml.display());
    assert!(error.starts_with(&expected), "{error}");
}

#[test]
fn unknown_extensions_and_missing_files_are_reported_with_their_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = dir.path().join("shop.yaml");
    std::fs::write(&yaml, TOML).expect("write test file");
    let error = Catalog::load(&yaml)
        .expect_err("should be rejected")
        .to_string();
    let expected = format!(
        "catalog {}: unknown file type; use a .toml or .json file",
        yaml.display()
    );
    assert_eq!(error, expected);

    let missing = dir.path().join("missing.toml");
    let error = Catalog::load(&missing)
        .expect_err("should be rejected")
        .to_string();
    assert!(error.starts_with(&format!("cannot read catalog {}: ", missing.display())));
    assert!(
        error.ends_with("; check the path and that the file is readable"),
        "{error}"
    );
}
