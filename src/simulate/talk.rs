//! How shoppers of each language word every step of a conversation, and how many of the
//! simulated shoppers speak it.

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;

/// How shoppers of one language say each step. `{c}` is a category as that language names it,
/// `{p}` and `{o}` products, `{n}` an amount.
#[derive(Debug)]
pub(super) struct Talk {
    pub(super) language: &'static str,
    /// Shoppers of this language in a hundred.
    pub(super) weight: u32,
    pub(super) greet: &'static [&'static str],
    pub(super) browse: &'static [&'static str],
    pub(super) browse_budget: &'static [&'static str],
    pub(super) view: &'static [&'static str],
    pub(super) price: &'static [&'static str],
    pub(super) specs: &'static [&'static str],
    pub(super) compare: &'static [&'static str],
    pub(super) buy: &'static [&'static str],
    pub(super) cart: &'static [&'static str],
    pub(super) cart_more: &'static [&'static str],
    pub(super) checkout: &'static [&'static str],
    pub(super) confirm: &'static [&'static str],
    pub(super) cancel: &'static [&'static str],
    pub(super) shop: &'static [&'static str],
    pub(super) bye: &'static [&'static str],
    pub(super) nonsense: &'static [&'static str],
}

const TALKS: [Talk; 4] = [
    Talk {
        language: "en",
        weight: 55,
        greet: &["hi", "hello!", "/start", "hey there", "good morning"],
        browse: &[
            "what {c} do you have?",
            "show me {c}",
            "do you have any {c}?",
        ],
        browse_budget: &["{c} under ${n}", "something under {n} dollars"],
        view: &["tell me about the {p}", "{p}?", "the second one"],
        price: &[
            "how much is it?",
            "what's the price?",
            "how much does it cost?",
        ],
        specs: &["specs?", "tell me more about it", "how heavy is it?"],
        compare: &["compare the {p} and the {o}"],
        buy: &["I'll take it", "I'll take two", "I want to buy it"],
        cart: &["add it to my cart", "put it in my cart"],
        cart_more: &["and the {o} too", "add the {o} to my cart"],
        checkout: &["checkout", "ok I'm ready to checkout"],
        confirm: &["yes", "yes please", "confirm", "sure, go ahead"],
        cancel: &["no, cancel", "never mind", "not now"],
        shop: &[
            "do you ship to canada?",
            "what's your return policy?",
            "is there a warranty?",
            "can I pay with paypal?",
        ],
        bye: &["thanks!", "bye", "thank you, that's all"],
        nonsense: &["asdf", "lol", "??", "tell me a joke"],
    },
    Talk {
        language: "es",
        weight: 15,
        greet: &["hola", "buenas", "hola, buenas tardes"],
        browse: &["¿qué {c} tenéis?", "enséñame {c}", "¿tienes {c}?"],
        browse_budget: &[
            "{c} por menos de {n} dólares",
            "algo de menos de {n} dólares",
        ],
        view: &["háblame del {p}", "¿y el {p}?", "el segundo"],
        price: &["¿cuánto cuesta?", "¿qué precio tiene?", "¿cuánto sale?"],
        specs: &["¿características?", "¿cuánto pesa?"],
        compare: &["compara el {p} y el {o}"],
        buy: &["me lo llevo", "quiero comprarlo", "me llevo dos"],
        cart: &["añádelo al carrito", "mételo en el carrito"],
        cart_more: &["y el {o} también", "añade el {o} al carrito"],
        checkout: &["finalizar compra", "quiero pagar el carrito"],
        confirm: &["sí", "vale", "sí, confirma"],
        cancel: &["no, cancela", "mejor no"],
        shop: &[
            "¿hacéis envíos a España?",
            "¿cuál es la política de devoluciones?",
            "¿qué garantía tiene?",
        ],
        bye: &["¡gracias!", "adiós", "gracias, eso es todo"],
        nonsense: &["jajaja", "???", "qué tiempo hace"],
    },
    Talk {
        language: "de",
        weight: 15,
        greet: &["hallo", "hi", "guten tag"],
        browse: &["welche {c} habt ihr?", "zeig mir {c}", "habt ihr {c}?"],
        browse_budget: &["{c} unter {n} euro", "was unter {n} euro"],
        view: &["erzähl mir was über das {p}", "und das {p}?", "das zweite"],
        price: &["was kostet das?", "wie teuer ist es?", "was kostet es?"],
        specs: &["technische daten?", "wie schwer ist es?"],
        compare: &["vergleich das {p} und das {o}"],
        buy: &["ich nehme es", "ich will es kaufen", "ich nehme zwei"],
        cart: &["pack es in den warenkorb", "in den warenkorb bitte"],
        cart_more: &["und das {o} auch", "leg das {o} in den warenkorb"],
        checkout: &["zur kasse", "ich möchte bestellen, zur kasse bitte"],
        confirm: &["ja", "ja bitte", "passt, bestätigen"],
        cancel: &["nein, abbrechen", "doch nicht"],
        shop: &[
            "liefert ihr nach österreich?",
            "wie ist das mit rückgabe?",
            "wie lange ist die garantie?",
        ],
        bye: &["danke!", "tschüss", "danke, das wars"],
        nonsense: &["haha", "???", "wie wird das wetter"],
    },
    Talk {
        language: "ru",
        weight: 15,
        greet: &["привет", "здравствуйте", "добрый день"],
        browse: &["какие {c} есть?", "покажи {c}", "а {c} у вас есть?"],
        browse_budget: &["{c} до {n} долларов", "что-нибудь до {n} долларов"],
        view: &["расскажи про {p}", "а {p}?", "второй"],
        price: &["сколько стоит?", "какая цена?", "почем?"],
        specs: &["характеристики?", "сколько весит?"],
        compare: &["сравни {p} и {o}"],
        buy: &["беру", "хочу купить", "возьму два"],
        cart: &["добавь в корзину", "закинь в корзину"],
        cart_more: &["и {o} тоже", "добавь {o} в корзину"],
        checkout: &["оформить заказ", "оформляем корзину"],
        confirm: &["да", "да, подтверждаю", "давай"],
        cancel: &["нет, отмена", "не надо"],
        shop: &[
            "доставляете в германию?",
            "а вернуть можно?",
            "какая гарантия?",
        ],
        bye: &["спасибо!", "пока", "спасибо, всё"],
        nonsense: &["ахаха", "???", "какая погода"],
    },
];

pub(super) fn pick_talk(rng: &mut ChaCha8Rng) -> &'static Talk {
    let total: u32 = TALKS.iter().map(|t| t.weight).sum();
    let mut roll = rng.random_range(0..total);
    for talk in &TALKS {
        if roll < talk.weight {
            return talk;
        }
        roll -= talk.weight;
    }
    &TALKS[0]
}
