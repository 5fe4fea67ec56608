//! The criteria of DESIGN.md §8, one function each, listed in [`CRITERIA`] in report order.
//!
//! Each function reads a [`Context`] and returns an outcome with a French detail that tells the
//! applicant what to change, or what the staff will check. A criterion that does not apply
//! is `not_applicable`, with a detail that starts « Sans objet : » and says why.

use chrono::NaiveDate;

use crate::domain::application::{
    ApplicationBody, Esus, InsertionStructure, LegalForm, OrganisationStatus, SocialUtility, Stage,
};
use crate::domain::identifiers::{IdentifierError, Rna, Siret};
use crate::domain::money::Cents;
use crate::domain::territory::{canonical_commune, commune_name, is_in_territory};

use super::rules::ESUS_MIN_AGE_YEARS;
use super::{CallRules, Outcome, age::whole_years};

/// ESS-3: strictly more than this share of profits is reinvested in the activity.
const REINVESTED_PROFIT_ABOVE_PCT: u8 = 50;
/// ESS-7: at least this share of profits goes to a development fund.
const DEVELOPMENT_FUND_MIN_PCT: u8 = 20;
/// ESS-7: at least this share goes to retained earnings and compulsory reserves.
const RETAINED_EARNINGS_MIN_PCT: u8 = 50;
/// ESUS-2: mean pay of the five best paid, as a multiple of the SMIC.
const ESUS_TOP5_AVG_MAX_SMIC: f64 = 7.0;
/// ESUS-2: highest pay, as a multiple of the SMIC.
const ESUS_TOP_PAY_MAX_SMIC: f64 = 10.0;

/// Code, French label and legal basis of a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CriterionDefinition {
    pub code: &'static str,
    pub label: &'static str,
    pub legal_basis: &'static str,
}

/// Everything a criterion may look at.
pub(super) struct Context<'a> {
    body: &'a ApplicationBody,
    call: &'a CallRules<'a>,
    filing_date: NaiveDate,
    /// Whole years from `created_on` to the filing date (0 for a structure in creation).
    age_years: i32,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        body: &'a ApplicationBody,
        call: &'a CallRules<'a>,
        filing_date: NaiveDate,
    ) -> Self {
        Self {
            body,
            call,
            filing_date,
            age_years: body
                .organisation
                .created_on
                .map_or(0, |d| whole_years(d, filing_date)),
        }
    }

    /// No statutes yet: the criteria that read them say « à vérifier » (§16).
    pub(super) fn in_creation(&self) -> bool {
        self.body.organisation.status == OrganisationStatus::InCreation
    }

    fn form(&self) -> LegalForm {
        self.body.organisation.legal_form
    }

    fn by_right(&self) -> bool {
        self.form().is_ess_by_right()
    }

    fn commercial(&self) -> bool {
        self.form() == LegalForm::CommercialCompany
    }

    /// ESUS-1 applies: a commercial company of at least 3 whole years asking for development
    /// support.
    fn esus_required(&self) -> bool {
        self.commercial()
            && self.age_years >= ESUS_MIN_AGE_YEARS
            && self.body.project.stage == Stage::Development
    }
}

/// The result of one criterion.
pub(super) struct Check {
    pub(super) outcome: Outcome,
    pub(super) detail: String,
}

fn pass(detail: impl Into<String>) -> Check {
    Check {
        outcome: Outcome::Pass,
        detail: detail.into(),
    }
}

fn not_applicable(detail: impl Into<String>) -> Check {
    Check {
        outcome: Outcome::NotApplicable,
        detail: detail.into(),
    }
}

fn fail(detail: impl Into<String>) -> Check {
    Check {
        outcome: Outcome::Fail,
        detail: detail.into(),
    }
}

fn review(detail: impl Into<String>) -> Check {
    Check {
        outcome: Outcome::Review,
        detail: detail.into(),
    }
}

type Rule = fn(&Context) -> Check;

const fn def(
    code: &'static str,
    label: &'static str,
    legal_basis: &'static str,
) -> CriterionDefinition {
    CriterionDefinition {
        code,
        label,
        legal_basis,
    }
}

