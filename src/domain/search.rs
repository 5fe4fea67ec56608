//! Finding an application as an agent types it (issue 17, « the agents' tools »): a reference,
//! a SIRET, an RNA number or part of a name, with case and accents ignored, on SQLite and
//! PostgreSQL alike. Neither database folds accents the same way (SQLite not at all), so the
//! folding is done here, once: each application stores `search_text`, the folded text of what
//! may be searched, and a query is folded the same way before a plain `LIKE`.

/// Lower case, French (and common Latin) accents removed, ligatures spelt out, runs of
/// whitespace made one space: « Les Ateliers du SART » and « les ateliers du sart » fold
/// alike, as do « Économie » and « economie ».
pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut space = false;
    for c in input.chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            // Typographic apostrophes and dashes as typed on a keyboard.
            '’' | 'ʼ' | '‘' => out.push('\''),
            '‐' | '‑' | '–' | '—' => out.push('-'),
            c => out.push(c),
        }
    }
    out
}

/// What an application is found by: its reference, SIRET, RNA number, the organisation's name
/// and the project's title, folded, one after the other.
pub fn search_text(
    reference: &str,
    siret: Option<&str>,
    rna: Option<&str>,
    organisation_name: &str,
    project_title: &str,
) -> String {
    let digits = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    [
        fold(reference),
        siret.map(digits).unwrap_or_default(),
        rna.map(|r| fold(&digits(r))).unwrap_or_default(),
        fold(organisation_name),
        fold(project_title),
    ]
    .join(" | ")
}

/// The folded needle of a query, or `None` when there is nothing to look for. A number typed
/// with spaces (« 732 829 320 00074 ») is looked for without them, as SIRETs are stored.
pub fn needle(query: &str) -> Option<String> {
    let folded = fold(query);
    if folded.is_empty() {
        return None;
    }
    let compact: String = folded.chars().filter(|c| *c != ' ').collect();
    if compact.chars().all(|c| c.is_ascii_digit()) {
        Some(compact)
    } else {
        Some(folded)
    }
}

/// `needle` as a `LIKE` pattern (`%needle%`, with `\` escaping `%`, `_` and itself).
pub fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_spacing() {
        let cases = [
            ("Les Ateliers du SART", "les ateliers du sart"),
            ("Économie Sociale", "economie sociale"),
            ("  Cœur   de  ville ", "coeur de ville"),
            ("ÇA VA À L'ÎLE", "ca va a l'ile"),
            ("Villeneuve-d’Ascq", "villeneuve-d'ascq"),
            ("EA-2026-00042", "ea-2026-00042"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(fold(input), expected, "{input:?}");
        }
    }

    #[test]
    fn the_search_text_holds_every_key() {
        let t = search_text(
            "EA-2026-00042",
            Some("732 829 320 00074"),
            Some("W595012345"),
            "Les Ateliers du Sart",
            "Réparer, réemployer",
        );
        assert_eq!(
            t,
            "ea-2026-00042 | 73282932000074 | w595012345 | les ateliers du sart | reparer, reemployer"
        );
        assert_eq!(
            search_text("EA-2026-00001", None, None, "Élan", "Projet"),
            "ea-2026-00001 |  |  | elan | projet"
        );
    }

    #[test]
    fn needles_and_patterns() {
        let cases = [
            ("ATELIERS", Some("ateliers")),
            ("732 829 320", Some("732829320")),
            ("w595012345", Some("w595012345")),
            ("Économie  sociale", Some("economie sociale")),
            ("   ", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(needle(input).as_deref(), expected, "{input:?}");
        }
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
