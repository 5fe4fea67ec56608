//! The finance service's file, read back (DESIGN.md §15): essor pays nothing itself; the
//! finance software orders and pays the instalments essor listed, and its file comes back with
//! `instalment_id`, `mandate_reference` and `paid_on`. These rules say what each line means for
//! the instalment it names — pure, so that a dry run and the real import judge alike, and the
//! import writes only when every line is good.
//!
//! - a line with a mandate and no date orders the instalment (`ordered`);
//! - a line with a date pays it (`paid`), whether or not it was seen ordered;
//! - an instalment already paid is left alone (`already_paid`): importing the same file twice
//!   pays nothing twice; one already ordered under the same mandate likewise
//!   (`already_ordered`);
//! - an id that is not one of the call's instalments is `unknown`; anything else wrong is
//!   `invalid`, with its reason in French.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::instalment::InstalmentState;
use crate::domain::money::Cents;

/// The columns the file must have (others, such as the finance list's own, are ignored: the
/// list essor exports can be filled in and imported back as it is).
pub const COLUMNS: [&str; 3] = ["instalment_id", "mandate_reference", "paid_on"];

/// A mandate reference's length, at most (the finance software's are short).
pub const MANDATE_MAX: usize = 50;

/// Lines of one file, at most (a call holds a few hundred grants; 10 000 is a margin).
pub const LINES_MAX: usize = 20_000;

/// One data line of the file, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    /// The line's number in the file, the header being line 1.
    pub number: usize,
    pub instalment_id: String,
    pub mandate_reference: String,
    pub paid_on: String,
}

/// Why a file cannot be read at all (no line is judged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("le fichier est vide : il faut une ligne d'en-tête puis une ligne par versement")]
    Empty,
    #[error("colonnes manquantes dans l'en-tête : {}", .0.join(", "))]
    MissingColumns(Vec<&'static str>),
    #[error("ligne {line} illisible : {message}")]
    Unreadable { line: usize, message: String },
    #[error("le fichier compte plus de {LINES_MAX} lignes")]
    TooManyLines,
}

/// Reads the file: UTF-8 (a BOM is skipped), `;` or `,` between fields (the header says which),
/// columns found by their header's name whatever their order or case. Blank lines are skipped.
pub fn read(bytes: &[u8]) -> Result<Vec<RawLine>, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        FileError::Unreadable {
            line,
            message: "le texte n'est pas en UTF-8 (enregistrez le fichier en « CSV UTF-8 »)".into(),
        }
    })?;
    let header = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or(FileError::Empty)?;
    let delimiter = if header.matches(';').count() >= header.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileError::Unreadable {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let position = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let found: Vec<Option<usize>> = COLUMNS.iter().map(|c| position(c)).collect();
    let missing: Vec<&'static str> = COLUMNS
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing));
    }
    let [id_at, mandate_at, paid_at] = [found[0], found[1], found[2]].map(|f| f.unwrap_or(0));
    let mut lines = Vec::new();
    // The line in the file. The csv crate's own count skips blank lines, and its byte offset
    // is where it started reading: the line ends before the record are skipped. Records come
    // in order, so the newlines are counted once, from where the last count stopped.
    let bytes = text.as_bytes();
    let (mut counted_to, mut newlines) = (0usize, 0usize);
    let mut line_at = |byte: u64| {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= counted_to {
            newlines += bytes[counted_to..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted_to = start;
            newlines + 1
        } else {
            bytes[..start].iter().filter(|b| **b == b'\n').count() + 1
        }
    };
    for record in reader.records() {
        let record = record.map_err(|e| FileError::Unreadable {
            line: e.position().map_or(0, |p| line_at(p.byte())),
            message: e.to_string(),
        })?;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if lines.len() == LINES_MAX {
            return Err(FileError::TooManyLines);
        }
        let cell = |at: usize| record.get(at).unwrap_or("").trim().to_owned();
        lines.push(RawLine {
            number: record.position().map_or(0, |p| line_at(p.byte())),
            instalment_id: cell(id_at),
            mandate_reference: cell(mandate_at),
            paid_on: cell(paid_at),
        });
    }
    if lines.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(lines)
}

/// A date as finance software writes it: `2026-12-04` or `04/12/2026`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// What essor knows of the instalment a line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The grant it belongs to (its paid total is shared by its instalments).
    pub grant: String,
    pub state: InstalmentState,
    pub amount: Cents,
    pub mandate_reference: Option<String>,
    /// What the grant's instalments already paid add up to, and the award.
    pub paid_of_grant: Cents,
    pub awarded: Cents,
}

