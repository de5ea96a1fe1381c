//! Conversations: every message in and every reply out, by user and position
//! (`conversation_messages`).

use super::*;
use crate::model::Message;
use crate::model::rows::storable;

const CONVERSATIONS: &[Projection] = &[Projection::Conversations];

#[test]
fn a_message_in_and_a_reply_out_are_kept_by_their_position_and_nothing_else_is() {
    let given = given([
        (ANA, "10:00", message("any phones?")),
        (ANA, "10:00", viewed("phone-x1")),
        (
            ANA,
            "10:01",
            reply("We have 5 phones.", &["phone-x1", "phone-y2"]),
        ),
    ]);

    let changes = given.when_folded_into(CONVERSATIONS);

    assert_eq!(
        rows(&changes.messages),
        [
            (
                (key(ANA), 1),
                Message {
                    occurred_us: us("10:00"),
                    direction: "in",
                    text: Some("any phones?".into()),
                    intent: Some("browse".into()),
                    sentiment: Some("neutral".into()),
                    product_id: None,
                }
            ),
            (
                (key(ANA), 3),
                Message {
                    occurred_us: us("10:01"),
                    direction: "out",
                    text: Some("We have 5 phones.".into()),
                    intent: None,
                    sentiment: None,
                    product_id: Some("phone-x1".into()),
                }
            ),
        ]
    );
}

#[test]
fn a_nul_in_a_message_is_kept_as_the_replacement_character() {
    let given = given([(ANA, "10:00", message("A\u{0}na"))]);

    let changes = given.when_folded_into(CONVERSATIONS);

    assert_eq!(
        changes.messages[&(key(ANA), 1)].text.as_deref(),
        Some("A\u{fffd}na")
    );
}

#[test]
fn a_nul_shows_as_the_replacement_character_and_the_rest_as_written() {
    let controls: String = (1u8..0x20).chain([0x7f]).map(char::from).collect();
    assert_eq!(
        storable(&Some("A\u{0}na\u{0}".into())).as_deref(),
        Some("A\u{fffd}na\u{fffd}")
    );
    assert_eq!(
        storable(&Some(controls.clone())),
        Some(controls),
        "only NUL changes"
    );
    assert_eq!(storable(&None), None);
}
