//! Local stand-ins for the State's services (DESIGN.md §17), real HTTP servers on random
//! ports: the companies' register answering as the API Recherche d'entreprises documents its
//! `/search` (an ESS association, an active cooperative, a closed company, a non-diffusible
//! unit, a 429, a timeout, a 500, garbage), and data.gouv.fr's resource upload, recording
//! what it received.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// An ESS association in Villeneuve-d'Ascq (9220, `est_ess`).
pub const ASSOCIATION: &str = "51020304000017";
/// An active SCOP in Lille (5458).
pub const COOPERATIVE: &str = "51020305000016";
/// A closed SAS in Paris, not ESS (5710, `etat_administratif` « C »).
pub const CLOSED: &str = "51020306000015";
/// A unit that asked the INSEE not to publish it.
pub const HIDDEN: &str = "51020307000014";
/// Always answered 429 with `Retry-After: 30`.
pub const THROTTLED: &str = "51020308000013";
/// Answered after 5 s, past essor's timeout.
pub const SLOW: &str = "51020309000012";
/// Answered 500.
pub const BROKEN: &str = "51020310000019";
/// Answered 200 with HTML.
pub const GARBAGE: &str = "51020311000018";

#[derive(Default)]
pub struct RegisterLog {
    /// Requests by SIRET searched.
    pub searches: HashMap<String, usize>,
    pub user_agents: Vec<String>,
}

pub struct FakeRegister {
    pub url: String,
    pub log: Arc<Mutex<RegisterLog>>,
    /// While set, every search is answered 503.
    pub down: Arc<AtomicBool>,
}

impl FakeRegister {
    pub fn searches(&self, siret: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .searches
            .get(siret)
            .copied()
            .unwrap_or(0)
    }
}

fn establishment(siret: &str, state: &str, insee: &str, commune: &str, postal: &str) -> Value {
    json!({
        "siret": siret, "est_siege": true, "etat_administratif": state, "activite_principale": "88.99B",
        "commune": insee, "libelle_commune": commune, "code_postal": postal,
        "numero_voie": "12", "indice_repetition": null, "type_voie": "RUE", "libelle_voie": "DE LANNOY",
        "adresse": format!("12 RUE DE LANNOY {postal} {commune}"),
        "date_creation": "2019-03-01", "latitude": "50.62", "longitude": "3.13"
    })
}

fn unit(siret: &str) -> Option<Value> {
    let siren = &siret[..9];
    let (name, nature, state, est_ess, est_association, rna, diffusion, siege) = match siret {
        ASSOCIATION => (
            "LES ATELIERS DU SART",
            "9220",
            "A",
            true,
            true,
            Some("W595012345"),
            "O",
            establishment(siret, "A", "59009", "VILLENEUVE-D'ASCQ", "59650"),
        ),
        COOPERATIVE => (
            "SCOP LE MAILLON",
            "5458",
            "A",
            true,
            false,
            None,
            "O",
            establishment(siret, "A", "59350", "LILLE", "59000"),
        ),
        CLOSED => (
            "ANCIENNE SAS",
            "5710",
            "C",
            false,
            false,
            None,
            "O",
            establishment(siret, "F", "75056", "PARIS", "75011"),
        ),
        HIDDEN => (
            "[NON-DIFFUSIBLE]",
            "9220",
            "A",
            true,
            true,
            None,
            "P",
            json!({"siret": siret, "etat_administratif": "A", "commune": "59512", "libelle_commune": "[NON-DIFFUSIBLE]", "code_postal": "[ND]"}),
        ),
        _ => return None,
    };
    Some(json!({
        "siren": siren, "nom_complet": name, "nom_raison_sociale": name, "sigle": null,
        "nombre_etablissements": 1, "nombre_etablissements_ouverts": if state == "A" { 1 } else { 0 },
        "siege": siege, "matching_etablissements": [siege],
        "activite_principale": "88.99B", "categorie_entreprise": "PME", "date_creation": "2019-03-01",
        "date_mise_a_jour": "2026-11-30T10:00:00", "dirigeants": [], "etat_administratif": state,
        "nature_juridique": nature, "section_activite_principale": "Q", "statut_diffusion": diffusion,
        "complements": {
            "est_ess": est_ess, "est_association": est_association, "identifiant_association": rna,
            "est_entrepreneur_individuel": false, "est_siae": false, "collectivite_territoriale": null
        }
    }))
}

