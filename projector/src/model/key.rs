//! The rows of a table by key ([`Rows`]), and the lookup of a row by its key's borrowed parts
//! ([`Ref`]), so that the fold allocates a key only for a new row.

use chrono::NaiveDate;

/// The rows of one table, by key. Hashed, not ordered: the fold looks rows up several times per
/// event, and [`crate::sql`] sorts each table's rows once when it writes them.
pub type Rows<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// A key looked up by its borrowed parts (`Ref((user, day))` for `(String, NaiveDate)`): the
/// fold finds a row without allocating its key, and owns the key only for a new row. It hashes
/// as the owned key does (a tuple hashes its parts in order, `&str` as `String`).
#[derive(Hash)]
pub(super) struct Ref<T>(pub(super) T);

/// One part of a [`Ref`] and the owned part it stands for.
pub(super) trait Part: Copy {
    type Owned;
    fn same(self, owned: &Self::Owned) -> bool;
    fn owned(self) -> Self::Owned;
}

impl Part for &str {
    type Owned = String;
    fn same(self, owned: &String) -> bool {
        self == owned
    }
    fn owned(self) -> String {
        self.to_owned()
    }
}

macro_rules! copy_part {
    ($($t:ty),+) => {$(
        impl Part for $t {
            type Owned = $t;
            fn same(self, owned: &$t) -> bool {
                self == *owned
            }
            fn owned(self) -> $t {
                self
            }
        }
    )+};
}
copy_part!(NaiveDate, Shard);

macro_rules! ref_key {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Part),+> hashbrown::Equivalent<($($t::Owned,)+)> for Ref<($($t,)+)> {
            fn equivalent(&self, key: &($($t::Owned,)+)) -> bool {
                $(self.0.$i.same(&key.$i))&&+
            }
        }
    };
}
ref_key!(A 0, B 1);
ref_key!(A 0, B 1, C 2);
ref_key!(A 0, B 1, C 2, D 3);

macro_rules! owned_key {
    ($(($($p:ty),+) => ($($i:tt),+);)+) => {$(
        impl From<&Ref<($($p,)+)>> for ($(<$p as Part>::Owned,)+) {
            fn from(key: &Ref<($($p,)+)>) -> Self {
                ($(key.0.$i.owned(),)+)
            }
        }
    )+};
}
owned_key! {
    (&str, NaiveDate) => (0, 1);
    (&str, NaiveDate, &str) => (0, 1, 2);
    (&str, NaiveDate, Shard) => (0, 1, 2);
    (&str, NaiveDate, &str, Shard) => (0, 1, 2, 3);
    (&str, &str) => (0, 1);
    (NaiveDate, &str, Shard) => (0, 1, 2);
}

/// The partition of the event that changed a shared counter row.
pub type Shard = u16;
