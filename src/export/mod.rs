//! Exports of a call's applications for the MEL's staff (DESIGN.md §11): CSV (RFC 4180, or the
//! `excel-fr` dialect), XLSX (applications and reviews), JSON, and the SCDL « subventions »
//! 2.1.1 open-data CSV.
//!
//! Every format is written by one synchronous function, [`write_export`], that pages through
//! the database (keyset pagination on `(created_at, id)`, [`rows::CHUNK`] applications at a
//! time, a pooled connection taken per chunk and given back before the chunk is written) and
//! writes to any `Write`. The HTTP handler runs it on a blocking thread and streams what it
//! writes through a bounded channel ([`stream`]): memory stays flat whatever the size of the
//! call, and a client that stops reading stops the export.

pub mod csv;
pub mod finance_list;
pub mod formula;
pub mod grants;
pub mod json;
pub mod rows;
pub mod scdl;
pub mod territory;
pub mod xlsx;

use std::io::{self, Write};
use std::path::PathBuf;

use actix_web::web::Bytes;
use chrono::NaiveDate;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

use crate::config::AuthoritySettings;
use crate::db::Db;
use crate::db::calls::CallRow;
use crate::domain::application_state::ApplicationState;
use crate::domain::call::ScoringCriterion;
use crate::error::ServiceError;

pub use rows::{Chunk, ExportFilter, ExportRow, ReviewLine};

/// The file formats of `GET /calls/{id}/export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One line per application (RFC 4180; see `dialect`).
    Csv,
    /// A workbook: a sheet of applications, a sheet of reviews (one row per criterion).
    Xlsx,
    /// An array of objects with the same fields as the CSV (amounts in cents).
    Json,
    /// The SCDL « subventions » 2.1.1 open-data CSV: one line per accepted application.
    Scdl,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [Self::Csv, Self::Xlsx, Self::Json, Self::Scdl];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Json => "json",
            Self::Scdl => "scdl",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv | Self::Scdl => "text/csv; charset=utf-8",
            Self::Xlsx => XLSX_CONTENT_TYPE,
            Self::Json => "application/json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv | Self::Scdl => "csv",
            Self::Xlsx => "xlsx",
            Self::Json => "json",
        }
    }
}

pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// CSV flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub enum CsvDialect {
    /// RFC 4180: `,` between fields, `.` in decimals, CRLF, UTF-8 without BOM.
    #[default]
    #[serde(rename = "rfc4180")]
    Rfc4180,
    /// For Excel in French: `;` between fields, `,` in decimals, a UTF-8 BOM. (In both
    /// dialects text that would start a formula is prefixed with `'`: see [`formula`].)
    #[serde(rename = "excel-fr")]
    ExcelFr,
}

impl CsvDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc4180 => "rfc4180",
            Self::ExcelFr => "excel-fr",
        }
    }
}

/// The query string of `GET /calls/{id}/export`, as sent; [`ExportQuery::parse`] checks it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default), `xlsx`, `json` or `scdl`.
    #[param(value_type = Option<ExportFormat>, inline)]
    pub format: Option<String>,
    /// CSV only: `rfc4180` (default) or `excel-fr` (`;`, decimal comma and a BOM, for Excel
    /// in French).
    #[param(value_type = Option<CsvDialect>, inline)]
    pub dialect: Option<String>,
    /// Only applications in these states, comma-separated (default: every state but `draft`;
    /// `scdl` only ever holds `accepted`).
    #[param(example = "accepted,rejected")]
    pub state: Option<String>,
    /// Only applications decided on or after this day (Europe/Paris), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date, example = "2026-01-01")]
    pub decided_from: Option<String>,
    /// Only applications decided on or before this day (Europe/Paris), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date, example = "2026-12-31")]
    pub decided_to: Option<String>,
}

/// A checked export request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportParams {
    pub format: ExportFormat,
    pub dialect: CsvDialect,
    pub filter: ExportFilter,
    /// Whether the caller named the states (the file name says `decisions` for decisions).
    pub explicit_states: bool,
}

fn bad(detail: String) -> ServiceError {
    ServiceError::BadInput(detail)
}

/// Every state but `draft`: a draft is not yet an application the staff handle.
pub fn default_states() -> Vec<ApplicationState> {
    ApplicationState::ALL
        .into_iter()
        .filter(|s| *s != ApplicationState::Draft)
        .collect()
}

