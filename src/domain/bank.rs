//! A grant's bank details (DESIGN.md §15): the IBAN checked as ISO 13616 says (the country's
//! length and format, the mod-97 key) by the `iban_validate` crate, which follows SWIFT's IBAN
//! registry; the BIC (ISO 9362) and the account holder's name. Typed as people copy them from
//! a RIB: spaces anywhere, small letters; stored in the electronic form.

use std::fmt;

use iban::IbanLike;

/// The longest account holder's name a SEPA credit transfer carries.
pub const HOLDER_MAX: usize = 70;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error("l'IBAN est vide")]
    IbanEmpty,
    #[error(
        "l'IBAN ne contient que des lettres et des chiffres, 34 au plus, et commence par le code du pays (FR76…)"
    )]
    IbanFormat,
    #[error("l'IBAN ne correspond à aucun pays connu (« {}{} »)", .0[0], .0[1])]
    IbanCountry([char; 2]),
    #[error("l'IBAN n'a pas la longueur ou la forme attendue pour son pays ({0})")]
    IbanLength(&'static str),
    #[error("la clé de l'IBAN est fausse : vérifiez-le chiffre par chiffre sur le RIB")]
    IbanKey,
    #[error(
        "le BIC compte 8 ou 11 caractères : 4 lettres (la banque), 2 lettres (le pays), puis 2 et éventuellement 3 lettres ou chiffres"
    )]
    Bic,
}

/// An IBAN whose country, length, format and key are right.
#[derive(Clone, PartialEq, Eq)]
pub struct Iban(iban::Iban);

impl Iban {
    /// Reads an IBAN as typed: spaces, tabs and no-break spaces are dropped, letters put in
    /// capitals.
    pub fn parse(typed: &str) -> Result<Iban, BankError> {
        let electronic: String = typed
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if electronic.is_empty() {
            return Err(BankError::IbanEmpty);
        }
        if electronic.len() > 34 || !electronic.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(BankError::IbanFormat);
        }
        match electronic.parse::<iban::Iban>() {
            Ok(i) => Ok(Iban(i)),
            Err(iban::ParseIbanError::InvalidBaseIban {
                source: iban::ParseBaseIbanError::InvalidChecksum,
            }) => Err(BankError::IbanKey),
            Err(iban::ParseIbanError::InvalidBaseIban { .. }) => Err(BankError::IbanFormat),
            Err(iban::ParseIbanError::UnknownCountry(base)) => {
                let mut c = base.country_code().chars();
                Err(BankError::IbanCountry([
                    c.next().unwrap_or('?'),
                    c.next().unwrap_or('?'),
                ]))
            }
            Err(iban::ParseIbanError::InvalidBban(base)) => Err(BankError::IbanLength(
                country_name(base.country_code()).unwrap_or("pays de l'IBAN"),
            )),
        }
    }

    /// The electronic form (`FR7630006000011234567890189`): what is stored and exported.
    pub fn electronic(&self) -> &str {
        self.0.electronic_str()
    }

    /// Groups of four, as a RIB prints it (`FR76 3000 6000 0112 3456 7890 189`).
    pub fn grouped(&self) -> String {
        self.0.to_string()
    }

    /// The country code and key, then the last four characters: what the beneficiary reads
    /// back (`FR76 •••• •••• 0189`), enough to recognise their account, not to use it.
    pub fn masked(&self) -> String {
        let e = self.electronic();
        format!("{} •••• •••• {}", &e[..4], &e[e.len() - 4..])
    }
}

impl fmt::Debug for Iban {
    // Never the whole number in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({})", self.masked())
    }
}

fn country_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "FR" => "France",
        "BE" => "Belgique",
        "DE" => "Allemagne",
        "ES" => "Espagne",
        "IT" => "Italie",
        "LU" => "Luxembourg",
        "MC" => "Monaco",
        "NL" => "Pays-Bas",
        "PT" => "Portugal",
        "CH" => "Suisse",
        "GB" => "Royaume-Uni",
        _ => return None,
    })
}

/// A BIC (ISO 9362): 4 letters for the bank, 2 for the country, 2 letters or digits for the
/// place, and optionally 3 for the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bic(String);

impl Bic {
    pub fn parse(typed: &str) -> Result<Bic, BankError> {
        let s: String = typed
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let b = s.as_bytes();
        let ok = matches!(b.len(), 8 | 11)
            && b[..6].iter().all(u8::is_ascii_uppercase)
            && b[6..].iter().all(u8::is_ascii_alphanumeric);
        if ok { Ok(Bic(s)) } else { Err(BankError::Bic) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_as_people_type_them() {
        // The same account, typed four ways.
        for typed in [
            "FR7630006000011234567890189",
            "FR76 3000 6000 0112 3456 7890 189",
            "fr76 3000 6000 0112 3456 7890 189",
            " FR76\u{a0}3000\t6000 011234567890189 ",
        ] {
            let iban = Iban::parse(typed).unwrap_or_else(|e| panic!("{typed:?}: {e}"));
            assert_eq!(iban.electronic(), "FR7630006000011234567890189");
            assert_eq!(iban.grouped(), "FR76 3000 6000 0112 3456 7890 189");
            assert_eq!(iban.masked(), "FR76 •••• •••• 0189");
        }
        assert!(Iban::parse("BE68 5390 0754 7034").is_ok());
        assert!(Iban::parse("DE89 3704 0044 0532 0130 00").is_ok());
    }

    #[test]
    fn wrong_ibans_are_named() {
        let cases = [
            ("", BankError::IbanEmpty),
            ("   ", BankError::IbanEmpty),
            ("FR76-3000-6000", BankError::IbanFormat),
            (
                "FR76 3000 6000 0112 3456 7890 189 0000 0000 0",
                BankError::IbanFormat,
            ),
            // One digit wrong: the key says so.
            ("FR76 3000 6000 0112 3456 7890 188", BankError::IbanKey),
            // The key is right but a French IBAN is 27 characters long.
            ("FR80 2004 1010 0505 0001", BankError::IbanLength("France")),
            (
                "XX57 WEST 1234 5698 7654 32",
                BankError::IbanCountry(['X', 'X']),
            ),
        ];
        for (typed, want) in cases {
            assert_eq!(Iban::parse(typed).err(), Some(want), "{typed:?}");
        }
        // Every message is French and says what to do.
        assert!(BankError::IbanKey.to_string().contains("RIB"));
    }

    #[test]
    fn the_whole_number_never_reaches_a_log_line() {
        let iban = Iban::parse("FR7630006000011234567890189").unwrap();
        let logged = format!("{iban:?}");
        assert!(!logged.contains("30006000011234567890"), "{logged}");
        assert!(logged.contains("0189"));
    }

    #[test]
    fn bics() {
        for ok in ["BNPAFRPP", "bnpafrpp", "CEPAFRPP627", "AGRI FR PP 867"] {
            assert!(Bic::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Bic::parse("cepafrpp627").unwrap().as_str(), "CEPAFRPP627");
        for bad in [
            "",
            "BNPAFR",
            "BNPAFRPP1",
            "1NPAFRPP",
            "BNPA-RPP",
            "BNPAFRPP12345",
        ] {
            assert_eq!(Bic::parse(bad).err(), Some(BankError::Bic), "{bad}");
        }
    }
}
