//! The territory on the pages (DESIGN.md §16): `/gestion/territoire`, the agents' map and
//! table of the 95 communes (any call, any year, those without a single application named
//! first, the table as CSV), and the public `/projets-soutenus`, the projects awarded by
//! commune and year with the same map. The map is an SVG written here from the domain's
//! projected outlines: a link, a `<title>` and a class per commune, a pattern (not only a
//! colour) for the communes with none, a legend, and the table beside it as its text
//! alternative. No JavaScript, no inline style (the CSP forbids them).

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::domain::money::Cents;
use crate::domain::territory_map::{CREDIT, Choropleth, mel_map};
use crate::error::ServiceError;
use crate::input::Paging;
use crate::services::calls;
use crate::services::staff;
use crate::services::territory::{self, TerritoryQuery};
use crate::web::{PageCtx, WebError, ser};

const UUID: &str = "[0-9a-fA-F-]{36}";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/gestion/territoire", web::get().to(staff_page))
        .route("/gestion/territoire.csv", web::get().to(staff_csv))
        .route("/projets-soutenus", web::get().to(public_page))
        .route(
            &format!("/projets-soutenus/appels/{{id:{UUID}}}/subventions.csv"),
            web::get().to(public_scdl),
        );
}

/// A commune on the map.
#[derive(Serialize)]
struct MapCommune {
    insee: String,
    name: String,
    d: String,
    /// `c0`…`c4`, or `zero` (drawn with a pattern).
    class: String,
    href: String,
    /// What the commune's `<title>` says after its name.
    figures: String,
}

#[derive(Serialize)]
struct LegendEntry {
    class: String,
    label: String,
}

#[derive(Serialize)]
struct MapView {
    view_box: String,
    /// What the map shows, as its caption.
    caption: String,
    credit: &'static str,
    communes: Vec<MapCommune>,
    legend: Vec<LegendEntry>,
    /// Where the table (the map's text alternative) is.
    table_id: &'static str,
}

/// One value per commune (by INSEE code) drawn in classes; `figures` for each `<title>`.
fn map_view(
    caption: String,
    zero_label: &str,
    value: impl Fn(&str) -> f64,
    figures: impl Fn(&str) -> String,
    href: impl Fn(&str) -> String,
    format: impl Fn(f64) -> String,
) -> MapView {
    let geometry = mel_map();
    let classes = Choropleth::of(geometry.shapes.iter().map(|s| value(&s.insee)));
    // Fewer classes than colours take the darkest ones: a single class is not near-white.
    let shift = Choropleth::CLASSES - classes.legend().len();
    let communes = geometry
        .shapes
        .iter()
        .map(|s| {
            let v = value(&s.insee);
            MapCommune {
                insee: s.insee.clone(),
                name: s.name.clone(),
                d: s.d.clone(),
                class: classes
                    .class_of(v)
                    .map_or_else(|| "zero".to_owned(), |c| format!("c{}", c + shift)),
                href: href(&s.insee),
                figures: figures(&s.insee),
            }
        })
        .collect();
    let mut legend = vec![LegendEntry {
        class: "zero".into(),
        label: zero_label.to_owned(),
    }];
    for (i, (lo, hi)) in classes.legend().into_iter().enumerate() {
        let label = if lo == hi {
            format(lo)
        } else {
            format!("{} à {}", format(lo), format(hi))
        };
        legend.push(LegendEntry {
            class: format!("c{}", i + shift),
            label,
        });
    }
    MapView {
        view_box: geometry.view_box(),
        caption,
        credit: CREDIT,
        communes,
        legend,
        table_id: "tableau",
    }
}

/// A decimal the French way: `1,5`; whole numbers without decimals.
fn decimal_fr(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}").replace('.', ",")
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n > 1 {
        format!("{n} {many}")
    } else {
        format!("{n} {one}")
    }
}

#[derive(Deserialize, Default)]
struct StaffFilter {
    appel: Option<String>,
    annee: Option<String>,
}

