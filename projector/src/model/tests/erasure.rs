//! A user's erasure (`UserErased`): their user-level rows go, in the tables and in the batch.

use std::collections::BTreeSet;

use super::*;

/// Ana's activity, then Ben's, then Ana's erasure.
fn ana_then_ben_then_ana_erased() -> Given {
    given([
        (ANA, "10:00", message("hi")),
        (ANA, "10:01", viewed("phone")),
        (
            ANA,
            "10:02",
            order(vec![line("phone", 1, usd(79_900))], usd(79_900)),
        ),
        (BEN, "10:03", message("hello")),
        (BEN, "10:04", viewed("case")),
        (ANA, "10:05", erased()),
    ])
}

#[test]
fn an_erasure_drops_the_user_rows_folded_before_it_and_records_the_user() {
    let given = ana_then_ben_then_ana_erased();

    let changes = given.when_folded_into(&[Projection::Users]);

    assert_eq!(changes.erased_users, BTreeSet::from([key(ANA)]));
    assert_eq!(keys(&changes.users), [key(BEN)]);
    assert_eq!(
        keys(&changes.user_products),
        [(key(BEN), "case".to_owned())]
    );
    assert!(changes.user_sales.is_empty());
}

#[test]
fn an_erasure_drops_the_conversation_folded_before_it_and_records_the_user() {
    let given = ana_then_ben_then_ana_erased();

    let changes = given.when_folded_into(&[Projection::Conversations]);

    assert_eq!(changes.erased_users, BTreeSet::from([key(ANA)]));
    assert_eq!(keys(&changes.messages), [(key(BEN), 4)]);
}

#[test]
fn what_the_user_does_after_the_erasure_starts_a_new_row() {
    let given = given([
        (ANA, "10:00", message("hi")),
        (ANA, "10:05", erased()),
        (ANA, "10:10", message("hi again")),
    ]);

    let changes = given.when_folded_into(&[Projection::Users]);

    // The stored rows go first, then this row is written.
    assert_eq!(changes.erased_users, BTreeSet::from([key(ANA)]));
    let row = &changes.users[ANA];
    assert_eq!(row.first_seen_us, us("10:10"));
    assert_eq!((row.messages, row.last_position), (1, 3));
}

#[test]
fn an_erasure_leaves_the_counters_the_funnel_and_the_cart_alone() {
    let others = [
        Projection::Funnel,
        Projection::Products,
        Projection::Business,
        Projection::Carts,
        Projection::Questions,
    ];
    let activity = [
        (ANA, "10:00", started()),
        (ANA, "10:01", viewed("phone")),
        (ANA, "10:02", added("phone", 1, usd(79_900))),
        (ANA, "10:03", question("returns")),
    ];
    let given_erased = given(
        activity
            .clone()
            .into_iter()
            .chain([(ANA, "11:00", erased())]),
    );

    let changes = given_erased.when_folded_into(&others);

    // The same as without the erasure: no row goes, none moves, no user is recorded.
    assert_eq!(changes, given(activity).when_folded_into(&others));
    assert!(changes.erased_users.is_empty());
}