fn parse_date(name: &str, value: &str) -> Result<NaiveDate, ServiceError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| value.trim().len() == 10)
        .ok_or_else(|| {
            bad(format!(
                "Date invalide pour « {name} » : « {value} ». Format attendu : AAAA-MM-JJ \
                 (par exemple 2026-03-31)."
            ))
        })
}

impl ExportQuery {
    /// Reads a raw query string; 400 with a French detail when it does not parse.
    pub fn from_query_string(qs: &str) -> Result<Self, ServiceError> {
        actix_web::web::Query::<ExportQuery>::from_query(qs)
            .map(|q| q.into_inner())
            .map_err(|e| {
                let detail = match &e {
                    actix_web::error::QueryPayloadError::Deserialize(d) => {
                        let msg = d.to_string();
                        match msg
                            .strip_prefix("duplicate field `")
                            .and_then(|r| r.split('`').next())
                        {
                            Some(name) => format!(
                                "le paramètre « {name} » est répété ; pour plusieurs valeurs, \
                                 séparez-les par des virgules (state=accepted,rejected)"
                            ),
                            None => crate::input::translate_serde_message(&msg),
                        }
                    }
                    other => other.to_string(),
                };
                bad(format!("Paramètres de requête invalides : {detail}."))
            })
    }

    pub fn parse(self) -> Result<ExportParams, ServiceError> {
        let format = match self.format.as_deref().map(str::trim) {
            None | Some("") => ExportFormat::Csv,
            Some(f) => ExportFormat::ALL
                .into_iter()
                .find(|x| x.as_str() == f.to_ascii_lowercase())
                .ok_or_else(|| {
                    bad(format!(
                        "Format d'export inconnu : « {f} ». Formats possibles : csv, xlsx, json, \
                         scdl."
                    ))
                })?,
        };
        let dialect = match self.dialect.as_deref().map(str::trim) {
            None | Some("") => CsvDialect::Rfc4180,
            Some(d) => {
                let dialect = [CsvDialect::Rfc4180, CsvDialect::ExcelFr]
                    .into_iter()
                    .find(|x| x.as_str() == d.to_ascii_lowercase())
                    .ok_or_else(|| {
                        bad(format!(
                            "Dialecte CSV inconnu : « {d} ». Dialectes possibles : rfc4180, \
                             excel-fr."
                        ))
                    })?;
                if format != ExportFormat::Csv {
                    return Err(bad(format!(
                        "Le paramètre « dialect » ne s'applique qu'au format csv (format demandé : \
                         {}).",
                        format.as_str()
                    )));
                }
                dialect
            }
        };
        let mut states = Vec::new();
        let explicit_states = self.state.as_deref().is_some_and(|s| !s.trim().is_empty());
        if let Some(list) = self.state.as_deref() {
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let s: ApplicationState = part.parse().map_err(|_| {
                    bad(format!(
                        "État inconnu dans « state » : « {part} ». États possibles : {}.",
                        ApplicationState::ALL.map(|s| s.as_str()).join(", ")
                    ))
                })?;
                if !states.contains(&s) {
                    states.push(s);
                }
            }
        }
        if states.is_empty() {
            states = default_states();
        }
        if format == ExportFormat::Scdl {
            if explicit_states && !states.contains(&ApplicationState::Accepted) {
                return Err(bad(
                    "Le format scdl ne contient que les subventions attribuées (dossiers \
                     « accepted ») : le filtre « state » ne peut pas les exclure."
                        .into(),
                ));
            }
            states = vec![ApplicationState::Accepted];
        }
        let decided_from = self
            .decided_from
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_date("decided_from", s))
            .transpose()?;
        let decided_to = self
            .decided_to
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_date("decided_to", s))
            .transpose()?;
        if let (Some(from), Some(to)) = (decided_from, decided_to)
            && from > to
        {
            return Err(bad(format!(
                "« decided_from » ({from}) est postérieure à « decided_to » ({to})."
            )));
        }
        Ok(ExportParams {
            format,
            dialect,
            filter: ExportFilter {
                states,
                decided_from,
                decided_to,
            },
            explicit_states,
        })
    }
}

