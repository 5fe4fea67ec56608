//! The documentation under `docs/` says what the code does: these tests fail when the code
//! changes a criterion, a rule set or a mail template and the pages are left behind.

use std::path::Path;

use essor::domain::eligibility::{CRITERION_DEFINITIONS, RULE_SETS};

fn read(page: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(page);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every criterion has its row in docs/eligibility.md, with the code's exact label and legal
/// basis, and the page names no criterion the code does not have.
#[test]
fn eligibility_page_lists_every_criterion_as_the_code_does() {
    let page = read("eligibility.md");
    let rows: Vec<Vec<&str>> = page
        .lines()
        .filter(|l| l.starts_with("| ESS-") || l.starts_with("| ESUS-") || l.starts_with("| MEL-"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    assert_eq!(
        rows.len(),
        CRITERION_DEFINITIONS.len(),
        "docs/eligibility.md has {} criterion rows, the code {} criteria",
        rows.len(),
        CRITERION_DEFINITIONS.len()
    );
    for (row, def) in rows.iter().zip(CRITERION_DEFINITIONS.iter()) {
        assert_eq!(row[0], def.code, "criteria out of the report's order");
        assert_eq!(row[1], def.label, "{}: label", def.code);
        assert_eq!(row[2], def.legal_basis, "{}: legal basis", def.code);
    }
}

/// Every rule set of the code is in the page's table, with its cap and its age limit.
#[test]
fn eligibility_page_lists_every_rule_set() {
    let page = read("eligibility.md");
    for rs in RULE_SETS {
        let row = page
            .lines()
            .find(|l| l.starts_with(&format!("| `{}`", rs.version)))
            .unwrap_or_else(|| panic!("rule set {} missing from docs/eligibility.md", rs.version));
        let cap_eur = rs.max_award_cap_cents / 100;
        let cap = format!("{} {:03} €", cap_eur / 1000, cap_eur % 1000);
        assert!(
            row.contains(&cap),
            "{}: cap {cap} not in {row:?}",
            rs.version
        );
        assert!(
            row.contains(&format!("{} years", rs.startup_max_age_years)),
            "{}: age limit not in {row:?}",
            rs.version
        );
    }
}

/// Every embedded mail template has its line in docs/states-and-mails.md.
#[test]
fn mail_page_names_every_template() {
    let page = read("states-and-mails.md");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/mail");
    let mut kinds: Vec<String> = std::fs::read_dir(&dir)
        .expect("templates/mail")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".subject.txt").map(str::to_owned)
        })
        .collect();
    kinds.sort();
    assert!(!kinds.is_empty(), "no mail template found");
    for kind in kinds {
        assert!(
            page.contains(&format!("| `{kind}` |")),
            "docs/states-and-mails.md does not describe the mail `{kind}`"
        );
    }
}