/// What a line does, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
pub enum Outcome {
    /// The instalment is ordered (mandaté) under the line's mandate.
    Ordered,
    /// The instalment is paid on the line's date.
    Paid,
    /// Already paid: nothing changes.
    AlreadyPaid,
    /// Already ordered under this mandate, and the line has no date: nothing changes.
    AlreadyOrdered,
    /// No instalment of this call has this id.
    Unknown,
    /// The line cannot be applied, and why.
    Invalid(String),
}

impl Outcome {
    /// Whether the line stops the import (nothing is written).
    pub fn is_error(&self) -> bool {
        matches!(self, Self::Unknown | Self::Invalid(_))
    }

    /// Whether the line writes something.
    pub fn writes(&self) -> bool {
        matches!(self, Self::Ordered | Self::Paid)
    }

    pub fn label_fr(&self) -> String {
        match self {
            Self::Ordered => "mandaté".into(),
            Self::Paid => "payé".into(),
            Self::AlreadyPaid => "déjà payé : rien ne change".into(),
            Self::AlreadyOrdered => "déjà mandaté : rien ne change".into(),
            Self::Unknown => "inconnu : aucun versement de cet appel n'a cet identifiant".into(),
            Self::Invalid(reason) => format!("invalide : {reason}"),
        }
    }
}

/// A line judged: its outcome, and the payment date it carries when it pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub outcome: Outcome,
    pub paid_on: Option<NaiveDate>,
}

fn invalid(reason: impl Into<String>) -> Judged {
    Judged {
        outcome: Outcome::Invalid(reason.into()),
        paid_on: None,
    }
}

/// Judges one line against what essor knows of its instalment (`None`: not one of the call's),
/// on `today` (Paris): a payment cannot be dated in the future. `earlier` is the number of an
/// earlier line of the same file naming the same instalment, if any.
pub fn judge(
    line: &RawLine,
    known: Option<&Known>,
    earlier: Option<usize>,
    today: NaiveDate,
) -> Judged {
    if line.instalment_id.is_empty() {
        return invalid("l'identifiant du versement (instalment_id) manque");
    }
    let Some(known) = known else {
        return Judged {
            outcome: Outcome::Unknown,
            paid_on: None,
        };
    };
    if let Some(n) = earlier {
        return invalid(format!("ce versement figure déjà à la ligne {n}"));
    }
    let mandate = line.mandate_reference.as_str();
    if mandate.is_empty() {
        return invalid("la référence du mandat (mandate_reference) manque");
    }
    if mandate.chars().count() > MANDATE_MAX {
        return invalid(format!(
            "la référence du mandat dépasse {MANDATE_MAX} caractères"
        ));
    }
    if mandate.chars().any(char::is_control) {
        return invalid("la référence du mandat contient un caractère de contrôle");
    }
    let paid_on = if line.paid_on.is_empty() {
        None
    } else {
        match parse_date(&line.paid_on) {
            Some(d) if d > today => {
                return invalid(format!(
                    "la date de paiement « {} » est dans le futur",
                    line.paid_on
                ));
            }
            Some(d) => Some(d),
            None => {
                return invalid(format!(
                    "la date de paiement « {} » n'est pas une date (AAAA-MM-JJ ou JJ/MM/AAAA)",
                    line.paid_on
                ));
            }
        }
    };
    let outcome = match (known.state, paid_on) {
        (InstalmentState::Paid, _) => Outcome::AlreadyPaid,
        (InstalmentState::Planned, _) => {
            return invalid(
                "ce versement n'a pas été demandé au service financier : son échéance n'est pas atteinte ou les coordonnées bancaires manquent",
            );
        }
        (InstalmentState::Cancelled, _) => {
            return invalid("ce versement est annulé : il ne peut être ni mandaté ni payé");
        }
        (InstalmentState::Ordered, None) if known.mandate_reference.as_deref() == Some(mandate) => {
            Outcome::AlreadyOrdered
        }
        (InstalmentState::Ordered, None) => {
            return invalid(format!(
                "ce versement est déjà mandaté sous la référence « {} »",
                known.mandate_reference.as_deref().unwrap_or("")
            ));
        }
        (InstalmentState::Requested, None) => Outcome::Ordered,
        (InstalmentState::Requested | InstalmentState::Ordered, Some(_)) => {
            // The amounts are essor's, and they sum to the award: this guards the invariant
            // rather than a case the file can bring.
            if known.paid_of_grant.value() + known.amount.value() > known.awarded.value() {
                return invalid("ce paiement dépasserait le montant de la subvention");
            }
            Outcome::Paid
        }
    };
    Judged { outcome, paid_on }
}

