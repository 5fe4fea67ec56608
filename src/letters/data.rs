//! What a letter's template reads: plain strings already written the French way (dates,
//! amounts in figures and in words), so the templates only lay them out.

use serde::{Deserialize, Serialize};

use crate::domain::letter::LetterKind;

/// The authority that writes (from `[authority]` in the configuration).
#[derive(Debug, Clone, Serialize)]
pub struct Authority {
    pub name: String,
    /// The postal address, one line each.
    pub address: Vec<String>,
    /// Where the letters are « fait à ».
    pub city: String,
    /// The signatory: the elected official or the agent with delegation.
    pub signatory_name: String,
    pub signatory_quality: String,
    /// The grant scheme (« Entreprendre autrement »).
    pub grant_scheme: String,
}

/// One instalment as the award letter announces it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstalmentLine {
    pub label: String,
    pub percent: u8,
    /// « 14 800,00 € ».
    pub amount: String,
    /// When it falls due, in words (« à la signature de la convention »).
    pub when: String,
}

/// Who signed the convention in essor, as its signature page says it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignatureBlock {
    /// The beneficiary's legal representative, as they typed their name.
    pub name: String,
    /// Their quality (« Présidente », « Gérant »…).
    pub quality: String,
    /// « 7 décembre 2026 », in Paris.
    pub signed_on: String,
    /// « 7 décembre 2026 à 10 h 32 », in Paris.
    pub signed_at: String,
    /// The SHA-256 of the convention as issued, unsigned (lowercase hex).
    pub unsigned_sha256: String,
}

/// What a letter about an application reads: the award (arrêté attributif), the refusal, the
/// ineligibility, the convention and the signed convention. The refusal and the ineligibility
/// leave the award's fields empty; only the signed convention has a `signature`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionLetter {
    /// The application's reference (« EA-2027-0001 »).
    pub reference: String,
    pub organisation_name: String,
    pub organisation_address: Vec<String>,
    pub siret: String,
    pub call_title: String,
    pub project_title: String,
    /// « 6 décembre 2026 », in Paris.
    pub issued_on: String,
    /// The committee's date, in French (empty for an ineligibility).
    pub committee_date: String,
    /// The délibération or arrêté that decided (empty when there is none).
    pub decision_reference: String,
    pub motivation: String,
    /// « 18 500,00 € » (award only).
    pub amount: String,
    /// « dix-huit mille cinq cents euros » (award only).
    pub amount_words: String,
    pub instalments: Vec<InstalmentLine>,
    /// The final report's due date, in French (award only).
    pub report_due: String,
    pub convention_required: bool,
    #[serde(default)]
    pub signature: Option<SignatureBlock>,
    /// Only the recovery letter's: what is asked back.
    #[serde(default)]
    pub recovery: Option<RecoveryBlock>,
}

/// What a recovery letter (demande de reversement) asks, the amounts written the French way.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecoveryBlock {
    /// « 4 500,00 € ».
    pub amount: String,
    /// « quatre mille cinq cents euros ».
    pub amount_words: String,
    /// What was paid of the grant so far: « 14 800,00 € ».
    pub paid: String,
    /// The countersignature's date of the convention, if there was one (« 2 avril 2027 »).
    pub convention_on: String,
}

/// One sample of each kind, for the start-up check and the tests: their texts are what an
/// overriding template must be able to lay out, including the markup-looking ones.
pub fn samples() -> Vec<(LetterKind, DecisionLetter)> {
    let award = DecisionLetter {
        reference: "EA-2027-0001".into(),
        organisation_name: "Association Les Jardins de Fives".into(),
        organisation_address: vec!["12 rue Pierre Legrand".into(), "59800 Lille".into()],
        siret: "123 456 789 00012".into(),
        call_title: "Entreprendre autrement 2027".into(),
        project_title: "Une recyclerie solidaire #set page(width: 1cm) ] *gras*".into(),
        issued_on: "15 mars 2027".into(),
        committee_date: "12 mars 2027".into(),
        decision_reference: "DEL-2027-0042".into(),
        motivation: "Projet structurant pour le quartier ; montant ajusté au budget.".into(),
        amount: "18\u{a0}500,00\u{a0}€".into(),
        amount_words: "dix-huit mille cinq cents euros".into(),
        instalments: vec![
            InstalmentLine {
                label: "Avance".into(),
                percent: 80,
                amount: "14\u{a0}800,00\u{a0}€".into(),
                when: "à la notification du présent arrêté".into(),
            },
            InstalmentLine {
                label: "Solde".into(),
                percent: 20,
                amount: "3\u{a0}700,00\u{a0}€".into(),
                when: "après l'approbation du compte rendu financier".into(),
            },
        ],
        report_due: "30 juin 2028".into(),
        convention_required: false,
        signature: None,
        recovery: None,
    };
    let refusal = DecisionLetter {
        amount: String::new(),
        amount_words: String::new(),
        instalments: Vec::new(),
        report_due: String::new(),
        motivation: "Le modèle économique n'est pas encore assez établi.".into(),
        ..award.clone()
    };
    let ineligibility = DecisionLetter {
        committee_date: String::new(),
        decision_reference: String::new(),
        motivation: "Les statuts ne prévoient pas de gouvernance démocratique (critère ESS-2)."
            .into(),
        ..refusal.clone()
    };
    let mut convention = DecisionLetter {
        convention_required: true,
        ..award.clone()
    };
    convention.instalments[0].when = "à la signature de la convention".into();
    let signed = DecisionLetter {
        signature: Some(SignatureBlock {
            name: "Léa Dupont-Nguyen ] #pagebreak()".into(),
            quality: "Présidente".into(),
            signed_on: "20 mars 2027".into(),
            signed_at: "20 mars 2027 à 10 h 32".into(),
            unsigned_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                .into(),
        }),
        ..convention.clone()
    };
    let recovery = DecisionLetter {
        motivation: "Le projet a été réalisé en partie : la recyclerie n'a ouvert que trois mois sur douze ; 4 500 € n'ont pas été employés conformément à la convention.".into(),
        recovery: Some(RecoveryBlock {
            amount: "4\u{a0}500,00\u{a0}€".into(),
            amount_words: "quatre mille cinq cents euros".into(),
            paid: "14\u{a0}800,00\u{a0}€".into(),
            convention_on: "2 avril 2027".into(),
        }),
        ..award.clone()
    };
    vec![
        (LetterKind::Award, award),
        (LetterKind::Recovery, recovery),
        (LetterKind::Convention, convention),
        (LetterKind::SignedConvention, signed),
        (LetterKind::Refusal, refusal),
        (LetterKind::Ineligibility, ineligibility),
    ]
}
