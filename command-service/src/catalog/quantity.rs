//! Spec values as comparable quantities: "4,300 mAh", "up to 11 h", "0.98 kg", "40x optical"
//! are read once, at load, into whole thousandths of their kind's unit, so that "the lightest
//! laptop" or "a bigger battery" compares exact integers, and only values of one unit.

/// The unit a spec kind is measured in. Values of a kind may be written in related units (a
/// weight in kg, a battery life in days): they are converted to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    MilliampHours,
    Hours,
    Grams,
    Gigabytes,
    Inches,
    Megapixels,
    /// Optical zoom, "5x".
    Zoom,
    Cores,
    Watts,
    Hertz,
}

/// Thousandths of a unit per written unit word: "kg" is 1,000,000 thousandths of a gram.
type Reading = (&'static [&'static str], i64);

impl Unit {
    /// The names a catalog's `unit` field accepts, with the unit they stand for.
    const NAMES: &'static [(&'static str, Unit)] = &[
        ("mAh", Unit::MilliampHours),
        ("h", Unit::Hours),
        ("g", Unit::Grams),
        ("GB", Unit::Gigabytes),
        ("in", Unit::Inches),
        ("MP", Unit::Megapixels),
        ("x", Unit::Zoom),
        ("cores", Unit::Cores),
        ("W", Unit::Watts),
        ("Hz", Unit::Hertz),
    ];

    pub fn parse(name: &str) -> Option<Unit> {
        Self::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, u)| u)
    }

    /// The name written in the catalog (`mAh`).
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|&&(_, u)| u == self)
            .map_or("", |&(n, _)| n)
    }

    /// Every list of unit names the catalog accepts, for error messages.
    pub fn known() -> String {
        let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    /// The unit words a value may be written in (lower case) and their size in thousandths.
    fn readings(self) -> &'static [Reading] {
        match self {
            Unit::MilliampHours => &[(&["mah"], 1_000)],
            Unit::Hours => &[
                (&["h", "hr", "hrs", "hour", "hours"], 1_000),
                (&["day", "days"], 24_000),
                (&["week", "weeks"], 168_000),
                (&["month", "months"], 720_000),
            ],
            Unit::Grams => &[(&["g", "gram", "grams"], 1_000), (&["kg"], 1_000_000)],
            Unit::Gigabytes => &[(&["gb"], 1_000), (&["tb"], 1_000_000), (&["mb"], 1)],
            Unit::Inches => &[(&["in", "inch", "inches", "\"", "″"], 1_000)],
            Unit::Megapixels => &[(&["mp", "megapixel", "megapixels"], 1_000)],
            Unit::Zoom => &[(&["x"], 1_000)],
            Unit::Cores => &[(&["core", "cores"], 1_000)],
            Unit::Watts => &[(&["w", "watt", "watts"], 1_000)],
            Unit::Hertz => &[(&["hz"], 1_000)],
        }
    }
}

/// The first quantity in `value` written in `unit` or a unit convertible to it, in thousandths
/// of `unit`: `read("up to 2 days", Unit::Hours) == Some(48_000)`. `None` when there is none.
pub fn read(value: &str, unit: Unit) -> Option<i64> {
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.'));
        if !starts_number {
            i += 1;
            continue;
        }
        let (thousandths, end) = number(&chars, i);
        i = end.max(i + 1);
        let Some(thousandths) = thousandths else {
            continue;
        };
        // The unit right after the number: "5x", "4-core", "6.1 in", "1.4 kg".
        let mut at = end;
        let attached = chars
            .get(at)
            .is_some_and(|c| c.is_alphabetic() || matches!(c, '"' | '″'));
        if !attached && matches!(chars.get(at), Some(' ' | '-')) {
            at += 1;
        }
        let word: String = match chars.get(at) {
            Some(c @ ('"' | '″')) => c.to_string(),
            _ => chars[at..]
                .iter()
                .take_while(|c| c.is_alphabetic())
                .collect::<String>()
                .to_lowercase(),
        };
        // "2 x AA" is a count, not a zoom: the zoom's x is written against its number.
        if word == "x" && !attached {
            continue;
        }
        if let Some(&(_, size)) = unit
            .readings()
            .iter()
            .find(|(words, _)| words.contains(&word.as_str()))
        {
            return thousandths.checked_mul(size).map(|t| t / 1_000);
        }
    }
    None
}

