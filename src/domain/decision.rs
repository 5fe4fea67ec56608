//! The committee's decision (DESIGN.md §9): an award is positive and at most the smallest of
//! the amount requested, the call's cap per project, the call's share of the project budget,
//! and what is left in the envelope.

use crate::domain::money::Cents;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwardLimits {
    pub requested: Cents,
    pub max_award: Cents,
    /// `max_budget_share_pct` of the project's total budget, when the call sets one.
    pub budget_share: Option<Cents>,
    pub envelope_left: Cents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwardLimit {
    Requested,
    MaxAward,
    BudgetShare,
    EnvelopeLeft,
}

impl AwardLimits {
    pub fn new(
        requested: i64,
        max_award: i64,
        share_pct: Option<u8>,
        total_budget: i64,
        envelope_left: i64,
    ) -> Self {
        let c = |v: i64| Cents::new(v.max(0)).unwrap_or(Cents::ZERO);
        Self {
            requested: c(requested),
            max_award: c(max_award),
            budget_share: share_pct.map(|p| c(total_budget).percent_of(p)),
            envelope_left: c(envelope_left),
        }
    }

    /// The binding limit and its amount.
    pub fn ceiling(&self) -> (Cents, AwardLimit) {
        let mut best = (self.requested, AwardLimit::Requested);
        for (v, l) in [
            (Some(self.max_award), AwardLimit::MaxAward),
            (self.budget_share, AwardLimit::BudgetShare),
            (Some(self.envelope_left), AwardLimit::EnvelopeLeft),
        ] {
            if let Some(v) = v
                && v < best.0
            {
                best = (v, l);
            }
        }
        best
    }

    /// Checks an award; the error is a French sentence naming the binding limit.
    #[expect(clippy::expect_used, reason = "checked positive just above")]
    pub fn check(&self, awarded: i64) -> Result<Cents, String> {
        if awarded <= 0 {
            return Err("le montant attribué doit être positif".into());
        }
        let (ceiling, limit) = self.ceiling();
        if awarded > ceiling.value() {
            let what = match limit {
                AwardLimit::Requested => "le montant demandé",
                AwardLimit::MaxAward => "le plafond par projet de l'appel",
                AwardLimit::BudgetShare => "la part maximale du budget du projet",
                AwardLimit::EnvelopeLeft => "le reste de l'enveloppe de l'appel",
            };
            return Err(format!(
                "le montant attribué ({}) dépasse {what} ({})",
                Cents::new(awarded).unwrap_or_default().to_fr_string(),
                ceiling.to_fr_string()
            ));
        }
        Ok(Cents::new(awarded).expect("positive"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awards_stay_under_every_limit() {
        // requested, cap, share %, budget, left, awarded, ok?
        // requested, cap, share, budget, envelope left, awarded, expected
        type Case = (
            i64,
            i64,
            Option<u8>,
            i64,
            i64,
            i64,
            Result<(), &'static str>,
        );
        let cases: &[Case] = &[
            (
                2_000_000,
                2_000_000,
                None,
                9_000_000,
                50_000_000,
                2_000_000,
                Ok(()),
            ),
            (2_000_000, 2_000_000, None, 9_000_000, 50_000_000, 1, Ok(())),
            (
                2_000_000,
                2_000_000,
                None,
                9_000_000,
                50_000_000,
                0,
                Err("positif"),
            ),
            (
                2_000_000,
                2_000_000,
                None,
                9_000_000,
                50_000_000,
                -5,
                Err("positif"),
            ),
            (
                1_500_000,
                2_000_000,
                None,
                9_000_000,
                50_000_000,
                1_500_001,
                Err("montant demandé"),
            ),
            (
                3_000_000,
                2_000_000,
                None,
                9_000_000,
                50_000_000,
                2_000_001,
                Err("plafond"),
            ),
            (
                3_000_000,
                3_000_000,
                Some(30),
                9_000_000,
                50_000_000,
                2_700_000,
                Ok(()),
            ),
            (
                3_000_000,
                3_000_000,
                Some(30),
                9_000_000,
                50_000_000,
                2_700_001,
                Err("part maximale"),
            ),
            (
                2_000_000,
                2_000_000,
                None,
                9_000_000,
                1_000_000,
                1_000_000,
                Ok(()),
            ),
            (
                2_000_000,
                2_000_000,
                None,
                9_000_000,
                1_000_000,
                1_000_001,
                Err("enveloppe"),
            ),
            (
                2_000_000,
                2_000_000,
                None,
                9_000_000,
                0,
                1,
                Err("enveloppe"),
            ),
        ];
        for &(req, cap, share, budget, left, awarded, expected) in cases {
            let got = AwardLimits::new(req, cap, share, budget, left).check(awarded);
            match (got, expected) {
                (Ok(c), Ok(())) => assert_eq!(c.value(), awarded),
                (Err(msg), Err(needle)) => assert!(msg.contains(needle), "{msg}"),
                (got, expected) => panic!(
                    "{req} {cap} {share:?} {budget} {left} {awarded}: {got:?} vs {expected:?}"
                ),
            }
        }
        let msg = AwardLimits::new(3_000_000, 2_000_000, None, 0, 10_000_000)
            .check(2_500_000)
            .unwrap_err();
        assert!(
            msg.contains("25\u{a0}000,00\u{a0}€") && msg.contains("20\u{a0}000,00\u{a0}€"),
            "{msg}"
        );
    }
}
