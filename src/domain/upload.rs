//! What an uploaded document must be, beyond its type read from its first bytes: its stored
//! name ends with the extension of that type, and an office file (OOXML and ODF are zip
//! archives) carries no macros and does not inflate beyond reason.
//!
//! Archives are judged by their central directory (entry names and the sizes each entry
//! declares), without inflating anything: a 1 MB file declaring 1 GiB is refused before
//! anyone's office suite opens it. An archive whose declared sizes lie is refused by the
//! reader that inflates it against them (the `zip` crate stops at the declared size).

use std::fmt;

/// One entry of an archive's central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub name: String,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
}

/// Bounds an office archive must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Sum of the declared uncompressed sizes.
    pub max_total_bytes: u64,
    /// Entries in the archive.
    pub max_entries: usize,
    /// Uncompressed / compressed size of one entry (text compresses 10:1; bombs 1000:1).
    pub max_ratio: u64,
}

/// What an archive may really inflate to, all entries together, whatever it declares.
pub const MAX_INFLATED_BYTES: u64 = 100 * 1024 * 1024;

/// Judges one entry by what it really inflated to (`inflated`, counted by the reader and
/// stopped one byte past the ceiling), not by the sizes its headers declare: the total of
/// the archive so far (`total_before` + `inflated`) stays under `max_total`, and a part of
/// some size stays under the ratio.
pub fn check_inflated(
    entry: &str,
    compressed: u64,
    inflated: u64,
    total_before: u64,
    max_total: u64,
    max_ratio: u64,
) -> Result<(), ArchiveRefusal> {
    let total = total_before.saturating_add(inflated);
    if total > max_total {
        return Err(ArchiveRefusal::TooLarge {
            declared_bytes: total,
            max_bytes: max_total,
        });
    }
    if inflated > 1024 * 1024 {
        let ratio = inflated / compressed.max(1);
        if ratio > max_ratio {
            return Err(ArchiveRefusal::Ratio {
                entry: entry.to_owned(),
                ratio,
                max: max_ratio,
            });
        }
    }
    Ok(())
}

pub const ARCHIVE_LIMITS: ArchiveLimits = ArchiveLimits {
    max_total_bytes: 200 * 1024 * 1024,
    max_entries: 5_000,
    max_ratio: 200,
};

/// Why an archive is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveRefusal {
    /// VBA project (OOXML) or Basic/script library (ODF).
    Macros {
        entry: String,
    },
    TooLarge {
        declared_bytes: u64,
        max_bytes: u64,
    },
    TooManyEntries {
        entries: usize,
        max: usize,
    },
    Ratio {
        entry: String,
        ratio: u64,
        max: u64,
    },
}

impl fmt::Display for ArchiveRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b / (1024 * 1024);
        match self {
            Self::Macros { entry } => write!(
                f,
                "le fichier contient des macros (« {entry} ») : enregistrez-le sans macros \
                 (DOCX, XLSX, ODT ou ODS ordinaires) ou en PDF"
            ),
            Self::TooLarge {
                declared_bytes,
                max_bytes,
            } => write!(
                f,
                "le fichier déclare {} Mo une fois décompressé ({} Mo au plus) : enregistrez-le \
                 en PDF",
                mib(*declared_bytes),
                mib(*max_bytes)
            ),
            Self::TooManyEntries { entries, max } => write!(
                f,
                "le fichier compte {entries} parties internes ({max} au plus) : enregistrez-le \
                 en PDF"
            ),
            Self::Ratio { entry, ratio, max } => write!(
                f,
                "la partie « {entry} » se décompresse {ratio} fois ({max} au plus) : \
                 enregistrez le fichier en PDF"
            ),
        }
    }
}

/// Entries that hold macros: OOXML's VBA project (`word/vbaProject.bin`, `xl/…`, `ppt/…`,
/// and its signature and data parts), ODF's Basic libraries and scripts.
fn holds_macros(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    file.starts_with("vbaproject")
        || file == "vbadata.xml"
        || lower.starts_with("basic/")
        || lower.starts_with("scripts/")
}