/// Reads "4,300", "0.98", "10.95" at `start` as thousandths, and where the number ends.
/// `None` for more than three decimals, which the catalog would not compare exactly.
fn number(chars: &[char], start: usize) -> (Option<i64>, usize) {
    let mut whole = String::new();
    let mut fraction = String::new();
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            c if c.is_ascii_digit() => whole.push(c),
            // A thousands separator: a comma followed by exactly three digits.
            ',' if chars
                .get(i + 1..i + 4)
                .is_some_and(|d| d.iter().all(char::is_ascii_digit))
                && chars.get(i + 4).is_none_or(|c| !c.is_ascii_digit()) => {}
            _ => break,
        }
        i += 1;
    }
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
        i += 1;
        while let Some(c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            fraction.push(*c);
            i += 1;
        }
    }
    if fraction.len() > 3 {
        return (None, i);
    }
    let value = whole.parse::<i64>().ok().and_then(|w| {
        let f = format!("{fraction:0<3}").parse::<i64>().ok()?;
        w.checked_mul(1_000)?.checked_add(f)
    });
    (value, i)
}

/// Thousandths written back as a number: 6_100 → "6.1".
pub fn show(thousandths: i64) -> String {
    let whole = thousandths / 1_000;
    let fraction = (thousandths % 1_000).abs();
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{fraction:03}").trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_in_their_kinds_unit() {
        let cases: &[(&str, Unit, Option<i64>)] = &[
            ("4,300 mAh", Unit::MilliampHours, Some(4_300_000)),
            ("20,000 mAh", Unit::MilliampHours, Some(20_000_000)),
            ("up to 11 h", Unit::Hours, Some(11_000)),
            ("2 days", Unit::Hours, Some(48_000)),
            ("up to 8 weeks", Unit::Hours, Some(1_344_000)),
            ("up to 18 months on one AA", Unit::Hours, Some(12_960_000)),
            ("6 h, 24 h with the case", Unit::Hours, Some(6_000)),
            ("0.98 kg", Unit::Grams, Some(980_000)),
            ("465 g with battery", Unit::Grams, Some(465_000)),
            ("1 TB SSD", Unit::Gigabytes, Some(1_000_000)),
            ("512 GB SSD", Unit::Gigabytes, Some(512_000)),
            ("6.1 in OLED, 120 Hz", Unit::Inches, Some(6_100)),
            ("10.95 in LCD", Unit::Inches, Some(10_950)),
            ("6.1 in OLED, 120 Hz", Unit::Hertz, Some(120_000)),
            ("50 MP + 48 MP telephoto", Unit::Megapixels, Some(50_000)),
            ("20 MP 1-inch", Unit::Megapixels, Some(20_000)),
            ("40x optical (24-960 mm)", Unit::Zoom, Some(40_000)),
            ("3x (18-55 mm kit lens)", Unit::Zoom, Some(3_000)),
            ("2 x AA", Unit::Zoom, None),
            ("12-core, 4.8 GHz", Unit::Cores, Some(12_000)),
            ("30 W USB-C", Unit::Watts, Some(30_000)),
            ("4,300 mAh", Unit::Hours, None),
            ("IP68", Unit::Grams, None),
            ("1.2345 kg", Unit::Grams, None),
            ("USB-C2 5 g", Unit::Grams, Some(5_000)),
        ];
        for (value, unit, expected) in cases {
            assert_eq!(read(value, *unit), *expected, "{value} in {unit:?}");
        }
    }

    #[test]
    fn unit_names_round_trip_and_numbers_show_plainly() {
        for (name, unit) in Unit::NAMES {
            assert_eq!(Unit::parse(name), Some(*unit));
            assert_eq!(unit.name(), *name);
        }
        assert_eq!(Unit::parse("furlongs"), None);
        assert_eq!(show(6_100), "6.1");
        assert_eq!(show(48_000), "48");
        assert_eq!(show(980_050), "980.05");
    }
}
