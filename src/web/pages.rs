//! The page templates: minijinja, embedded from `templates/pages/` at compile time and
//! overridable file by file from `web.templates_dir` (as the mail templates are). `.html`
//! templates escape every value; an undefined variable printed, iterated or looked into is an
//! error, not an empty string (`UndefinedBehavior::SemiStrict`).

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Environment, UndefinedBehavior, Value, context};

use crate::config::Settings;
use crate::error::AppError;
use crate::notify::templates::{date_fr, datetime_fr, describe};
use crate::web::assets::Assets;

macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/pages/", $file)))),*]
    };
}

/// Every page template, as shipped.
pub const EMBEDDED: &[(&str, &str)] = embedded!(
    "_layout.html",
    "_forms.html",
    "_instalments.html",
    "_finance_upload.html",
    "_report_summary.html",
    "report.html",
    "_criteria.html",
    "_answers.html",
    "_organisation_facts.html",
    "error.html",
    "home.html",
    "calls.html",
    "call.html",
    "register.html",
    "register_sent.html",
    "verify.html",
    "password_forgotten.html",
    "password_set.html",
    "signin.html",
    "proconnect_refused.html",
    "legal_accessibility.html",
    "legal_privacy.html",
    "legal_notice.html",
    "applications.html",
    "step_organisation.html",
    "step_project.html",
    "step_ess.html",
    "documents.html",
    "eligibility.html",
    "check.html",
    "receipt.html",
    "application.html",
    "withdraw.html",
    "sign_convention.html",
    "bank_details.html",
    "staff_home.html",
    "staff_dashboard.html",
    "staff_applications.html",
    "staff_application.html",
    "staff_grants.html",
    "staff_finance_import.html",
    "_territory_map.html",
    "staff_territory.html",
    "public_projects.html",
    "commune_home.html",
    "commune_application.html",
    "commune_referral.html",
    "registration.html",
    "account.html",
    "account_delete.html",
    "account_deleted.html",
    "calls_form.html",
    "calls_confirm.html",
    "decision_confirm.html",
    "ranking.html",
    "exports.html",
    "outbox.html",
    "reviewer_list.html",
    "reviewer_assignment.html",
    "reviewer_confirm.html",
    "admin_accounts.html",
    "admin_audit.html",
    "tokens.html",
    "apidocs.html",
);

pub struct Pages {
    env: Environment<'static>,
    globals: Value,
    pub assets: Assets,
    pub overridden: Vec<String>,
}

impl Pages {
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let assets = Assets::load(settings)?;
        let mut env = Environment::new();
        // A variable or a field the handler did not give fails the page (a 500 a test sees)
        // when it is printed, iterated or looked into; only a test of truth (`{% if notice %}`,
        // `values[name] or ''`) reads it as false, which is how the forms' macros ask whether a
        // field has a value or an error. `Chainable` rendered a renamed field as a blank.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax.trim_blocks(true).lstrip_blocks(true);
        env.set_syntax(
            syntax
                .build()
                .map_err(|e| anyhow::anyhow!("template syntax: {e}"))?,
        );
        env.add_filter("euros", euros);
        env.add_filter("thousands", |n: i64| thousands(n.unsigned_abs(), n < 0));
        env.add_filter("score_fr", score_fr);
        env.add_filter("of_commune_fr", |name: &str| {
            crate::domain::territory::of_commune(name)
        });
        // A commune's opinion (`favorable`…) in French: « Avis favorable », or the
        // adjective alone with `short=true`.
        env.add_filter("opinion_fr", |code: &str, short: Option<bool>| {
            crate::domain::commune_opinion::Opinion::parse(code).map_or_else(
                || code.to_owned(),
                |o| {
                    if short.unwrap_or(false) {
                        o.short_fr().to_owned()
                    } else {
                        o.label_fr().to_owned()
                    }
                },
            )
        });
        env.add_filter("date_fr", date_filter);
        env.add_filter("datetime_fr", datetime_filter);
        env.add_filter("state_fr", |s: String| {
            s.parse::<crate::domain::application_state::ApplicationState>()
                .map(|st| st.label_fr().to_owned())
                .unwrap_or(s)
        });
        env.add_filter("multiline", |s: String| {
            let escaped = minijinja::HtmlEscape(&s.replace("\r\n", "\n")).to_string();
            Value::from_safe_string(escaped.replace('\n', "<br>\n"))
        });
        let dir = settings.web.templates_dir.trim();
        let dir = (!dir.is_empty()).then(|| Path::new(dir));
        let mut overridden = Vec::new();
        if let Some(dir) = dir {
            for entry in std::fs::read_dir(dir).map_err(|e| {
                anyhow::anyhow!(
                    "web.templates_dir {}: cannot read the directory: {e}",
                    dir.display()
                )
            })? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') && !EMBEDDED.iter().any(|(n, _)| *n == name) {
                    anyhow::bail!(
                        "web.templates_dir {}: unknown page template {name:?}",
                        dir.display()
                    );
                }
            }
        }
        for (name, source) in EMBEDDED {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => {
                    overridden.push((*name).to_owned());
                    std::fs::read_to_string(&path)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                }
                None => (*source).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| anyhow::anyhow!("page template {name}: {}", describe(&e)))?;
        }
        // Our own URLs, free of quotes: kept as they are rather than entity-escaped.
        let url =
            |name: &str| Value::from_safe_string(assets.url(name).unwrap_or_default().to_owned());
        let globals = context! {
            authority => context! {
                name => settings.authority.name.clone(),
                scheme => settings.authority.grant_scheme.clone(),
                logo => url("logo.svg"),
            },
            css => url("essor.css"),
            theme => url("theme.css"),
            js => url("essor.js"),
            max_upload_mb => settings.uploads.max_bytes.div_ceil(1024 * 1024),
            retention => crate::web::ser(&settings.retention),
        };
        Ok(Self {
            env,
            globals,
            assets,
            overridden,
        })
    }

    /// Renders `template` with the site's globals, the request's `base` (user, CSRF token,
    /// path) and the page's own `ctx`.
    pub fn render(&self, template: &str, base: &Value, ctx: Value) -> Result<String, AppError> {
        let full = context! {
            site => self.globals.clone(),
            ..minijinja::value::merge_maps([ctx, base.clone()])
        };
        self.env
            .get_template(template)
            .and_then(|t| t.render(full))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("page {template}: {}", describe(&e))))
    }
}