/// Judges every line of a file: `known` gives what essor knows of each of the call's
/// instalments by id. Each grant's paid total grows with the lines that pay, so that two lines
/// can never pay more than the award between them.
pub fn judge_all(
    lines: &[RawLine],
    known: &HashMap<String, Known>,
    today: NaiveDate,
) -> Vec<Judged> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut paid: HashMap<&str, Cents> = HashMap::new();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let earlier = seen.get(line.instalment_id.as_str()).copied();
        let current = known.get(&line.instalment_id).map(|k| Known {
            paid_of_grant: paid
                .get(k.grant.as_str())
                .copied()
                .unwrap_or(k.paid_of_grant),
            ..k.clone()
        });
        let judged = judge(line, current.as_ref(), earlier, today);
        if !line.instalment_id.is_empty() {
            seen.entry(line.instalment_id.as_str())
                .or_insert(line.number);
        }
        if let (Outcome::Paid, Some(k)) = (&judged.outcome, known.get(&line.instalment_id)) {
            let before = paid
                .get(k.grant.as_str())
                .copied()
                .unwrap_or(k.paid_of_grant);
            paid.insert(
                k.grant.as_str(),
                Cents::new(before.value() + k.amount.value()).unwrap_or(before),
            );
        }
        out.push(judged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn line(n: usize, id: &str, mandate: &str, paid_on: &str) -> RawLine {
        RawLine {
            number: n,
            instalment_id: id.into(),
            mandate_reference: mandate.into(),
            paid_on: paid_on.into(),
        }
    }

    fn known(state: InstalmentState, mandate: Option<&str>) -> Known {
        Known {
            grant: "g1".into(),
            state,
            amount: Cents::new(800_000).unwrap(),
            mandate_reference: mandate.map(str::to_owned),
            paid_of_grant: Cents::new(0).unwrap(),
            awarded: Cents::new(1_000_000).unwrap(),
        }
    }

    use InstalmentState as S;
    use Outcome as O;

    #[test]
    fn each_line_judged_against_the_instalment_it_names() {
        let today = d("2026-12-06");
        let invalid = |s: &str| O::Invalid(s.into());
        // (line, known state, known mandate, earlier line) -> outcome
        type Case<'a> = (
            RawLine,
            Option<(S, Option<&'a str>)>,
            Option<usize>,
            Outcome,
        );
        let cases: Vec<Case> = vec![
            (
                line(2, "i1", "M-1", ""),
                Some((S::Requested, None)),
                None,
                O::Ordered,
            ),
            (
                line(2, "i1", "M-1", "2026-12-04"),
                Some((S::Requested, None)),
                None,
                O::Paid,
            ),
            (
                line(2, "i1", "M-1", "04/12/2026"),
                Some((S::Ordered, Some("M-1"))),
                None,
                O::Paid,
            ),
            (
                line(2, "i1", "M-1", "2026-12-04"),
                Some((S::Paid, Some("M-1"))),
                None,
                O::AlreadyPaid,
            ),
            (
                line(2, "i1", "M-1", ""),
                Some((S::Paid, Some("M-1"))),
                None,
                O::AlreadyPaid,
            ),
            (
                line(2, "i1", "M-1", ""),
                Some((S::Ordered, Some("M-1"))),
                None,
                O::AlreadyOrdered,
            ),
            (
                line(2, "i1", "M-2", ""),
                Some((S::Ordered, Some("M-1"))),
                None,
                invalid("ce versement est déjà mandaté sous la référence « M-1 »"),
            ),
            (line(2, "zz", "M-1", ""), None, None, O::Unknown),
            (
                line(2, "", "M-1", ""),
                None,
                None,
                invalid("l'identifiant du versement (instalment_id) manque"),
            ),
            (
                line(2, "i1", "", "2026-12-04"),
                Some((S::Requested, None)),
                None,
                invalid("la référence du mandat (mandate_reference) manque"),
            ),
            (
                line(2, "i1", "M-1", "2026-13-04"),
                Some((S::Requested, None)),
                None,
                invalid(
                    "la date de paiement « 2026-13-04 » n'est pas une date (AAAA-MM-JJ ou JJ/MM/AAAA)",
                ),
            ),
            (
                line(2, "i1", "M-1", "2026-12-07"),
                Some((S::Requested, None)),
                None,
                invalid("la date de paiement « 2026-12-07 » est dans le futur"),
            ),
            (
                line(2, "i1", "M-1", ""),
                Some((S::Planned, None)),
                None,
                invalid(
                    "ce versement n'a pas été demandé au service financier : son échéance n'est pas atteinte ou les coordonnées bancaires manquent",
                ),
            ),
            (
                line(2, "i1", "M-1", ""),
                Some((S::Cancelled, None)),
                None,
                invalid("ce versement est annulé : il ne peut être ni mandaté ni payé"),
            ),
            (
                line(5, "i1", "M-1", ""),
                Some((S::Requested, None)),
                Some(3),
                invalid("ce versement figure déjà à la ligne 3"),
            ),
            (
                line(2, "i1", &"M".repeat(51), ""),
                Some((S::Requested, None)),
                None,
                invalid("la référence du mandat dépasse 50 caractères"),
            ),
            (
                line(2, "i1", "M\u{7}1", ""),
                Some((S::Requested, None)),
                None,
                invalid("la référence du mandat contient un caractère de contrôle"),
            ),
        ];
        for (l, k, earlier, expected) in cases {
            let k = k.map(|(s, m)| known(s, m));
            let got = judge(&l, k.as_ref(), earlier, today);
            assert_eq!(got.outcome, expected, "{l:?} {k:?}");
            assert_eq!(
                got.outcome.is_error(),
                matches!(expected, O::Unknown | O::Invalid(_))
            );
            if got.outcome == O::Paid {
                assert_eq!(got.paid_on, Some(d("2026-12-04")));
            }
        }
    }

    #[test]
    fn two_lines_never_pay_more_than_the_award() {
        let mut k = HashMap::new();
        // 800 000 + 300 000 > 1 000 000: corrupt amounts, which the guard refuses.
        k.insert("a".to_owned(), known(S::Requested, None));
        k.insert(
            "b".to_owned(),
            Known {
                amount: Cents::new(300_000).unwrap(),
                ..known(S::Requested, None)
            },
        );
        let lines = [
            line(2, "a", "M-1", "2026-12-01"),
            line(3, "b", "M-2", "2026-12-01"),
        ];
        let got = judge_all(&lines, &k, d("2026-12-06"));
        assert_eq!(got[0].outcome, O::Paid);
        assert_eq!(
            got[1].outcome,
            O::Invalid("ce paiement dépasserait le montant de la subvention".into())
        );
        // The same instalment twice: the second line is named with the first's number.
        let lines = [line(2, "a", "M-1", ""), line(3, "a", "M-1", "")];
        let got = judge_all(&lines, &k, d("2026-12-06"));
        assert_eq!(got[0].outcome, O::Ordered);
        assert_eq!(
            got[1].outcome,
            O::Invalid("ce versement figure déjà à la ligne 2".into())
        );
    }

    #[test]
    fn the_file_is_read_by_its_header_whatever_the_separator_or_the_order() {
        let semicolon = "\u{FEFF}Référence;instalment_id;Mandate_Reference;paid_on\r\nEA-1;i1;M-1;2026-12-04\r\n\r\nEA-2;i2;M-2;\r\n";
        let got = read(semicolon.as_bytes()).unwrap();
        assert_eq!(
            got,
            vec![line(2, "i1", "M-1", "2026-12-04"), line(4, "i2", "M-2", "")]
        );
        let comma = "paid_on,instalment_id,mandate_reference\n04/12/2026,i1,M-1\n";
        assert_eq!(
            read(comma.as_bytes()).unwrap(),
            vec![line(2, "i1", "M-1", "04/12/2026")]
        );
        assert_eq!(read(b""), Err(FileError::Empty));
        assert_eq!(
            read(b"instalment_id;mandate_reference;paid_on\n"),
            Err(FileError::Empty)
        );
        assert_eq!(
            read(b"instalment_id;paid_on\ni1;2026-12-01\n"),
            Err(FileError::MissingColumns(vec!["mandate_reference"]))
        );
        assert!(matches!(
            read(b"instalment_id;mandate_reference;paid_on\ni1;M\xff;\n"),
            Err(FileError::Unreadable { line: 2, .. })
        ));
    }
}