impl StaffFilter {
    /// The filter as the service takes it; a value that cannot be one is named.
    fn query(&self) -> Result<TerritoryQuery, ServiceError> {
        // A call id that cannot be one is an unknown call on a page (a link typed wrong).
        let call_id = territory::parse_call_id(self.appel.as_deref()).map_err(|_| {
            ServiceError::not_found("Cet appel à projets n'existe pas ou n'est pas publié.")
        })?;
        let year = territory::parse_year(self.annee.as_deref(), "annee")?;
        Ok(TerritoryQuery { call_id, year })
    }
}

#[derive(Serialize)]
struct CallOption {
    id: String,
    title: String,
}

#[derive(Serialize)]
struct TableRow {
    insee: String,
    name: String,
    population: u32,
    applications: i64,
    eligible: i64,
    awarded: i64,
    awarded_cents: Cents,
    per_10k: String,
    referrals: i64,
    referred_applications: i64,
}

#[derive(Serialize)]
struct StaffView {
    calls: Vec<CallOption>,
    call_id: Option<String>,
    call_title: Option<String>,
    years: Vec<i32>,
    year: Option<i32>,
    /// The communes where not a single application was submitted, by name.
    without: Vec<String>,
    rows: Vec<TableRow>,
    totals: crate::domain::territory::TerritoryTotals,
    map: MapView,
    csv_href: String,
    source: String,
}

async fn staff_page(
    ctx: PageCtx,
    filter: web::Query<StaffFilter>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let query = filter.query()?;
    let calls = calls::list(
        &ctx.state,
        true,
        None,
        Paging {
            page: 1,
            per_page: 100,
        },
    )
    .await?
    .items;
    let stats = territory::statistics(&ctx.state, &user, query.clone()).await?;
    let this_year = {
        use chrono::Datelike;
        ctx.state.clock.paris_today().year()
    };
    let mut years: Vec<i32> = (2021..=this_year).rev().collect();
    if let Some(y) = query.year
        && !years.contains(&y)
    {
        years.push(y);
    }
    let mut rows: Vec<TableRow> = stats
        .communes
        .iter()
        .map(|c| TableRow {
            insee: c.insee.clone(),
            name: c.name.clone(),
            population: c.population,
            applications: c.applications,
            eligible: c.eligible,
            awarded: c.awarded,
            awarded_cents: c.awarded_cents,
            per_10k: c.per_10k_inhabitants.map(decimal_fr).unwrap_or_default(),
            referrals: c.referrals,
            referred_applications: c.referred_applications,
        })
        .collect();
    // Those without a single application first (the roadmap's « meilleure répartition
    // géographique »), then by name.
    rows.sort_by(|a, b| {
        (a.applications > 0)
            .cmp(&(b.applications > 0))
            .then_with(|| {
                crate::domain::search::fold(&a.name).cmp(&crate::domain::search::fold(&b.name))
            })
    });
    let without: Vec<String> = rows
        .iter()
        .filter(|r| r.applications == 0)
        .map(|r| r.name.clone())
        .collect();
    let by_insee = |insee: &str| stats.communes.iter().find(|c| c.insee == insee);
    let map = map_view(
        "Candidatures déposées pour 10\u{a0}000 habitants, par commune d'activité".into(),
        "aucune candidature",
        |insee| {
            by_insee(insee)
                .and_then(|c| c.per_10k_inhabitants)
                .unwrap_or(0.0)
        },
        |insee| match by_insee(insee) {
            Some(c) if c.applications > 0 => format!(
                "{}, {} pour 10\u{a0}000 habitants, {}, {}",
                plural(c.applications, "candidature", "candidatures"),
                c.per_10k_inhabitants.map(decimal_fr).unwrap_or_default(),
                plural(c.eligible, "éligible", "éligibles"),
                plural(c.awarded, "lauréate", "lauréates"),
            ),
            _ => "aucune candidature".into(),
        },
        |insee| format!("#commune-{insee}"),
        decimal_fr,
    );
    let mut csv_href = "/gestion/territoire.csv".to_owned();
    let mut params = Vec::new();
    if let Some(id) = &query.call_id {
        params.push(format!("appel={id}"));
    }
    if let Some(y) = query.year {
        params.push(format!("annee={y}"));
    }
    if !params.is_empty() {
        csv_href = format!("{csv_href}?{}", params.join("&"));
    }
    let call_title = query.call_id.as_ref().and_then(|id| {
        calls
            .iter()
            .find(|c| c.id.as_str() == id)
            .map(|c| c.title.clone())
    });
    let view = StaffView {
        calls: calls
            .into_iter()
            .map(|c| CallOption {
                id: c.id.to_string(),
                title: c.title,
            })
            .collect(),
        call_id: query.call_id,
        call_title,
        years,
        year: query.year,
        without,
        rows,
        totals: stats.totals,
        map,
        csv_href,
        source: stats.source,
    };
    ctx.render("staff_territory.html", ser(&view))
}