pub(super) const CALL_RULES: &str = "Règlement de l'appel à projets";

/// Every criterion, in report order, with the function that evaluates it.
pub(super) const CRITERIA: &[(CriterionDefinition, Rule)] = &[
    (
        def(
            "ESS-1",
            "But poursuivi autre que le seul partage des bénéfices",
            "Loi n° 2014-856, art. 1, I, 1°",
        ),
        ess_1,
    ),
    (
        def(
            "ESS-2",
            "Gouvernance démocratique définie par les statuts",
            "Loi n° 2014-856, art. 1, I, 2°",
        ),
        ess_2,
    ),
    (
        def(
            "ESS-3",
            "Bénéfices majoritairement consacrés au maintien ou au développement de l'activité",
            "Loi n° 2014-856, art. 1, I, 3° a",
        ),
        ess_3,
    ),
    (
        def(
            "ESS-4",
            "Réserves obligatoires impartageables et non distribuables",
            "Loi n° 2014-856, art. 1, I, 3° b",
        ),
        ess_4,
    ),
    (
        def(
            "ESS-5",
            "Forme juridique relevant de l'économie sociale et solidaire",
            "Loi n° 2014-856, art. 1, II",
        ),
        ess_5,
    ),
    (
        def(
            "ESS-6",
            "Société commerciale : recherche d'une utilité sociale",
            "Loi n° 2014-856, art. 1, II, 2° b; art. 2",
        ),
        ess_6,
    ),
    (
        def(
            "ESS-7",
            "Société commerciale : affectation des bénéfices au fonds de développement et aux réserves",
            "Loi n° 2014-856, art. 1, II, 2° c",
        ),
        ess_7,
    ),
    (
        def(
            "ESS-8",
            "Société commerciale : pas d'amortissement ni de réduction du capital non motivée par des pertes",
            "Loi n° 2014-856, art. 1, II, 2° c",
        ),
        ess_8,
    ),
    (
        def(
            "ESS-9",
            "Société commerciale : immatriculation au RCS avec la mention « économie sociale et solidaire »",
            "Loi n° 2014-856, art. 1, III",
        ),
        ess_9,
    ),
    (
        def(
            "ESUS-1",
            "Agrément « entreprise solidaire d'utilité sociale » (ESUS)",
            "Règlement de l'appel à projets; code du travail L. 3332-17-1",
        ),
        esus_1,
    ),
    (
        def(
            "ESUS-2",
            "Agrément ESUS : encadrement des rémunérations",
            "Code du travail L. 3332-17-1, I, 3°",
        ),
        esus_2,
    ),
    (
        def(
            "MEL-1",
            "Existence légale de la structure à la date de dépôt",
            CALL_RULES,
        ),
        mel_1,
    ),
    (
        def(
            "MEL-2",
            "Activité sur le territoire de l'appel à projets",
            CALL_RULES,
        ),
        mel_2,
    ),
    (
        def(
            "MEL-3",
            "Montant demandé dans le plafond de l'appel",
            CALL_RULES,
        ),
        mel_3,
    ),
    (
        def(
            "MEL-4",
            "Part de la subvention dans le budget du projet",
            CALL_RULES,
        ),
        mel_4,
    ),
    (
        def(
            "MEL-5",
            "Phase du projet (démarrage ou développement) adaptée à l'âge de la structure",
            CALL_RULES,
        ),
        mel_5,
    ),
    (
        def(
            "MEL-6",
            "Structures exclues de l'appel (chantiers d'insertion, procédures collectives)",
            CALL_RULES,
        ),
        mel_6,
    ),
];

/// Code, label and legal basis of every criterion, in report order (for documentation and
/// for callers that list the criteria without evaluating them).
pub const CRITERION_DEFINITIONS: [CriterionDefinition; 17] = {
    let mut out = [def("", "", ""); 17];
    let mut i = 0;
    while i < CRITERIA.len() {
        out[i] = CRITERIA[i].0;
        i += 1;
    }
    out
};

