//! The Typst `World` of one letter: the templates and the logo held in memory, the embedded
//! fonts, the letter's data as `sys.inputs`, its issue date as « today ». Any other path is
//! « not found »: a template cannot read the disk, fetch a package or learn the time.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Dict};
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The fonts of `typst-assets` (Libertinus Serif, New Computer Modern, DejaVu Sans Mono),
/// parsed once. Free fonts, embedded in the binary; not the State's Marianne.
#[derive(Clone)]
pub struct Fonts {
    fonts: Arc<Vec<Font>>,
    book: Arc<LazyHash<FontBook>>,
}

impl Fonts {
    /// Parsed once per process and shared.
    pub fn embedded() -> Self {
        static FONTS: std::sync::OnceLock<Fonts> = std::sync::OnceLock::new();
        FONTS.get_or_init(Self::parse).clone()
    }

    fn parse() -> Self {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        let book = FontBook::from_fonts(&fonts);
        Self {
            fonts: Arc::new(fonts),
            book: Arc::new(LazyHash::new(book)),
        }
    }
}

pub struct LetterWorld<'a> {
    library: LazyHash<Library>,
    fonts: &'a Fonts,
    templates: &'a HashMap<String, String>,
    logo: Option<&'a (String, Vec<u8>)>,
    main: FileId,
    today: NaiveDate,
}

fn id_of(name: &str) -> FileId {
    FileId::new(None, VirtualPath::new(name))
}

impl<'a> LetterWorld<'a> {
    pub fn new(
        fonts: &'a Fonts,
        templates: &'a HashMap<String, String>,
        logo: Option<&'a (String, Vec<u8>)>,
        main: &str,
        inputs: Dict,
        today: NaiveDate,
    ) -> Self {
        Self {
            library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
            fonts,
            templates,
            logo,
            main: id_of(main),
            today,
        }
    }

    /// The diagnostics as one line each, with the template's line where there is one.
    pub fn describe(&self, errors: &[SourceDiagnostic]) -> String {
        errors
            .iter()
            .map(|e| {
                let place = e.span.id().and_then(|id| {
                    let source = self.source(id).ok()?;
                    let range = source.range(e.span)?;
                    let line = source.text()[..range.start].lines().count().max(1);
                    Some(format!(
                        "{}:{line}: ",
                        id.vpath().as_rootless_path().display()
                    ))
                });
                format!("{}{}", place.unwrap_or_default(), e.message)
            })
            .collect::<Vec<_>>()
            .join(" ; ")
    }
}

impl World for LetterWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        let path = id.vpath().as_rootless_path();
        let name = path.to_str().unwrap_or_default();
        match (id.package(), self.templates.get(name)) {
            (None, Some(text)) => Ok(Source::new(id, text.clone())),
            _ => Err(FileError::NotFound(path.to_owned())),
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        let path = id.vpath().as_rootless_path();
        let name = path.to_str().unwrap_or_default();
        match self.logo {
            Some((logo, bytes)) if id.package().is_none() && name == logo => {
                Ok(Bytes::new(bytes.clone()))
            }
            _ => match self.templates.get(name) {
                Some(text) if id.package().is_none() => Ok(Bytes::from_string(text.clone())),
                _ => Err(FileError::NotFound(path.to_owned())),
            },
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        Datetime::from_ymd(
            self.today.year(),
            self.today.month() as u8,
            self.today.day() as u8,
        )
    }
}

/// A UTC instant as Typst's datetime (the PDF's creation date).
pub fn datetime(at: DateTime<Utc>) -> Option<Datetime> {
    Datetime::from_ymd_hms(
        at.year(),
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    )
}
