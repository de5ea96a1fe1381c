//! The catalog file as serde sees it, before validation.

use super::*;

/// The file as serde sees it; [`Source::validate`] turns it into a [`Catalog`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalog {
    pub(super) currency: String,
    #[serde(default)]
    pub(super) shop: Option<RawShop>,
    #[serde(default)]
    pub(super) spec_kinds: Vec<RawSpecKind>,
    #[serde(default)]
    pub(super) uses: Vec<RawUse>,
    #[serde(default)]
    pub(super) spec_names: BTreeMap<String, BTreeMap<String, String>>,
    pub(super) categories: Vec<RawCategory>,
    pub(super) products: Vec<RawProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShop {
    pub(super) name: String,
    #[serde(default)]
    pub(super) policies: Vec<RawPolicy>,
    #[serde(default)]
    pub(super) faq: Vec<RawFaq>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) topic: String,
    pub(super) answer: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) phrasings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFaq {
    pub(super) id: String,
    pub(super) phrasings: Vec<String>,
    pub(super) answer: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpecKind {
    pub(super) name: String,
    pub(super) unit: String,
    pub(super) better: RawBetter,
    pub(super) words: Vec<String>,
    #[serde(default)]
    pub(super) more: Vec<String>,
    #[serde(default)]
    pub(super) less: Vec<String>,
    #[serde(default)]
    pub(super) translations: BTreeMap<String, RawName>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawBetter {
    More,
    Less,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUse {
    pub(super) id: String,
    pub(super) words: Vec<String>,
    #[serde(default)]
    pub(super) translations: BTreeMap<String, RawName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawName {
    pub(super) name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCategory {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
    #[serde(default)]
    pub(super) uses: Vec<String>,
    #[serde(default)]
    pub(super) translations: BTreeMap<String, RawName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProductText {
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProduct {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) category: String,
    /// Only checked to be present: [`Source::validate`] reads the price's own text back through
    /// [`Source::span`], as serde would hand over a rounded `f64`.
    #[serde(rename = "price")]
    pub(super) _price: serde::de::IgnoredAny,
    pub(super) description: String,
    #[serde(default)]
    pub(super) specs: Vec<Spec>,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
    pub(super) stock: u32,
    #[serde(default)]
    pub(super) uses: Vec<String>,
    #[serde(default)]
    pub(super) translations: BTreeMap<String, RawProductText>,
}
