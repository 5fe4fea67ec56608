//! The documents essor writes itself (DESIGN.md §15): Typst as a library, turning a template of
//! `templates/letters/` and a letter's data into a tagged PDF/UA-1.
//!
//! - The data reach the template as `sys.inputs` (strings, numbers, lists and dictionaries),
//!   never spliced into its source: a project titled `#set page(…)` or `]` prints as text.
//! - The `World` reads nothing but the embedded (or overriding) templates, the embedded fonts
//!   and the authority's logo, all loaded once at start-up; no file system, no package, no
//!   clock (`today` is the letter's issue date, in Paris).
//! - PDF/UA-1 makes Typst refuse a document without a title, a language or alternative texts,
//!   so a template that loses its structure fails instead of issuing an inaccessible letter.
//! - Every template is rendered once at start-up with sample data (`Letters::check`), so a
//!   mistake in an overriding template stops the server with its message, as for the mails.

mod data;
mod world;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use typst::foundations::{Dict, Value};
use typst::layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

pub use self::data::{
    Authority, DecisionLetter, InstalmentLine, RecoveryBlock, SignatureBlock, samples,
};
use self::world::{Fonts, LetterWorld};
use crate::domain::letter::LetterKind;

/// The shared frame (header, addressee, signature) every letter imports.
const FRAME: &str = "frame.typ";

/// Each template, embedded at compile time, by its file name.
const EMBEDDED: &[(&str, &str)] = &[
    (FRAME, include_str!("../../templates/letters/frame.typ")),
    (
        "award.typ",
        include_str!("../../templates/letters/award.typ"),
    ),
    (
        "refusal.typ",
        include_str!("../../templates/letters/refusal.typ"),
    ),
    (
        "ineligibility.typ",
        include_str!("../../templates/letters/ineligibility.typ"),
    ),
    (
        "convention.typ",
        include_str!("../../templates/letters/convention.typ"),
    ),
    (
        "recovery.typ",
        include_str!("../../templates/letters/recovery.typ"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("le modèle de courrier {template} ne se compile pas : {message}")]
    Template { template: String, message: String },
    #[error("le courrier {template} ne peut pas être écrit en PDF/UA-1 : {message}")]
    Pdf { template: String, message: String },
    #[error("aucun modèle de courrier pour « {0} »")]
    NoTemplate(LetterKind),
    #[error("lecture de {path} impossible : {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("données du courrier : {0}")]
    Data(String),
}

/// The letters' writer: fonts, templates and the authority, loaded once; cheap to clone.
#[derive(Clone)]
pub struct Letters {
    inner: Arc<Inner>,
}

struct Inner {
    fonts: Fonts,
    templates: HashMap<String, String>,
    authority: Authority,
    logo: Option<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Letters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letters")
            .field("templates", &self.inner.templates.len())
            .field("authority", &self.inner.authority.name)
            .finish()
    }
}

