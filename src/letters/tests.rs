use super::*;

fn authority() -> Authority {
    Authority {
        name: "Métropole Européenne de Lille".into(),
        address: vec![
            "2 boulevard des Cités Unies".into(),
            "CS 70043".into(),
            "59040 Lille Cedex".into(),
        ],
        city: "Lille".into(),
        signatory_name: "Camille Martin".into(),
        signatory_quality: "Pour le Président et par délégation, la directrice de l'économie"
            .into(),
        grant_scheme: "Entreprendre autrement".into(),
    }
}

fn at() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap()
}

/// The text of a PDF by poppler's `pdftotext` (`-layout` off: one paragraph a line run), its
/// white space folded. `None` when the tool is missing and not required; CI requires it
/// (`ESSOR_REQUIRE_PDFTOTEXT=1`, poppler-utils installed by `.ci/run`).
pub(crate) fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("essor-letter-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("letter.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&file)
        .arg("-")
        .output();
    std::fs::remove_dir_all(&dir).ok();
    match out {
        Ok(out) if out.status.success() => Some(
            String::from_utf8(out.stdout)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => {
            let why = format!("pdftotext could not run ({other:?}): install poppler-utils");
            if std::env::var("ESSOR_REQUIRE_PDFTOTEXT").is_ok_and(|v| v == "1") {
                panic!("ESSOR_REQUIRE_PDFTOTEXT=1 but {why}");
            }
            eprintln!("WARNING letter text not checked, SKIPPED: {why}");
            None
        }
    }
}

#[test]
fn every_letter_renders_as_a_pdf_and_twice_the_same() {
    let letters = Letters::embedded(authority());
    letters.check().unwrap();
    for (kind, data) in samples() {
        let pdf = letters.render(kind, &data, at()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "{kind}");
        // To look at them: ESSOR_LETTERS_OUT=dir cargo test --lib letters, then pdftoppm -png.
        if let Ok(dir) = std::env::var("ESSOR_LETTERS_OUT") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(format!("{dir}/{kind}.pdf"), &pdf).unwrap();
        }
        assert!(pdf.len() < 300_000, "{kind}: {} bytes", pdf.len());
        // The same data and date give the same bytes: a letter's digest can be recomputed.
        assert_eq!(pdf, letters.render(kind, &data, at()).unwrap(), "{kind}");
    }
}

#[test]
fn the_letters_say_what_the_law_requires() {
    let letters = Letters::embedded(authority());
    for (kind, data) in samples() {
        let pdf = letters.render(kind, &data, at()).unwrap();
        let Some(text) = pdf_text(&pdf) else { return };
        assert!(text.contains(kind.title_fr()), "{kind}: {text}");
        assert!(text.contains("EA-2027-0001"), "{kind}: {text}");
        assert!(text.contains("Association Les Jardins de Fives"), "{kind}");
        assert!(text.contains("Camille Martin"), "{kind}");
        // The markup-looking title is printed as it was typed, not obeyed.
        assert!(
            text.contains("#set page(width: 1cm) ] *gras*"),
            "{kind}: {text}"
        );
        let convention = matches!(kind, LetterKind::Convention | LetterKind::SignedConvention);
        if !convention {
            assert!(text.contains(&data.motivation), "{kind}: {text}");
        }
        match kind {
            LetterKind::Award => {
                assert!(text.contains("18 500,00 €"), "{text}");
                assert!(text.contains("dix-huit mille cinq cents euros"), "{text}");
                assert!(text.contains("Avance"), "{text}");
                assert!(text.contains("14 800,00 €"), "{text}");
                assert!(text.contains("30 juin 2028"), "{text}");
                assert!(text.contains("DEL-2027-0042"), "{text}");
            }
            LetterKind::Convention | LetterKind::SignedConvention => {
                assert!(text.contains("18 500,00 €"), "{text}");
                assert!(text.contains("dix-huit mille cinq cents euros"), "{text}");
                assert!(text.contains("à la signature de la convention"), "{text}");
                assert!(text.contains("30 juin 2028"), "{text}");
                assert!(text.contains("Article 5 — Reversement"), "{text}");
            }
            _ => assert!(!text.contains("Article 1"), "{kind}"),
        }
        match kind {
            LetterKind::SignedConvention => {
                // The signature page: who, in which quality, when, the unsigned digest; the
                // signatory's markup-looking name printed as typed.
                assert!(text.contains("Page de signature"), "{text}");
                assert!(text.contains("Léa Dupont-Nguyen ] #pagebreak()"), "{text}");
                assert!(text.contains("Présidente"), "{text}");
                assert!(text.contains("20 mars 2027 à 10 h 32"), "{text}");
                assert!(
                    text.contains(
                        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    ),
                    "{text}"
                );
            }
            LetterKind::Convention => assert!(!text.contains("Page de signature"), "{text}"),
            _ => {}
        }
        if convention {
            assert!(text.contains("tribunal administratif de Lille"), "{kind}");
            continue;
        }
        assert!(text.contains("deux mois"), "{kind}");
        assert!(text.contains("tribunal administratif de Lille"), "{kind}");
        assert!(text.contains("Télérecours citoyens"), "{kind}");
    }
}

