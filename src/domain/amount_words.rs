//! An amount written out in French words, as an award letter states it beside the figures
//! (« 18 500,00 € (dix-huit mille cinq cents euros) »): a letter's reader, and an auditor, reads
//! the words when the figures are smudged or disputed.
//!
//! The traditional spelling (not the 1990 all-hyphens one), which the administrations' letters
//! use: « vingt et un », « soixante et onze », « quatre-vingts » but « quatre-vingt-un »,
//! « deux cents » but « deux cent un », and before « mille » neither takes the plural
//! (« quatre-vingt mille », « deux cent mille »), while before « millions », a noun, they do
//! (« deux cents millions »). « mille » is invariable; « un million d'euros ».

use crate::domain::money::Cents;

const UNITS: [&str; 17] = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
    "douze", "treize", "quatorze", "quinze", "seize",
];

const TENS: [&str; 7] = [
    "",
    "dix",
    "vingt",
    "trente",
    "quarante",
    "cinquante",
    "soixante",
];

/// 0 to 99. `last`: nothing follows in the number (or a noun such as « millions » does), so
/// « quatre-vingts » keeps its s.
fn below_hundred(n: u64, last: bool) -> String {
    debug_assert!(n < 100);
    match n {
        0..=16 => UNITS[n as usize].to_owned(),
        17..=19 => format!("dix-{}", UNITS[(n - 10) as usize]),
        20..=69 => {
            let (ten, unit) = (TENS[(n / 10) as usize], n % 10);
            match unit {
                0 => ten.to_owned(),
                1 => format!("{ten} et un"),
                _ => format!("{ten}-{}", UNITS[unit as usize]),
            }
        }
        71 => "soixante et onze".to_owned(),
        70..=79 => format!("soixante-{}", below_hundred(n - 60, last)),
        80 if last => "quatre-vingts".to_owned(),
        80 => "quatre-vingt".to_owned(),
        _ => format!("quatre-vingt-{}", below_hundred(n - 80, last)),
    }
}

/// 0 to 999, with the same `last` as `below_hundred` (for « cents »).
fn below_thousand(n: u64, last: bool) -> String {
    debug_assert!(n < 1000);
    let (hundreds, rest) = (n / 100, n % 100);
    let head = match hundreds {
        0 => return below_hundred(rest, last),
        1 => "cent".to_owned(),
        h if rest == 0 && last => format!("{} cents", UNITS[h as usize]),
        h => format!("{} cent", UNITS[h as usize]),
    };
    if rest == 0 {
        head
    } else {
        format!("{head} {}", below_hundred(rest, last))
    }
}

/// A whole number in words (« dix-huit mille cinq cents »).
pub fn number_in_words(n: u64) -> String {
    if n == 0 {
        return UNITS[0].to_owned();
    }
    let mut parts = Vec::new();
    let billions = n / 1_000_000_000;
    let millions = (n / 1_000_000) % 1000;
    let thousands = (n / 1000) % 1000;
    let rest = n % 1000;
    if billions > 0 {
        // Before a noun the numeral keeps its plural marks, as at the end of a number.
        let plural = if billions > 1 { "s" } else { "" };
        parts.push(format!("{} milliard{plural}", number_in_words(billions)));
    }
    if millions > 0 {
        let plural = if millions > 1 { "s" } else { "" };
        parts.push(format!(
            "{} million{plural}",
            below_thousand(millions, true)
        ));
    }
    match thousands {
        0 => {}
        1 => parts.push("mille".to_owned()),
        t => parts.push(format!("{} mille", below_thousand(t, false))),
    }
    if rest > 0 {
        parts.push(below_thousand(rest, true));
    }
    parts.join(" ")
}

/// An amount in words, euros and centimes (« dix-huit mille cinq cents euros »,
/// « un million d'euros », « douze euros et cinquante centimes »).
pub fn euros_in_words(amount: Cents) -> String {
    // `Cents` is never negative.
    let cents = amount.value().unsigned_abs();
    let (euros, centimes) = (cents / 100, cents % 100);
    let centimes_words = |c: u64| {
        let unit = if c > 1 { "centimes" } else { "centime" };
        format!("{} {unit}", below_hundred(c, true))
    };
    if euros == 0 && centimes > 0 {
        return centimes_words(centimes);
    }
    let unit = if euros >= 1_000_000 && euros % 1_000_000 == 0 {
        "d'euros"
    } else if euros > 1 {
        "euros"
    } else {
        "euro"
    };
    let euros_words = format!("{} {unit}", number_in_words(euros));
    if centimes == 0 {
        euros_words
    } else {
        format!("{euros_words} et {}", centimes_words(centimes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_spelt_the_traditional_way() {
        let cases: &[(u64, &str)] = &[
            (0, "zéro"),
            (1, "un"),
            (16, "seize"),
            (17, "dix-sept"),
            (21, "vingt et un"),
            (22, "vingt-deux"),
            (61, "soixante et un"),
            (70, "soixante-dix"),
            (71, "soixante et onze"),
            (77, "soixante-dix-sept"),
            (80, "quatre-vingts"),
            (81, "quatre-vingt-un"),
            (90, "quatre-vingt-dix"),
            (91, "quatre-vingt-onze"),
            (99, "quatre-vingt-dix-neuf"),
            (100, "cent"),
            (101, "cent un"),
            (180, "cent quatre-vingts"),
            (200, "deux cents"),
            (201, "deux cent un"),
            (1000, "mille"),
            (1001, "mille un"),
            (2000, "deux mille"),
            (18_500, "dix-huit mille cinq cents"),
            (21_000, "vingt et un mille"),
            (80_000, "quatre-vingt mille"),
            (200_000, "deux cent mille"),
            (1_000_000, "un million"),
            (200_000_000, "deux cents millions"),
            (80_000_000, "quatre-vingts millions"),
            (
                1_234_567,
                "un million deux cent trente-quatre mille cinq cent soixante-sept",
            ),
            (2_000_000_000, "deux milliards"),
        ];
        for (n, words) in cases {
            assert_eq!(number_in_words(*n), *words, "{n}");
        }
    }

    #[test]
    fn amounts_name_euros_and_centimes() {
        let cases: &[(i64, &str)] = &[
            (1_850_000, "dix-huit mille cinq cents euros"),
            (2_000_000, "vingt mille euros"),
            (8_000, "quatre-vingts euros"),
            (100, "un euro"),
            (0, "zéro euro"),
            (101, "un euro et un centime"),
            (1_250, "douze euros et cinquante centimes"),
            (50, "cinquante centimes"),
            (100_000_000, "un million d'euros"),
            (250_000_000, "deux millions cinq cent mille euros"),
            (
                123_456_789,
                "un million deux cent trente-quatre mille cinq cent soixante-sept euros et \
                 quatre-vingt-neuf centimes",
            ),
        ];
        for (cents, words) in cases {
            let amount = Cents::new(*cents).unwrap();
            assert_eq!(euros_in_words(amount), *words, "{cents}");
        }
    }
}