// ---------------------------------------------------------------------------------------------
// French formatting helpers.

/// `20 000,00 €`, written by [`Cents::to_fr_string`] (no-break spaces). `Cents` holds no
/// negative amount; a negative one (a request not yet validated) gets a leading minus sign.
fn euros_fr(cents: i64) -> String {
    match Cents::new(cents) {
        Ok(c) => c.to_fr_string(),
        Err(_) => {
            let abs = Cents::new(cents.saturating_neg()).unwrap_or(Cents::ZERO);
            format!("-{}", abs.to_fr_string())
        }
    }
}

/// `15/06/2026`.
fn date_fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// `7,01`.
fn ratio_fr(x: f64) -> String {
    format!("{x}").replace('.', ",")
}

/// `1 an`, `3 ans`.
fn years_fr(n: i64) -> String {
    if n.abs() < 2 {
        format!("{n} an")
    } else {
        format!("{n} ans")
    }
}

fn pct_fr(p: Option<u8>) -> String {
    match p {
        Some(p) => format!("{p} %"),
        None => "non renseigné".to_owned(),
    }
}

fn social_utility_fr(s: SocialUtility) -> String {
    format!("{} ({})", s.label_fr(), s.article())
}

fn by_right_detail(ctx: &Context) -> String {
    format!(
        "Satisfait de droit : une {} relève de l'économie sociale et solidaire par son statut (loi n° 2014-856, art. 1, II, 1°).",
        ctx.form().label_fr()
    )
}

const NOT_COMMERCIAL: &str = "Sans objet : ce critère ne concerne que les sociétés commerciales (loi n° 2014-856, art. 1, II, 2°).";

// ---------------------------------------------------------------------------------------------
// ESS: loi n° 2014-856, art. 1.

fn ess_1(ctx: &Context) -> Check {
    if ctx.body.ess.purpose_beyond_profit {
        pass("La structure déclare poursuivre un but autre que le seul partage des bénéfices.")
    } else {
        fail(
            "Les statuts doivent prévoir un but poursuivi autre que le seul partage des bénéfices : \
             modifiez les statuts, puis cochez cet engagement.",
        )
    }
}

fn ess_2(ctx: &Context) -> Check {
    if !ctx.body.ess.democratic_governance {
        fail(
            "Les statuts doivent prévoir une gouvernance démocratique : l'information et la \
             participation des associés, des salariés et des parties prenantes aux réalisations \
             de la structure, sans qu'elle soit liée au seul apport en capital.",
        )
    } else if ctx.by_right() {
        pass(format!(
            "Une {} relève de droit de l'économie sociale et solidaire et déclare une gouvernance démocratique.",
            ctx.form().label_fr()
        ))
    } else {
        review(
            "Le service instructeur vérifiera dans les statuts que la gouvernance démocratique \
             déclarée y est bien définie (information et participation des associés, des \
             salariés et des parties prenantes, non liée au seul apport en capital).",
        )
    }
}

fn ess_3(ctx: &Context) -> Check {
    if ctx.by_right() {
        return pass(by_right_detail(ctx));
    }
    match ctx.body.ess.reinvested_profit_pct {
        Some(p) if p > REINVESTED_PROFIT_ABOVE_PCT => pass(format!(
            "{p} % des bénéfices sont consacrés au maintien ou au développement de l'activité (plus de 50 % requis)."
        )),
        Some(p) => fail(format!(
            "Les statuts doivent consacrer plus de 50 % des bénéfices au maintien ou au développement de l'activité ; la part déclarée est de {p} %."
        )),
        None => review(
            "Part des bénéfices consacrée au maintien ou au développement de l'activité non \
             renseignée : indiquez-la ; à défaut, le service instructeur vérifiera dans les \
             statuts qu'elle dépasse 50 %.",
        ),
    }
}