impl ExportParams {
    /// `entreprendre-autrement-2026-decisions.csv`: the call's title, then what the file holds.
    pub fn file_name(&self, call_title: &str) -> String {
        let decided_only = self
            .filter
            .states
            .iter()
            .all(|s| matches!(s, ApplicationState::Accepted | ApplicationState::Rejected))
            && self.explicit_states;
        let what = match self.format {
            ExportFormat::Scdl => "subventions",
            _ if decided_only
                || self.filter.decided_from.is_some()
                || self.filter.decided_to.is_some() =>
            {
                "decisions"
            }
            _ => "candidatures",
        };
        // The two CSV dialects are different files: a download of each must not overwrite the
        // other in the agent's downloads folder.
        let dialect = match (self.format, self.dialect) {
            (ExportFormat::Csv, CsvDialect::ExcelFr) => "-excel",
            _ => "",
        };
        format!(
            "{}-{what}{dialect}.{}",
            slug(call_title),
            self.format.extension()
        )
    }
}

/// Lower-case ASCII words joined by `-`, accents folded (`Écoles d'été` -> `ecoles-d-ete`).
pub fn slug(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.chars().flat_map(char::to_lowercase) {
        let folded: &str = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
            'ç' => "c",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' | 'ì' => "i",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'ÿ' | 'ý' => "y",
            'ñ' => "n",
            'œ' => "oe",
            'æ' => "ae",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        out.push_str(folded);
    }
    let mut slug = String::with_capacity(out.len());
    for part in out.split('-').filter(|p| !p.is_empty()) {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(part);
    }
    slug.truncate(80);
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "export".to_owned()
    } else {
        slug
    }
}

/// A column of the CSV and of the workbook's applications sheet, in file order.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The CSV header (and, but for the amounts, the JSON key).
    pub key: &'static str,
    /// The workbook's header, in French.
    pub label: &'static str,
    /// The workbook's column width, in characters.
    pub width: f64,
}

const fn col(key: &'static str, label: &'static str, width: f64) -> Column {
    Column { key, label, width }
}

/// The application columns, in order. JSON has the same fields, amounts in cents
/// (`requested_cents`, `awarded_cents`) as everywhere in the API.
pub const COLUMNS: [Column; 27] = [
    col("reference", "Référence", 16.0),
    col("organisation_name", "Structure", 32.0),
    col("legal_form", "Forme juridique", 20.0),
    col("siret", "SIRET", 16.0),
    col("rna", "RNA", 12.0),
    col("commune_insee", "Code commune (INSEE)", 12.0),
    col("commune_name", "Commune", 22.0),
    col("project_title", "Projet", 40.0),
    col("stage", "Phase", 14.0),
    col("requested_eur", "Montant demandé", 16.0),
    col("awarded_eur", "Montant attribué", 16.0),
    col("state", "État", 22.0),
    col("eligibility_verdict", "Éligibilité", 18.0),
    col("score", "Note /100", 10.0),
    col("spread", "Écart entre évaluations", 12.0),
    col("review_count", "Évaluations", 12.0),
    col("favorable_count", "Avis favorables", 12.0),
    col("reserved_count", "Avis réservés", 12.0),
    col("unfavorable_count", "Avis défavorables", 12.0),
    col("committee_date", "Date du comité", 14.0),
    col("decision_reference", "Référence de la décision", 20.0),
    col("decision_motivation", "Motivation", 50.0),
    col("submitted_on", "Déposé le", 12.0),
    col("decided_on", "Décidé le", 12.0),
    col("commune_opinions", "Avis des communes", 30.0),
    col("registry_status", "Registre des entreprises", 24.0),
    col("registry_flags", "Alertes du registre", 40.0),
];

/// What an export needs besides the database.
#[derive(Debug, Clone)]
pub struct ExportContext {
    pub call_id: String,
    pub grid: Vec<ScoringCriterion>,
    pub params: ExportParams,
    pub authority: AuthoritySettings,
    /// Where the XLSX writer keeps its per-sheet temporary files.
    pub tempdir: PathBuf,
}

impl ExportContext {
    pub fn new(
        call: &CallRow,
        params: ExportParams,
        authority: AuthoritySettings,
        tempdir: PathBuf,
    ) -> Self {
        // A grid that does not parse only loses the criteria's labels in the reviews sheet.
        let grid = serde_json::from_str(&call.scoring_grid).unwrap_or_default();
        Self {
            call_id: call.id.to_string(),
            grid,
            params,
            authority,
            tempdir,
        }
    }
}

