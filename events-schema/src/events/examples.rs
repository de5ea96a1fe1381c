//! One realistic example of every event, used by tests across the crate.

use super::*;
use crate::money::Currency;

pub fn usd(amount_minor: i64) -> Money {
    Money::new(amount_minor, Currency::new("USD").expect("valid code"))
}

pub fn all() -> Vec<Event> {
    vec![
        ConversationStarted {
            channel: Channel::Telegram,
            username: Some("ana_shop".into()),
            display_name: Some("Ana".into()),
            language: Some("en".into()),
            returning: false,
        }
        .into(),
        MessageReceived {
            kind: MessageKind::Text,
            message_id: Some("2".into()),
            text: Some("hi! what phones do you have?".into()),
            intent: Intent::Browse,
            sentiment: Sentiment::Positive,
            product_id: None,
            language: Some("en".into()),
            understood_by: UnderstoodBy::Rules,
        }
        .into(),
        BotReplied {
            channel: Channel::Telegram,
            in_reply_to: None,
            chat_id: Some(424242001),
            text: Some("Hi Ana! We have 5 phones.".into()),
            buttons: vec![ReplyButton {
                label: "View".into(),
                data: "view:phone-x1".into(),
            }],
            products: vec!["phone-x1".into()],
        }
        .into(),
        ProductViewed {
            product_id: "phone-x1".into(),
            source: ViewSource::Mention,
        }
        .into(),
        PriceInquired {
            product_id: "phone-x1".into(),
            price: usd(79_900),
        }
        .into(),
        SpecsRequested {
            product_id: "phone-x1".into(),
        }
        .into(),
        PreferenceStated {
            budget: Some(usd(80_000)),
            category: Some("phones".into()),
            budget_min: None,
            use_case: Some("photography".into()),
        }
        .into(),
        PurchaseIntended {
            product_id: "phone-x1".into(),
            quantity: 2,
            unit_price: usd(79_900),
        }
        .into(),
        OrderPlaced {
            order_id: "ord-1".into(),
            lines: vec![OrderLine {
                product_id: "phone-x1".into(),
                quantity: 2,
                unit_price: usd(79_900),
            }],
            total: usd(159_800),
            payment: PaymentMethod::ChatConfirmation,
            contact: Some(OrderContact {
                name: Some("Ana".into()),
                phone: None,
                email: None,
                shipping_address: Some("1 Main St".into()),
            }),
        }
        .into(),
        UserErased {
            requested_by: "cli".into(),
        }
        .into(),
        InvoiceIssued {
            invoice_id: "ord-2".into(),
            lines: vec![OrderLine {
                product_id: "phone-x1".into(),
                quantity: 1,
                unit_price: usd(79_900),
            }],
            total: usd(79_900),
            chat_id: Some(424242001),
        }
        .into(),
        CartItemAdded {
            product_id: "phone-x1".into(),
            quantity: 1,
            unit_price: usd(79_900),
        }
        .into(),
        CartItemRemoved {
            product_id: "phone-x1".into(),
            quantity: 1,
        }
        .into(),
        CartQuantityChanged {
            product_id: "phone-x1".into(),
            from: 1,
            to: 3,
            unit_price: usd(79_900),
        }
        .into(),
        PurchaseQuantityChanged {
            product_id: "phone-x1".into(),
            from: 3,
            to: 2,
        }
        .into(),
        CartCheckedOut {
            order_id: "ord-3".into(),
            lines: vec![OrderLine {
                product_id: "phone-x1".into(),
                quantity: 3,
                unit_price: usd(79_900),
            }],
            total: usd(239_700),
        }
        .into(),
        ShopQuestionAsked {
            topic: "returns".into(),
        }
        .into(),
    ]
}