fn ess_4(ctx: &Context) -> Check {
    if ctx.by_right() {
        pass(by_right_detail(ctx))
    } else if ctx.body.ess.impartible_reserves {
        review(
            "Le service instructeur vérifiera dans les statuts que les réserves obligatoires \
             constituées sont impartageables et ne peuvent pas être distribuées.",
        )
    } else {
        fail(
            "Les statuts doivent prévoir que les réserves obligatoires sont impartageables et \
             ne peuvent pas être distribuées.",
        )
    }
}

fn ess_5(ctx: &Context) -> Check {
    let form = ctx.form();
    if form.is_ess_by_right() {
        pass(format!(
            "Une {} relève de droit de l'économie sociale et solidaire (loi n° 2014-856, art. 1, II, 1°).",
            form.label_fr()
        ))
    } else if ctx.commercial() {
        pass(
            "Une société commerciale peut relever de l'économie sociale et solidaire si elle \
             remplit les conditions de l'article 1, II, 2° de la loi : les critères ESS-6 à \
             ESS-9 s'appliquent.",
        )
    } else {
        fail(format!(
            "La forme juridique déclarée ({}) ne permet pas de relever de l'économie sociale et \
             solidaire : seules les associations, fondations, mutuelles, coopératives et les \
             sociétés commerciales qui remplissent les conditions de la loi (art. 1, II) le \
             peuvent. Une entreprise individuelle doit d'abord se constituer sous l'une de ces \
             formes.",
            form.label_fr()
        ))
    }
}

fn ess_6(ctx: &Context) -> Check {
    if !ctx.commercial() {
        return not_applicable(NOT_COMMERCIAL);
    }
    let objectives = &ctx.body.ess.social_utility;
    if objectives.is_empty() {
        fail(
            "Une société commerciale doit rechercher à titre principal une utilité sociale \
             (loi n° 2014-856, art. 2) : déclarez au moins un des quatre objectifs (personnes \
             fragiles, lien social, éducation à la citoyenneté, développement durable) et \
             inscrivez-le dans l'objet social des statuts.",
        )
    } else {
        let list: Vec<String> = objectives.iter().map(|s| social_utility_fr(*s)).collect();
        review(format!(
            "Objectif(s) d'utilité sociale déclaré(s) : {}. Le service instructeur vérifiera, \
             dans les statuts et la présentation de l'utilité sociale, que l'objet social \
             répond à titre principal à ce ou ces objectifs.",
            list.join(" ; ")
        ))
    }
}

fn ess_7(ctx: &Context) -> Check {
    if !ctx.commercial() {
        return not_applicable(NOT_COMMERCIAL);
    }
    let dev = ctx.body.ess.development_fund_pct;
    let ret = ctx.body.ess.retained_earnings_and_reserves_pct;
    let dev_low = dev.is_some_and(|d| d < DEVELOPMENT_FUND_MIN_PCT);
    let ret_low = ret.is_some_and(|r| r < RETAINED_EARNINGS_MIN_PCT);
    let declared = format!(
        "fonds de développement : {} ; report bénéficiaire et réserves obligatoires : {}",
        pct_fr(dev),
        pct_fr(ret)
    );
    if dev_low || ret_low {
        fail(format!(
            "Les statuts doivent affecter au moins 20 % des bénéfices à un fonds de \
             développement et au moins 50 % au report bénéficiaire et aux réserves \
             obligatoires ({declared})."
        ))
    } else if dev.is_none() || ret.is_none() {
        review(format!(
            "Affectation des bénéfices incomplète ({declared}) : indiquez les deux parts ; à \
             défaut, le service instructeur vérifiera dans les statuts qu'au moins 20 % vont à \
             un fonds de développement et au moins 50 % au report bénéficiaire et aux réserves \
             obligatoires."
        ))
    } else {
        pass(format!(
            "Affectation des bénéfices conforme ({declared} ; minimum 20 % et 50 %)."
        ))
    }
}