/// A package part naming a VBA project by content type or relationship, whatever the part's
/// name: `[Content_Types].xml` declaring `application/vnd.ms-office.vbaProject` or any
/// `macroEnabled` type, a `.rels` part with a `vbaProject` relationship (issue 32 point 9: a
/// renamed `word/editdata.mso` passed the name check). `part` is the part's name, `xml` its text.
pub fn check_declared_part(part: &str, xml: &str) -> Result<(), ArchiveRefusal> {
    let lower = xml.to_ascii_lowercase();
    let macro_type = part == "[Content_Types].xml"
        && (lower.contains("vbaproject") || lower.contains("macroenabled"));
    let macro_rel = part.to_ascii_lowercase().ends_with(".rels") && lower.contains("vbaproject");
    if macro_type || macro_rel {
        return Err(ArchiveRefusal::Macros {
            entry: part.to_owned(),
        });
    }
    Ok(())
}

/// Checks an office archive's central directory.
pub fn check_archive(
    entries: &[ArchiveEntry],
    limits: ArchiveLimits,
) -> Result<(), ArchiveRefusal> {
    if let Some(e) = entries.iter().find(|e| holds_macros(&e.name)) {
        return Err(ArchiveRefusal::Macros {
            entry: e.name.clone(),
        });
    }
    if entries.len() > limits.max_entries {
        return Err(ArchiveRefusal::TooManyEntries {
            entries: entries.len(),
            max: limits.max_entries,
        });
    }
    let total = entries
        .iter()
        .fold(0u64, |sum, e| sum.saturating_add(e.uncompressed_bytes));
    if total > limits.max_total_bytes {
        return Err(ArchiveRefusal::TooLarge {
            declared_bytes: total,
            max_bytes: limits.max_total_bytes,
        });
    }
    for e in entries {
        // Small parts compress oddly well; only a part of some size can be a bomb.
        if e.uncompressed_bytes > 1024 * 1024 {
            let ratio = e.uncompressed_bytes / e.compressed_bytes.max(1);
            if ratio > limits.max_ratio {
                return Err(ArchiveRefusal::Ratio {
                    entry: e.name.clone(),
                    ratio,
                    max: limits.max_ratio,
                });
            }
        }
    }
    Ok(())
}