impl Letters {
    /// The embedded templates, overridden file by file from `templates_dir` when it is set;
    /// the logo read from `logo_path` when set (SVG, PNG or JPEG).
    pub fn new(
        authority: Authority,
        templates_dir: &str,
        logo_path: &str,
    ) -> Result<Self, LetterError> {
        let mut templates: HashMap<String, String> = EMBEDDED
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        if !templates_dir.trim().is_empty() {
            for name in EMBEDDED.iter().map(|(n, _)| *n) {
                let path = Path::new(templates_dir.trim()).join(name);
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        templates.insert(name.to_owned(), text);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(LetterError::Io {
                            path: path.display().to_string(),
                            source,
                        });
                    }
                }
            }
        }
        let logo = match logo_path.trim() {
            "" => None,
            path => {
                let bytes = std::fs::read(path).map_err(|source| LetterError::Io {
                    path: path.to_owned(),
                    source,
                })?;
                let ext = Path::new(path)
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("svg")
                    .to_ascii_lowercase();
                Some((format!("logo.{ext}"), bytes))
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                fonts: Fonts::embedded(),
                templates,
                authority,
                logo,
            }),
        })
    }

    /// The embedded templates and no logo: tests, benchmarks, tools.
    pub fn embedded(authority: Authority) -> Self {
        match Self::new(authority, "", "") {
            Ok(letters) => letters,
            // Reading nothing cannot fail.
            Err(e) => unreachable!("embedded letters: {e}"),
        }
    }

    /// Renders every template once with sample data: a broken override stops the start.
    pub fn check(&self) -> Result<(), LetterError> {
        let at = chrono::DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        for (kind, data) in samples() {
            self.render(kind, &data, at)?;
        }
        Ok(())
    }

    /// The PDF of a letter of `kind` with these data, issued at `issued_at`.
    pub fn render<T: Serialize>(
        &self,
        kind: LetterKind,
        data: &T,
        issued_at: DateTime<Utc>,
    ) -> Result<Vec<u8>, LetterError> {
        let template = template_of(kind).ok_or(LetterError::NoTemplate(kind))?;
        let data = serde_json::to_value(data).map_err(|e| LetterError::Data(e.to_string()))?;
        let authority = serde_json::to_value(&self.inner.authority)
            .map_err(|e| LetterError::Data(e.to_string()))?;
        let mut inputs = Dict::new();
        inputs.insert("data".into(), to_typst(&data));
        let mut authority = to_typst(&authority);
        if let Value::Dict(dict) = &mut authority {
            dict.insert(
                "logo".into(),
                match &self.inner.logo {
                    Some((name, _)) => Value::Str(format!("/{name}").as_str().into()),
                    None => Value::None,
                },
            );
        }
        inputs.insert("authority".into(), authority);
        let world = LetterWorld::new(
            &self.inner.fonts,
            &self.inner.templates,
            self.inner.logo.as_ref(),
            template,
            inputs,
            crate::clock::paris_date(issued_at),
        );
        let compiled = typst::compile::<PagedDocument>(&world);
        let document = compiled.output.map_err(|errors| LetterError::Template {
            template: template.to_owned(),
            message: world.describe(&errors),
        })?;
        let standards = PdfStandards::new(&[PdfStandard::Ua_1]).map_err(|e| LetterError::Pdf {
            template: template.to_owned(),
            message: e.to_string(),
        })?;
        let options = PdfOptions {
            ident: typst::foundations::Smart::Auto,
            timestamp: world::datetime(issued_at).map(Timestamp::new_utc),
            page_ranges: None,
            standards,
            tagged: true,
        };
        let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| LetterError::Pdf {
            template: template.to_owned(),
            message: world.describe(&errors),
        });
        // Typst memoises across compilations; a server renders for months, so what has not
        // been used by the last few letters is let go.
        typst::comemo::evict(10);
        pdf
    }
}

fn template_of(kind: LetterKind) -> Option<&'static str> {
    match kind {
        LetterKind::Award => Some("award.typ"),
        LetterKind::Refusal => Some("refusal.typ"),
        LetterKind::Ineligibility => Some("ineligibility.typ"),
        // One template writes both: the signed one adds the signature page.
        LetterKind::Convention | LetterKind::SignedConvention => Some("convention.typ"),
        LetterKind::Recovery => Some("recovery.typ"),
        // A scanned copy is uploaded, never written.
        LetterKind::CountersignedConvention => None,
    }
}

/// JSON to Typst values: strings stay strings (text, never markup), numbers numbers.
fn to_typst(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::Str(s.as_str().into()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(to_typst).collect()),
        serde_json::Value::Object(map) => {
            let mut dict = Dict::new();
            for (k, v) in map {
                dict.insert(k.as_str().into(), to_typst(v));
            }
            Value::Dict(dict)
        }
    }
}

#[cfg(test)]
mod tests;