fn ess_8(ctx: &Context) -> Check {
    if !ctx.commercial() {
        not_applicable(NOT_COMMERCIAL)
    } else if ctx.body.ess.no_capital_amortization {
        pass(
            "La société déclare que ses statuts interdisent l'amortissement du capital et toute \
             réduction du capital non motivée par des pertes.",
        )
    } else {
        fail(
            "Les statuts doivent interdire l'amortissement du capital et toute réduction du \
             capital non motivée par des pertes.",
        )
    }
}

fn ess_9(ctx: &Context) -> Check {
    if !ctx.commercial() {
        not_applicable(NOT_COMMERCIAL)
    } else if ctx.body.organisation.rcs_ess_mention {
        pass(
            "La société déclare être immatriculée au registre du commerce et des sociétés avec \
             la mention « économie sociale et solidaire ».",
        )
    } else {
        review(
            "Mention « économie sociale et solidaire » au RCS non déclarée : demandez-la au \
             greffe du tribunal de commerce ; le service instructeur vérifiera l'extrait Kbis.",
        )
    }
}

// ---------------------------------------------------------------------------------------------
// ESUS: code du travail, art. L. 3332-17-1.

fn esus_not_required_reason(ctx: &Context) -> String {
    let why = if !ctx.commercial() {
        format!(
            "l'agrément ESUS n'est exigé que des sociétés commerciales, or la structure est une {}",
            ctx.form().label_fr()
        )
    } else if ctx.age_years < ESUS_MIN_AGE_YEARS {
        format!(
            "l'agrément ESUS n'est exigé que d'une société commerciale d'au moins {ESUS_MIN_AGE_YEARS} ans, or la société a {} à la date de dépôt",
            years_fr(i64::from(ctx.age_years))
        )
    } else {
        "l'agrément ESUS n'est exigé d'une société commerciale que pour un projet en phase de \
         développement"
            .to_owned()
    };
    format!("Sans objet : {why}.")
}

fn esus_1(ctx: &Context) -> Check {
    if !ctx.esus_required() {
        return not_applicable(esus_not_required_reason(ctx));
    }
    match ctx.body.organisation.esus {
        Esus::Approved => pass(format!(
            "Société commerciale d'au moins {ESUS_MIN_AGE_YEARS} ans en phase de développement : \
             agrément ESUS déclaré obtenu ; le service instructeur en demandera la copie."
        )),
        Esus::Pending => review(
            "Agrément ESUS en cours d'instruction : le service instructeur vérifiera que la \
             demande a bien été déposée. En cas d'attribution, le solde de la subvention ne sera \
             versé qu'après obtention de l'agrément.",
        ),
        Esus::None => fail(format!(
            "Une société commerciale d'au moins {ESUS_MIN_AGE_YEARS} ans qui demande un soutien \
             au développement doit être agréée « entreprise solidaire d'utilité sociale » (code \
             du travail, art. L. 3332-17-1) ou avoir déposé sa demande d'agrément auprès de la \
             DDETS."
        )),
    }
}