async fn search(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    log: web::Data<Arc<Mutex<RegisterLog>>>,
    down: web::Data<Arc<AtomicBool>>,
) -> HttpResponse {
    let q = query.get("q").cloned().unwrap_or_default();
    {
        let mut log = log.lock().unwrap();
        *log.searches.entry(q.clone()).or_default() += 1;
        if let Some(ua) = req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
        {
            log.user_agents.push(ua.to_owned());
        }
    }
    if down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().body("maintenance");
    }
    match q.as_str() {
        THROTTLED => {
            return HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", "30"))
                .json(json!({"erreur": "Trop de requêtes"}));
        }
        SLOW => {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        BROKEN => return HttpResponse::InternalServerError().json(json!({"erreur": "boom"})),
        GARBAGE => {
            return HttpResponse::Ok()
                .content_type("text/html")
                .body("<html>oops</html>");
        }
        _ => {}
    }
    let results: Vec<Value> = unit(&q).into_iter().collect();
    let total = results.len();
    HttpResponse::Ok().json(json!({
        "results": results, "total_results": total, "page": 1, "per_page": 5,
        "total_pages": if total == 0 { 0 } else { 1 }
    }))
}

pub async fn register() -> FakeRegister {
    let log = Arc::new(Mutex::new(RegisterLog::default()));
    let down = Arc::new(AtomicBool::new(false));
    let (l, d) = (log.clone(), down.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(l.clone()))
            .app_data(web::Data::new(d.clone()))
            .route("/search", web::get().to(search))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("fake register binds");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    FakeRegister {
        url: format!("http://127.0.0.1:{port}"),
        log,
        down,
    }
}

/// The settings that point essor at a fake register (a short timeout: the slow answer
/// takes 5 s).
pub fn register_settings(fake: &FakeRegister) -> Vec<(&'static str, String)> {
    vec![
        ("APP__REGISTRY__BASE_URL", fake.url.clone()),
        ("APP__REGISTRY__TIMEOUT_MS", "1000".into()),
    ]
}

pub const DATA_GOUV_KEY: &str = "cle-de-test-data-gouv";
pub const DATASET: &str = "5f3c0aa1e4b0f1d2c3b4a5e6";
pub const RESOURCE: &str = "8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// One upload data.gouv.fr received.
#[derive(Debug, Clone)]
pub struct Upload {
    pub path: String,
    pub api_key: Option<String>,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

pub struct FakeDataGouv {
    /// The API's base (`…/api/1`).
    pub url: String,
    pub uploads: Arc<Mutex<Vec<Upload>>>,
    /// While set, every upload is answered 500.
    pub down: Arc<AtomicBool>,
}

async fn upload(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    mut payload: actix_multipart::Multipart,
    uploads: web::Data<Arc<Mutex<Vec<Upload>>>>,
    down: web::Data<Arc<AtomicBool>>,
) -> HttpResponse {
    let (dataset, resource) = path.into_inner();
    let api_key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut file_name = None;
    let mut bytes = Vec::new();
    while let Some(Ok(mut field)) = payload.next().await {
        if field.name() == Some("file") {
            file_name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_owned);
            while let Some(Ok(chunk)) = field.next().await {
                bytes.extend_from_slice(&chunk);
            }
        }
    }
    uploads.lock().unwrap().push(Upload {
        path: req.path().to_owned(),
        api_key: api_key.clone(),
        file_name: file_name.clone(),
        bytes,
    });
    if down.load(Ordering::SeqCst) {
        return HttpResponse::InternalServerError()
            .json(json!({"message": "Internal Server Error"}));
    }
    if api_key.as_deref() != Some(DATA_GOUV_KEY) {
        return HttpResponse::Unauthorized().json(json!({"message": "Invalid API Key"}));
    }
    if dataset != DATASET || resource != RESOURCE {
        return HttpResponse::NotFound().json(json!({"message": "Not found"}));
    }
    HttpResponse::Ok().json(json!({
        "id": RESOURCE, "title": file_name, "filetype": "file", "format": "csv",
        "url": format!("https://static.data.gouv.fr/resources/subventions-mel/{}", file_name.unwrap_or_default()),
        "last_modified": "2026-12-07T10:00:00"
    }))
}

pub async fn data_gouv() -> FakeDataGouv {
    let uploads = Arc::new(Mutex::new(Vec::new()));
    let down = Arc::new(AtomicBool::new(false));
    let (u, d) = (uploads.clone(), down.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(u.clone()))
            .app_data(web::Data::new(d.clone()))
            .route(
                "/api/1/datasets/{dataset}/resources/{resource}/upload/",
                web::post().to(upload),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("fake data.gouv.fr binds");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    FakeDataGouv {
        url: format!("http://127.0.0.1:{port}/api/1"),
        uploads,
        down,
    }
}

pub fn data_gouv_settings(fake: &FakeDataGouv) -> Vec<(&'static str, String)> {
    vec![
        ("APP__OPEN_DATA__API_URL", fake.url.clone()),
        ("APP__OPEN_DATA__API_KEY", DATA_GOUV_KEY.into()),
        ("APP__OPEN_DATA__DATASET_ID", DATASET.into()),
        ("APP__OPEN_DATA__RESOURCE_ID", RESOURCE.into()),
    ]
}