/// How many applications an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    pub applications: u64,
}

/// Writes the whole export to `out`. Blocking: run it on a blocking thread.
pub fn write_export<W: Write + Send>(
    db: &Db,
    ctx: &ExportContext,
    out: &mut W,
) -> anyhow::Result<ExportStats> {
    let filter = &ctx.params.filter;
    let pages = rows::Pages::new(db, &ctx.call_id, filter);
    match ctx.params.format {
        ExportFormat::Csv => csv::write(pages, ctx.params.dialect, out),
        ExportFormat::Json => json::write(pages, out),
        ExportFormat::Scdl => scdl::write(pages, &ctx.authority, out),
        ExportFormat::Xlsx => xlsx::write(pages.with_reviews(), &ctx.grid, &ctx.tempdir, out),
    }
}

/// Bytes written by the export thread, sent in 64 KiB pieces through a bounded channel: at
/// most `CHANNEL_DEPTH` pieces wait for the client, so a slow client slows the export down
/// instead of making it buffer.
pub struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

const PIECE: usize = 64 * 1024;
const CHANNEL_DEPTH: usize = 8;

impl ChannelWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE));
        self.tx
            .blocking_send(Ok(Bytes::from(piece)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Sends what is left.
    pub fn finish(mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.send_buffer()?;
        }
        Ok(data.len())
    }

    /// Pieces go out when full or at `finish`; writers that flush often (zip) do not make
    /// them smaller.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Starts the export on a blocking thread and returns the body stream. An error after the
/// first byte ends the stream with an error, so the client sees a broken download, never a
/// silently truncated file.
pub fn stream(db: Db, ctx: ExportContext) -> impl Stream<Item = io::Result<Bytes>> + 'static {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
    let error_tx = tx.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut writer = ChannelWriter {
            tx,
            buf: Vec::with_capacity(PIECE),
        };
        let result = write_export(&db, &ctx, &mut writer)
            .and_then(|stats| writer.finish().map(|_| stats).map_err(Into::into));
        match result {
            Ok(stats) => tracing::info!(
                call_id = %ctx.call_id,
                format = ctx.params.format.as_str(),
                applications = stats.applications,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "export written"
            ),
            Err(_) if error_tx.is_closed() => tracing::info!(
                call_id = %ctx.call_id,
                format = ctx.params.format.as_str(),
                "export abandoned by the client"
            ),
            Err(e) => {
                tracing::error!(call_id = %ctx.call_id, error = ?e, "export failed");
                let _ = error_tx.blocking_send(Err(io::Error::other("export failed")));
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::ExportRow;
    use crate::domain::application_state::ApplicationState;

    pub fn sample_row() -> ExportRow {
        ExportRow {
            id: "id".into(),
            reference: "EA-2026-00001".into(),
            organisation_name: "=HYPERLINK(\"x\")".into(),
            legal_form: Some(crate::domain::application::LegalForm::LocalLawAssociation),
            siret: Some("73282932000074".into()),
            rna: None,
            host_siret: None,
            commune_insee: Some("59009".into()),
            project_title: "Recyclerie; « quartier », \"ouverte\"".into(),
            stage: Some(crate::domain::application::Stage::Startup),
            requested_cents: 2_000_000,
            awarded_cents: Some(1_500_050),
            state: ApplicationState::Accepted,
            eligibility_verdict: Some(crate::domain::eligibility::Verdict::NeedsReview),
            aggregate: crate::domain::scoring::aggregate(&[7667, 8000]),
            review_count: 2,
            favorable_count: 1,
            reserved_count: 1,
            unfavorable_count: 0,
            committee_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 12),
            decision_reference: Some("DEL-2026-12".into()),
            decision_motivation: Some("-10 % du budget".into()),
            submitted_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 5),
            decided_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 13),
            countersigned_on: None,
            instalment_count: 1,
            paid_on: Vec::new(),
            registry: None,
            commune_opinions: vec![(
                "59512".into(),
                crate::domain::commune_opinion::Opinion::Reserved,
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<ExportParams, ServiceError> {
        let qs = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        ExportQuery::from_query_string(&qs)?.parse()
    }

    fn detail(r: Result<ExportParams, ServiceError>) -> String {
        match r {
            Err(ServiceError::BadInput(d)) => d,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_csv_of_every_state_but_draft() {
        let p = query(&[]).unwrap();
        assert_eq!(p.format, ExportFormat::Csv);
        assert_eq!(p.dialect, CsvDialect::Rfc4180);
        assert_eq!(p.filter.states.len(), 7);
        assert!(!p.filter.states.contains(&ApplicationState::Draft));
    }

    #[test]
    fn parameters_are_checked_in_french() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("format", "pdf")], "Format d'export inconnu : « pdf »"),
            (&[("dialect", "excel")], "Dialecte CSV inconnu"),
            (
                &[("format", "xlsx"), ("dialect", "excel-fr")],
                "ne s'applique qu'au format csv",
            ),
            (
                &[("state", "accepted,won")],
                "État inconnu dans « state » : « won »",
            ),
            (
                &[("decided_from", "2026-13-01")],
                "Date invalide pour « decided_from »",
            ),
            (&[("decided_to", "31/12/2026")], "AAAA-MM-JJ"),
            (&[("decided_from", "2026-1-5")], "Date invalide"),
            (
                &[("decided_from", "2026-06-01"), ("decided_to", "2026-05-31")],
                "postérieure",
            ),
            (&[("formt", "csv")], "champ « formt » inconnu"),
            (
                &[("state", "accepted"), ("state", "rejected")],
                "le paramètre « state » est répété",
            ),
            (
                &[("format", "scdl"), ("state", "rejected")],
                "ne contient que les subventions attribuées",
            ),
        ];
        for (pairs, needle) in cases {
            let d = detail(query(pairs));
            assert!(d.contains(needle), "{pairs:?}: {d}");
        }
    }

    #[test]
    fn states_dates_and_formats_parse() {
        let p = query(&[
            ("format", "JSON"),
            ("state", "accepted, rejected,accepted"),
            ("decided_from", "2026-01-01"),
            ("decided_to", "2026-01-01"),
        ])
        .unwrap();
        assert_eq!(p.format, ExportFormat::Json);
        assert_eq!(
            p.filter.states,
            vec![ApplicationState::Accepted, ApplicationState::Rejected]
        );
        assert_eq!(p.filter.decided_from, NaiveDate::from_ymd_opt(2026, 1, 1));
        let p = query(&[("format", "scdl")]).unwrap();
        assert_eq!(p.filter.states, vec![ApplicationState::Accepted]);
        let p = query(&[("format", "csv"), ("dialect", "excel-fr")]).unwrap();
        assert_eq!(p.dialect, CsvDialect::ExcelFr);
    }

    #[test]
    fn file_names_say_what_the_file_holds() {
        let name = |pairs: &[(&str, &str)]| {
            query(pairs)
                .unwrap()
                .file_name("Entreprendre autrement 2026")
        };
        assert_eq!(name(&[]), "entreprendre-autrement-2026-candidatures.csv");
        assert_eq!(
            name(&[("state", "accepted,rejected")]),
            "entreprendre-autrement-2026-decisions.csv"
        );
        assert_eq!(
            name(&[("format", "xlsx"), ("decided_from", "2026-01-01")]),
            "entreprendre-autrement-2026-decisions.xlsx"
        );
        assert_eq!(
            name(&[("format", "scdl")]),
            "entreprendre-autrement-2026-subventions.csv"
        );
        assert_eq!(
            name(&[("format", "json"), ("state", "submitted")]),
            "entreprendre-autrement-2026-candidatures.json"
        );
        assert_eq!(
            name(&[("dialect", "excel-fr")]),
            "entreprendre-autrement-2026-candidatures-excel.csv"
        );
    }

    #[test]
    fn slugs_fold_french_accents() {
        let cases = [
            ("Entreprendre autrement 2026", "entreprendre-autrement-2026"),
            ("Écoles d'été — Lœuilly", "ecoles-d-ete-loeuilly"),
            ("  ", "export"),
            ("Ça / va ?", "ca-va"),
        ];
        for (title, expected) in cases {
            assert_eq!(slug(title), expected);
        }
        assert!(slug(&"a".repeat(200)).len() <= 80);
    }
}