fn esus_2(ctx: &Context) -> Check {
    if !ctx.esus_required() {
        return not_applicable(format!(
            "{} L'encadrement des rémunérations n'est donc pas vérifié.",
            esus_not_required_reason(ctx)
        ));
    }
    let top5 = ctx.body.ess.top5_avg_pay_smic_ratio;
    let top = ctx.body.ess.top_pay_smic_ratio;
    let mut over = Vec::new();
    if let Some(x) = top5
        && x > ESUS_TOP5_AVG_MAX_SMIC
    {
        over.push(format!(
            "la moyenne des cinq rémunérations les plus élevées ne doit pas dépasser 7 fois le SMIC (déclaré : {} fois)",
            ratio_fr(x)
        ));
    }
    if let Some(x) = top
        && x > ESUS_TOP_PAY_MAX_SMIC
    {
        over.push(format!(
            "la rémunération la plus élevée ne doit pas dépasser 10 fois le SMIC (déclaré : {} fois)",
            ratio_fr(x)
        ));
    }
    if !over.is_empty() {
        return fail(format!(
            "Politique de rémunération incompatible avec l'agrément ESUS : {}.",
            over.join(" ; ")
        ));
    }
    match (top5, top) {
        (Some(a), Some(b)) => pass(format!(
            "Moyenne des cinq rémunérations les plus élevées : {} fois le SMIC (7 au plus) ; \
             rémunération la plus élevée : {} fois le SMIC (10 au plus).",
            ratio_fr(a),
            ratio_fr(b)
        )),
        _ => review(
            "Rémunérations non renseignées : indiquez la moyenne des cinq rémunérations les plus \
             élevées et la plus élevée, en multiples du SMIC ; à défaut, le service instructeur \
             vérifiera qu'elles ne dépassent pas 7 et 10 fois le SMIC.",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// MEL: the call's rules.

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn mel_1(ctx: &Context) -> Check {
    let org = &ctx.body.organisation;
    let holder = non_empty(&org.holder_name).unwrap_or("le porteur de projet");
    match org.status {
        OrganisationStatus::InCreation => {
            return review(format!(
                "À vérifier : structure en création, portée par {holder} ; elle n'existe pas \
                 encore légalement (forme prévue : {}). Son numéro SIRET, ou son numéro RNA \
                 pour une association, sera exigé avant la signature de la convention et le \
                 premier versement.",
                org.legal_form.label_fr()
            ));
        }
        OrganisationStatus::Hosted => {
            let host = non_empty(&org.host_name).unwrap_or("sa structure d'accueil");
            return match non_empty(&org.host_siret).map(Siret::parse) {
                Some(Ok(siret)) => pass(format!(
                    "Activité de {holder} hébergée par {host} (SIRET {}), coopérative \
                     d'activité et d'emploi, couveuse ou incubateur.",
                    siret.as_str()
                )),
                Some(Err(_)) => fail(format!(
                    "Le SIRET de {host} n'est pas valide : vérifiez-le sur l'avis de situation \
                     au répertoire Sirene (INSEE)."
                )),
                None => fail(
                    "Indiquez le SIRET de la structure d'accueil (coopérative d'activité et \
                     d'emploi, couveuse ou incubateur).",
                ),
            };
        }
        OrganisationStatus::Registered => {}
    }
    let Some(created_on) = org.created_on else {
        return fail(
            "Indiquez la date de création de la structure (celle de sa déclaration ou de son \
             immatriculation).",
        );
    };
    if created_on > ctx.filing_date {
        return fail(format!(
            "La date de création déclarée ({}) est postérieure à la date de dépôt ({}) : la \
             structure doit exister légalement au dépôt de la demande. Corrigez la date de \
             création, ou indiquez qu'elle est en cours de création.",
            date_fr(created_on),
            date_fr(ctx.filing_date)
        ));
    }
    let created = format!("Structure créée le {}", date_fr(created_on));
    let siret = non_empty(&org.siret);
    let rna = non_empty(&org.rna);
    match siret {
        Some(s) => match Siret::parse(s) {
            Ok(siret) => pass(format!(
                "{created}, immatriculée sous le SIRET {}.",
                siret.as_str()
            )),
            Err(e) => {
                let why = if e == IdentifierError::SiretLength {
                    "il doit comporter 14 chiffres"
                } else {
                    "la clé de contrôle est incorrecte"
                };
                fail(format!(
                    "Le numéro SIRET {s} n'est pas valide ({why}) : vérifiez le numéro sur \
                     l'avis de situation au répertoire Sirene (INSEE)."
                ))
            }
        },
        None if org.legal_form.is_association() => match rna {
            Some(r) => match Rna::parse(r) {
                Ok(rna) => pass(format!(
                    "{created}, inscrite au répertoire national des associations sous le numéro \
                     {} (SIRET non requis pour une association).",
                    rna.as_str()
                )),
                Err(_) => fail(format!(
                    "Le numéro RNA {r} n'est pas valide (la lettre W suivie de 9 chiffres) : \
                     vérifiez-le sur le récépissé de déclaration en préfecture, ou indiquez le \
                     SIRET de l'association."
                )),
            },
            None => fail(
                "Indiquez le SIRET de l'association ou, à défaut, son numéro RNA (répertoire \
                 national des associations).",
            ),
        },
        None => fail(format!(
            "Indiquez le numéro SIRET de la structure : il est exigé d'une {} (seule une \
             association peut le remplacer par son numéro RNA).",
            org.legal_form.label_fr()
        )),
    }
}

fn mel_2(ctx: &Context) -> Check {
    let communes: Vec<&str> = ctx
        .body
        .project
        .activity_communes
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    if communes.is_empty() {
        return fail(
            "Aucune commune d'activité déclarée : indiquez le code INSEE d'au moins une commune \
             du territoire de l'appel.",
        );
    }
    let territory = ctx.call.territory;
    let inside: Vec<String> = communes
        .iter()
        .filter(|c| is_in_territory(c, territory))
        .map(|c| describe_commune(c))
        .collect();
    if inside.is_empty() {
        fail(format!(
            "Aucune des communes d'activité déclarées ({}) ne fait partie du territoire de \
             l'appel ({} communes) : l'activité doit se dérouler dans au moins une de ces \
             communes.",
            communes.join(", "),
            territory.len()
        ))
    } else {
        pass(format!(
            "Activité sur le territoire de l'appel : {}.",
            inside.join(", ")
        ))
    }
}

/// `59512 (Roubaix)`, `59355 (comptée comme Lille, 59350)`, or the bare code.
fn describe_commune(insee: &str) -> String {
    let canon = canonical_commune(insee);
    match (canon == insee, commune_name(canon)) {
        (true, Some(name)) => format!("{insee} ({name})"),
        (true, None) => insee.to_owned(),
        (false, Some(name)) => format!("{insee} (comptée comme {name}, {canon})"),
        (false, None) => format!("{insee} (comptée comme {canon})"),
    }
}

fn mel_3(ctx: &Context) -> Check {
    let requested = ctx.body.project.requested_cents;
    let cap = ctx.call.max_award_cents;
    if requested <= 0 {
        fail(format!(
            "Le montant demandé doit être supérieur à zéro, dans la limite du plafond de \
             l'appel ({} par projet).",
            euros_fr(cap)
        ))
    } else if requested > cap {
        fail(format!(
            "Le montant demandé ({}) dépasse le plafond de l'appel, {} par projet : ramenez la \
             demande à ce plafond au plus.",
            euros_fr(requested),
            euros_fr(cap)
        ))
    } else {
        pass(format!(
            "Montant demandé : {}, dans la limite du plafond de l'appel ({} par projet).",
            euros_fr(requested),
            euros_fr(cap)
        ))
    }
}

fn mel_4(ctx: &Context) -> Check {
    let Some(pct) = ctx.call.max_budget_share_pct else {
        return not_applicable(
            "Sans objet : l'appel ne limite pas la subvention à une part du budget du projet.",
        );
    };
    let requested = ctx.body.project.requested_cents;
    let budget = ctx.body.project.total_budget_cents;
    if budget <= 0 {
        return fail(format!(
            "Le budget total du projet doit être renseigné et positif : la subvention ne peut \
             pas dépasser {pct} % de ce budget."
        ));
    }
    let limit = i128::from(pct) * i128::from(budget);
    // Largest award allowed, rounded down to the cent (fits in i64: pct ≤ 255).
    let max_cents = i64::try_from(limit / 100).unwrap_or(i64::MAX);
    if i128::from(requested) * 100 <= limit {
        pass(format!(
            "Le montant demandé ({}) ne dépasse pas {pct} % du budget total du projet ({}), \
             soit {} au plus.",
            euros_fr(requested),
            euros_fr(budget),
            euros_fr(max_cents)
        ))
    } else {
        fail(format!(
            "Le montant demandé ({}) dépasse {pct} % du budget total du projet ({}) : la \
             subvention est limitée à {} ; réduisez la demande ou présentez le budget complet \
             du projet.",
            euros_fr(requested),
            euros_fr(budget),
            euros_fr(max_cents)
        ))
    }
}

fn mel_5(ctx: &Context) -> Check {
    let limit = ctx.call.rule_set.startup_max_age_years;
    let age = ctx.age_years;
    let expected = if i64::from(age) < i64::from(limit) {
        Stage::Startup
    } else {
        Stage::Development
    };
    let declared = ctx.body.project.stage;
    let age_fr = years_fr(i64::from(age));
    let rule = match expected {
        Stage::Startup => format!("moins de {limit} ans : phase « démarrage »"),
        Stage::Development => format!("{limit} ans ou plus : phase « développement »"),
    };
    if declared == expected {
        pass(format!(
            "Structure de {age_fr} à la date de dépôt ({rule}, règles {}).",
            ctx.call.rule_set.version
        ))
    } else {
        fail(format!(
            "La structure a {age_fr} à la date de dépôt : la phase « {} » ne convient pas ; \
             choisissez la phase « {} » ({rule}, règles {}).",
            declared.label_fr(),
            expected.label_fr(),
            ctx.call.rule_set.version
        ))
    }
}

fn mel_6(ctx: &Context) -> Check {
    let org = &ctx.body.organisation;
    let mut reasons = Vec::new();
    if org.insertion_structure == Some(InsertionStructure::Aci) {
        reasons.push(
            "Les ateliers et chantiers d'insertion (ACI) sont exclus de cet appel à projets.",
        );
    }
    if org.in_insolvency_proceedings {
        reasons.push(
            "Les structures faisant l'objet d'une procédure collective (sauvegarde, redressement \
             ou liquidation judiciaire) sont exclues de cet appel à projets.",
        );
    }
    if reasons.is_empty() {
        pass(
            "La structure déclare n'être ni un atelier et chantier d'insertion ni en procédure \
             collective.",
        )
    } else {
        fail(reasons.join(" "))
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn euros_fr_formats_like_design() {
        let cases: &[(i64, &str)] = &[
            (0, "0,00 €"),
            (1, "0,01 €"),
            (2_000_000, "20 000,00 €"),
            (2_000_001, "20 000,01 €"),
            (3_000_000, "30 000,00 €"),
            (123_456_789, "1 234 567,89 €"),
            (-150, "-1,50 €"),
            (i64::MIN, "-92 233 720 368 547 758,07 €"),
        ];
        for (cents, expected) in cases {
            assert_eq!(
                euros_fr(*cents).replace('\u{a0}', " "),
                *expected,
                "{cents}"
            );
        }
    }

    #[test]
    fn communes_are_named() {
        assert_eq!(describe_commune("59512"), "59512 (Roubaix)");
        assert_eq!(
            describe_commune("59355"),
            "59355 (comptée comme Lille, 59350)"
        );
        assert_eq!(
            describe_commune("59298"),
            "59298 (comptée comme Lille, 59350)"
        );
        assert_eq!(describe_commune("62041"), "62041");
    }

    #[test]
    fn small_formatters() {
        assert_eq!(ratio_fr(7.0), "7");
        assert_eq!(ratio_fr(7.01), "7,01");
        assert_eq!(years_fr(0), "0 an");
        assert_eq!(years_fr(1), "1 an");
        assert_eq!(years_fr(3), "3 ans");
        assert_eq!(pct_fr(None), "non renseigné");
        assert_eq!(pct_fr(Some(20)), "20 %");
        assert_eq!(
            date_fr(NaiveDate::from_ymd_opt(2026, 6, 5).unwrap()),
            "05/06/2026"
        );
    }

    #[test]
    fn definitions_are_in_report_order() {
        let codes: Vec<&str> = CRITERION_DEFINITIONS.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                "ESS-1", "ESS-2", "ESS-3", "ESS-4", "ESS-5", "ESS-6", "ESS-7", "ESS-8", "ESS-9",
                "ESUS-1", "ESUS-2", "MEL-1", "MEL-2", "MEL-3", "MEL-4", "MEL-5", "MEL-6"
            ]
        );
        assert_eq!(CRITERIA.len(), CRITERION_DEFINITIONS.len());
    }
}