fn overriding(name: &str, text: &str) -> (std::path::PathBuf, Result<Letters, LetterError>) {
    let dir = std::env::temp_dir().join(format!("essor-letters-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
    let letters = Letters::new(authority(), dir.to_str().unwrap(), "");
    (dir, letters)
}

#[test]
fn a_template_that_loses_its_structure_is_refused() {
    // No document title: PDF/UA-1 refuses it, and the start-up check says so.
    let (dir, letters) = overriding(
        "refusal.typ",
        "#set text(lang: \"fr\")\n= Refus\nCeci n'a pas de titre de document.\n",
    );
    let letters = letters.unwrap();
    let err = letters.check().unwrap_err();
    assert!(matches!(err, LetterError::Pdf { .. }), "{err}");
    std::fs::remove_dir_all(dir).ok();

    // A syntax error names the template.
    let (dir, letters) = overriding("award.typ", "#let x = (\n");
    let err = letters.unwrap().check().unwrap_err();
    assert!(err.to_string().contains("award.typ"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_template_reads_nothing_outside_the_letters() {
    for body in [
        "#read(\"/etc/passwd\")",
        "#read(\"../../Cargo.toml\")",
        "#import \"@preview/example:0.1.0\": *",
    ] {
        let template =
            format!("#set document(title: \"Essai\")\n#set text(lang: \"fr\")\n= Essai\n{body}\n");
        let (dir, letters) = overriding("ineligibility.typ", &template);
        let err = letters.unwrap().check().unwrap_err();
        assert!(matches!(err, LetterError::Template { .. }), "{body}: {err}");
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn the_authority_s_logo_heads_the_letters_and_a_broken_one_is_refused() {
    let dir = std::env::temp_dir().join(format!("essor-logo-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let logo = dir.join("logo.svg");
    std::fs::write(&logo, include_bytes!("../../static/logo.svg")).unwrap();
    let letters = Letters::new(authority(), "", logo.to_str().unwrap()).unwrap();
    letters.check().unwrap();
    let (kind, data) = &samples()[0];
    let with_logo = letters.render(*kind, data, at()).unwrap();
    let without = Letters::embedded(authority())
        .render(*kind, data, at())
        .unwrap();
    assert!(with_logo.len() > without.len(), "the logo is in the PDF");

    // Not an image: the start-up check says so instead of the first decision failing.
    let broken = dir.join("logo.png");
    std::fs::write(&broken, b"ceci n'est pas une image").unwrap();
    let letters = Letters::new(authority(), "", broken.to_str().unwrap()).unwrap();
    assert!(letters.check().is_err());
    std::fs::remove_dir_all(dir).ok();
}