async fn staff_csv(
    ctx: PageCtx,
    filter: web::Query<StaffFilter>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let (name, bytes) = territory::statistics_csv(&ctx.state, &user, filter.query()?).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}

#[derive(Deserialize, Default)]
struct PublicFilter {
    annee: Option<String>,
}

#[derive(Serialize)]
struct PublicCommune {
    insee: String,
    name: String,
    projects: Vec<territory::SupportedProject>,
    project_count: usize,
    /// Projects not listed (the SCDL file has them).
    more: usize,
    awarded_cents: Cents,
}

#[derive(Serialize)]
struct ScdlLink {
    href: String,
    title: String,
}

#[derive(Serialize)]
struct PublicView {
    year: i32,
    years: Vec<i32>,
    project_count: usize,
    awarded_cents: Cents,
    commune_count: usize,
    communes: Vec<PublicCommune>,
    map: MapView,
    scdl: Vec<ScdlLink>,
}

async fn public_page(
    ctx: PageCtx,
    filter: web::Query<PublicFilter>,
) -> Result<HttpResponse, WebError> {
    let year = territory::parse_year(filter.annee.as_deref(), "annee")?;
    let supported = territory::supported_projects(&ctx.state, year).await?;
    let count = |insee: &str| {
        supported
            .communes
            .iter()
            .find(|c| c.insee == insee)
            .map_or(0, |c| c.project_count as i64)
    };
    let map = map_view(
        format!(
            "Projets soutenus en {}, par commune d'activité",
            supported.year
        ),
        "aucun projet",
        |insee| count(insee) as f64,
        |insee| match count(insee) {
            0 => "aucun projet soutenu".into(),
            n => plural(n, "projet soutenu", "projets soutenus"),
        },
        |insee| format!("#commune-{insee}"),
        decimal_fr,
    );
    let mut calls_seen: Vec<ScdlLink> = Vec::new();
    let communes: Vec<PublicCommune> = supported
        .communes
        .into_iter()
        .filter(|c| c.project_count > 0)
        .map(|c| PublicCommune {
            insee: c.insee,
            name: c.name,
            more: c.project_count - c.projects.len(),
            project_count: c.project_count,
            projects: c.projects,
            awarded_cents: c.awarded_cents,
        })
        .collect();
    for p in communes.iter().flat_map(|c| &c.projects) {
        if !calls_seen.iter().any(|l| l.title == p.call_title) {
            calls_seen.push(ScdlLink {
                href: format!("/projets-soutenus/appels/{}/subventions.csv", p.call_id),
                title: p.call_title.clone(),
            });
        }
    }
    let view = PublicView {
        year: supported.year,
        years: supported.years,
        project_count: supported.project_count,
        awarded_cents: supported.awarded_cents,
        commune_count: communes.len(),
        communes,
        map,
        scdl: calls_seen,
    };
    ctx.render("public_projects.html", ser(&view))
}

/// The SCDL file of a call, for anyone: what essor publishes as open data.
async fn public_scdl(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let (name, stream) =
        territory::public_scdl(&ctx.state, crate::services::calls::id(&id)?).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .streaming(stream))
}