/// The name a document is stored and served under: the client's name, its extension replaced
/// by the detected type's (`setup.exe` holding a PDF is served as `setup.pdf`), so what a
/// browser saves opens with the program of its real type.
pub fn stored_filename(sanitized: &str, ext: &str) -> String {
    let stem = match sanitized.rsplit_once('.') {
        Some((stem, _)) => stem,
        None => sanitized,
    };
    let stem = stem.trim_end_matches(['.', ' ']);
    if stem.trim().is_empty() {
        format!("document.{ext}")
    } else {
        format!("{stem}.{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, compressed: u64, uncompressed: u64) -> ArchiveEntry {
        ArchiveEntry {
            name: name.into(),
            compressed_bytes: compressed,
            uncompressed_bytes: uncompressed,
        }
    }

    #[test]
    fn archives_are_judged_by_their_directory() {
        let docx = vec![
            entry("[Content_Types].xml", 400, 1_500),
            entry("word/document.xml", 20_000, 120_000),
            entry("word/media/image1.png", 300_000, 300_000),
        ];
        assert_eq!(check_archive(&docx, ARCHIVE_LIMITS), Ok(()));
        let cases: Vec<(Vec<ArchiveEntry>, &str)> = vec![
            (
                vec![entry("word/vbaProject.bin", 10, 20)],
                "Macros word/vbaProject.bin",
            ),
            (vec![entry("xl/vbaProject.bin", 10, 20)], "Macros"),
            (vec![entry("ppt/vbaProjectSignature.bin", 1, 1)], "Macros"),
            (vec![entry("word/vbaData.xml", 1, 1)], "Macros"),
            (vec![entry("Basic/Standard/Module1.xml", 1, 1)], "Macros"),
            (vec![entry("Scripts/python/x.py", 1, 1)], "Macros"),
            (
                vec![entry("word/document.xml", 1_000_000, 1 << 30)],
                "TooLarge",
            ),
            (
                vec![
                    entry("a.xml", 50_000_000, 150_000_000),
                    entry("b.xml", 50_000_000, 150_000_000),
                ],
                "TooLarge",
            ),
            (vec![entry("x.xml", 10_000, 50_000_000)], "Ratio"),
            (
                (0..5_001)
                    .map(|i| entry(&format!("p{i}.xml"), 1, 1))
                    .collect(),
                "TooManyEntries",
            ),
        ];
        for (entries, expected) in cases {
            let got = check_archive(&entries, ARCHIVE_LIMITS).unwrap_err();
            let kind = format!("{got:?}");
            let first = expected.split(' ').next().unwrap();
            assert!(kind.starts_with(first), "{expected}: {kind}");
            if let Some(name) = expected.split(' ').nth(1) {
                assert!(kind.contains(name), "{kind}");
            }
            assert!(got.to_string().contains("PDF"), "{got}");
        }
    }

    #[test]
    fn entries_are_judged_by_what_they_inflate_to() {
        const MIB: u64 = 1024 * 1024;
        // (compressed, inflated, total before, refusal word)
        let cases = [
            (10 * MIB, 20 * MIB, 0, None),
            (20 * 1024, 20 * MIB, 0, Some("se décompresse")),
            (90 * MIB, 20 * MIB, 90 * MIB, Some("Mo une fois")),
            (100, 1000, 0, None),
            (1, MIB, 0, None),
        ];
        for (compressed, inflated, before, refusal) in cases {
            let got = check_inflated("p", compressed, inflated, before, 100 * MIB, 200);
            match refusal {
                None => assert_eq!(got, Ok(()), "{compressed} {inflated}"),
                Some(w) => assert!(got.unwrap_err().to_string().contains(w)),
            }
        }
    }

    #[test]
    fn macros_declared_by_type_or_relationship_are_refused() {
        let cases = [
            (
                "[Content_Types].xml",
                r#"<Types><Default Extension="xml" ContentType="application/xml"/></Types>"#,
                true,
            ),
            (
                "[Content_Types].xml",
                r#"<Types><Override PartName="/word/editdata.mso" ContentType="application/vnd.ms-office.vbaProject"/></Types>"#,
                false,
            ),
            (
                "[Content_Types].xml",
                r#"<Types><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>"#,
                false,
            ),
            (
                "word/_rels/document.xml.rels",
                r#"<Relationships><Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="editdata.mso"/></Relationships>"#,
                false,
            ),
            (
                "word/_rels/document.xml.rels",
                r#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
                true,
            ),
            // An ordinary part mentioning the word is text, not a declaration.
            (
                "word/document.xml",
                "<w:t>vbaProject macroEnabled</w:t>",
                true,
            ),
        ];
        for (part, xml, ok) in cases {
            let got = check_declared_part(part, xml);
            assert_eq!(got.is_ok(), ok, "{part}: {xml}");
            if let Err(e) = got {
                assert!(e.to_string().contains("macros"), "{e}");
            }
        }
    }

    #[test]
    fn the_stored_name_ends_with_the_detected_type() {
        let cases = [
            ("setup.exe", "pdf", "setup.pdf"),
            ("statuts.pdf", "pdf", "statuts.pdf"),
            ("budget.PDF", "pdf", "budget.pdf"),
            ("rapport.tar.gz", "docx", "rapport.tar.docx"),
            ("statuts", "pdf", "statuts.pdf"),
            ("document.pdf", "png", "document.png"),
            ("a.", "pdf", "a.pdf"),
            (".pdf", "pdf", "document.pdf"),
        ];
        for (raw, ext, expected) in cases {
            assert_eq!(stored_filename(raw, ext), expected, "{raw}");
        }
    }
}
