//! Shop questions: how many per topic and day (`questions`, keyed by the shard too), and when
//! each user first asked one (`question_users`).

use super::*;

const QUESTIONS: &[Projection] = &[Projection::Questions];

#[test]
fn a_question_counts_on_its_topic_and_day() {
    let given = given([
        (ANA, "10:00", question("returns")),
        (BEN, "10:05", question("returns")),
        (ANA, "10:10", question("shipping")),
    ]);

    let changes = given.when_folded_into(QUESTIONS);

    assert_eq!(
        rows(&changes.questions),
        [
            (("returns".to_owned(), day(DAY), 0), 2),
            (("shipping".to_owned(), day(DAY), 0), 1),
        ]
    );
}

#[test]
fn each_user_keeps_the_time_of_their_first_question() {
    // Ana's second question came later in the log but was asked earlier.
    let given = given([
        (ANA, "10:00", question("returns")),
        (ANA, "09:30", question("shipping")),
        (BEN, "11:00", question("payment")),
        (BEN, "10:45", message("hi")),
    ]);

    let changes = given.when_folded_into(QUESTIONS);

    assert_eq!(
        rows(&changes.question_users),
        [(key(BEN), us("11:00")), (key(ANA), us("09:30"))]
    );
}

#[test]
fn other_events_ask_nothing() {
    let given = given([
        (ANA, "10:00", message("what is your returns policy?")),
        (ANA, "10:01", reply("30 days.", &[])),
    ]);

    let changes = given.when_folded_into(QUESTIONS);

    assert_eq!(changes, Changes::default());
}