/// `2000000|euros` → « 20 000 € » (integer cents; cents shown only when there are some).
/// A whole number with its thousands grouped by a narrow no-break space: `238 246`.
fn thousands(n: u64, negative: bool) -> String {
    let digits = n.to_string();
    let mut grouped = String::from(if negative { "-" } else { "" });
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(ch);
    }
    grouped
}

fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let (units, rest) = (c / 100, c % 100);
    let grouped = thousands(units, false);
    if rest == 0 {
        format!("{sign}{grouped}\u{a0}€")
    } else {
        format!("{sign}{grouped},{rest:02}\u{a0}€")
    }
}

fn date_filter(value: String) -> String {
    NaiveDate::parse_from_str(&value, "%Y-%m-%d")
        .map(date_fr)
        .or_else(|_| DateTime::parse_from_rfc3339(&value).map(|d| date_fr(d.date_naive())))
        .unwrap_or(value)
}

fn datetime_filter(value: String) -> String {
    DateTime::parse_from_rfc3339(&value)
        .map(|d| datetime_fr(d.with_timezone(&Utc)))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euros_are_grouped_the_french_way() {
        assert_eq!(euros(2_000_000), "20\u{202f}000\u{a0}€");
        assert_eq!(euros(150), "1,50\u{a0}€");
        assert_eq!(euros(0), "0\u{a0}€");
        assert_eq!(euros(123_456_789), "1\u{202f}234\u{202f}567,89\u{a0}€");
    }

    #[test]
    fn dates_in_paris_time() {
        assert_eq!(
            datetime_filter("2027-01-05T09:00:00+01:00".into()),
            datetime_fr("2027-01-05T08:00:00Z".parse().unwrap())
        );
        assert_eq!(date_filter("2027-03-01".into()), "1er mars 2027");
    }
}

/// A score on 100 the French way, the same on every page (the board, the application page):
/// a decimal comma and at least one decimal, « 76,0 », « 72,5 », « 72,55 » (scores are kept
/// to the hundredth).
pub fn score_fr(score: f64) -> String {
    let mut s = format!("{score:.2}");
    if s.ends_with('0') {
        s.pop();
    }
    s.replace('.', ",")
}

/// Text with its numbers in natural order: « n° 2 » before « n° 10 ».
pub fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = u64::from(c as u8 - b'0');
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n.saturating_mul(10).saturating_add(u64::from(d));
                chars.next();
            }
            key.push((std::mem::take(&mut text), n));
        } else {
            text.extend(c.to_lowercase());
        }
    }
    key.push((text, 0));
    key
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn scores_are_written_the_french_way() {
        for (score, words) in [
            (76.0, "76,0"),
            (72.5, "72,5"),
            (72.55, "72,55"),
            (0.0, "0,0"),
        ] {
            assert_eq!(score_fr(score), words, "{score}");
        }
    }

    #[test]
    fn numbers_sort_naturally() {
        let mut names = vec![
            "Expert n° 10",
            "Expert n° 2",
            "Expert n° 1",
            "Expert n° 12",
            "Expert n° 11",
        ];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(
            names,
            [
                "Expert n° 1",
                "Expert n° 2",
                "Expert n° 10",
                "Expert n° 11",
                "Expert n° 12"
            ]
        );
    }
}
