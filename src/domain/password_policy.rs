//! Strength of a new password (issue 32 point 7): the length rule alone let `password1234`,
//! `aaaaaaaaaaaa` and `123456789012` through. zxcvbn estimates how many guesses an attacker
//! needs, knowing common passwords, keyboard rows, repeats, sequences, dates and the account's
//! own name and address (the "user inputs"); below 10^10 guesses (score 3) is refused, the
//! threshold zxcvbn's authors recommend.

use zxcvbn::Score;
use zxcvbn::feedback::{Suggestion, Warning};

/// The lowest accepted zxcvbn score: about 10^10 guesses, out of reach of an online attack and
/// slow offline against argon2.
pub const MIN_SCORE: Score = Score::Three;

/// Words an attacker of this site tries first, besides the account's own.
const SITE_WORDS: &[&str] = &["essor", "subvention", "candidature"];

/// The account's words an attacker tries: the address, its local part and each part of the
/// name, each also without its accents (« Invitée » is typed « invitee » as often as not).
pub fn user_inputs(email: &str, full_name: &str) -> Vec<String> {
    let mut inputs: Vec<&str> = vec![email];
    if let Some((local, _)) = email.split_once('@') {
        inputs.push(local);
        inputs.extend(
            local
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() > 1),
        );
    }
    inputs.push(full_name);
    inputs.extend(
        full_name
            .split(|c: char| c.is_whitespace() || c == '-' || c == '\'')
            .filter(|w| w.chars().count() > 1),
    );
    inputs.extend_from_slice(SITE_WORDS);
    inputs.retain(|w| !w.trim().is_empty());
    let mut words: Vec<String> = inputs.iter().map(|w| (*w).to_owned()).collect();
    for w in inputs {
        let folded = without_accents(w);
        if folded != w && !words.contains(&folded) {
            words.push(folded);
        }
    }
    words
}

/// The French letters with diacritics, written as people type them on a keyboard without.
fn without_accents(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            'à' | 'â' | 'ä' => out.push('a'),
            'À' | 'Â' | 'Ä' => out.push('A'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'É' | 'È' | 'Ê' | 'Ë' => out.push('E'),
            'î' | 'ï' => out.push('i'),
            'Î' | 'Ï' => out.push('I'),
            'ô' | 'ö' => out.push('o'),
            'Ô' | 'Ö' => out.push('O'),
            'ù' | 'û' | 'ü' => out.push('u'),
            'Ù' | 'Û' | 'Ü' => out.push('U'),
            'ÿ' => out.push('y'),
            'ç' => out.push('c'),
            'Ç' => out.push('C'),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            _ => out.push(c),
        }
    }
    out
}

/// Refuses a password an attacker would guess early, with a French message that says why and
/// what to do instead. `user_inputs` are the account's own words (see [`user_inputs`]).
pub fn check_strength(password: &str, user_inputs: &[String]) -> Result<(), String> {
    let user_inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &user_inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let feedback = estimate.feedback();
    let lowered = password.to_lowercase();
    // zxcvbn gives no warning for the account's own words: say so, it is what to change.
    let own_words = user_inputs
        .iter()
        .any(|w| w.chars().count() >= 3 && lowered.contains(&w.to_lowercase()));
    let why = feedback
        .and_then(|f| f.warning())
        .map(warning_fr)
        .unwrap_or(if own_words {
            "il reprend votre nom, votre adresse ou le nom du site"
        } else {
            "il serait deviné en peu d'essais"
        });
    let advice = feedback
        .and_then(|f| f.suggestions().iter().copied().find_map(suggestion_fr))
        .unwrap_or("ajoutez un ou deux mots peu courants");
    Err(format!(
        "le mot de passe est trop facile à deviner : {why}. Choisissez plutôt une phrase de \
         plusieurs mots sans lien entre eux (par exemple « girafe orage cuillère verte ») ; {advice}."
    ))
}

fn warning_fr(w: Warning) -> &'static str {
    match w {
        Warning::StraightRowsOfKeysAreEasyToGuess => "une rangée de touches du clavier",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "un motif de clavier trop court",
        Warning::RepeatsLikeAaaAreEasyToGuess => "un caractère répété (comme « aaa »)",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "un motif répété (comme « abcabcabc »)"
        }
        Warning::ThisIsATop10Password
        | Warning::ThisIsATop100Password
        | Warning::ThisIsACommonPassword => "c'est un mot de passe très courant",
        Warning::ThisIsSimilarToACommonlyUsedPassword => {
            "il ressemble à un mot de passe très courant"
        }
        Warning::SequencesLikeAbcAreEasyToGuess => "une suite (comme « abc » ou « 6543 »)",
        Warning::RecentYearsAreEasyToGuess => "une année récente",
        Warning::AWordByItselfIsEasyToGuess => "un mot seul",
        Warning::DatesAreOftenEasyToGuess => "une date",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
        | Warning::CommonNamesAndSurnamesAreEasyToGuess => {
            "un nom ou un prénom (le vôtre ou un nom courant)"
        }
    }
}

fn suggestion_fr(s: Suggestion) -> Option<&'static str> {
    Some(match s {
        Suggestion::AddAnotherWordOrTwo | Suggestion::UseAFewWordsAvoidCommonPhrases => {
            "ajoutez un ou deux mots peu courants"
        }
        Suggestion::AvoidRepeatedWordsAndCharacters => "évitez les mots et caractères répétés",
        Suggestion::AvoidSequences => "évitez les suites de chiffres ou de lettres",
        Suggestion::AvoidRecentYears
        | Suggestion::AvoidYearsThatAreAssociatedWithYou
        | Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => {
            "évitez les dates et les années"
        }
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => "évitez les motifs de clavier",
        Suggestion::CapitalizationDoesntHelpVeryMuch
        | Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase
        | Suggestion::ReversedWordsArentMuchHarderToGuess
        | Suggestion::PredictableSubstitutionsDontHelpVeryMuch => {
            "les majuscules, les mots inversés et les substitutions (@ pour a) n'aident guère"
        }
        // Not advice on its own: the other suggestions say what to do.
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "camille.durand@exemple.fr";
    const NAME: &str = "Camille Durand";

    #[test]
    fn weak_passwords_are_refused_with_a_french_reason() {
        // (password, a word the message must contain)
        let cases = [
            ("password1234", "courant"),
            ("aaaaaaaaaaaa", "répété"),
            ("123456789012", "suite"),
            ("azertyuiopqs", "courant"),
            ("motdepasse12", "deviner"),
            ("camilledurand", "votre nom"),
            ("camille.durand", "votre nom"),
            ("essoressor2026", "deviner"),
        ];
        let inputs = user_inputs(EMAIL, NAME);
        for (password, word) in cases {
            let err = check_strength(password, &inputs)
                .expect_err(&format!("{password:?} should be refused"));
            assert!(
                err.starts_with("le mot de passe est trop facile à deviner"),
                "{err}"
            );
            assert!(err.contains(word), "{password:?}: {err}");
            assert!(err.contains("phrase de plusieurs mots"), "{err}");
        }
    }

    #[test]
    fn strong_passwords_pass() {
        let inputs = user_inputs(EMAIL, NAME);
        for password in [
            "girafe orage cuillère verte",
            "correct-horse-battery-staple",
            "Tr3s-l0ng-m0t-de-pa$$e-unique",
            "fjK8#qLz2!vWp",
        ] {
            assert_eq!(check_strength(password, &inputs), Ok(()), "{password:?}");
        }
    }

    #[test]
    fn the_accounts_own_words_count_against_it() {
        // Strong for a stranger, weak for the account whose name it is.
        let password = "krzyzanowskiwojciechowska";
        let inputs = user_inputs("b.krzyzanowski@exemple.fr", "Barbara Wojciechowska");
        assert_eq!(check_strength(password, &[]), Ok(()));
        let err = check_strength(password, &inputs).expect_err("own name");
        assert!(err.contains("nom"), "{err}");
    }

    #[test]
    fn user_inputs_split_the_address_and_the_name() {
        let inputs = user_inputs("jean-luc.o'neil@exemple.fr", "Jean-Luc O'Neil");
        for w in ["jean", "luc", "neil", "Jean", "Luc", "Neil", "essor"] {
            assert!(inputs.iter().any(|i| i == w), "{w} missing from {inputs:?}");
        }
    }

    #[test]
    fn a_name_typed_without_its_accents_still_counts() {
        let inputs = user_inputs("invite@exemple.fr", "Jeanne Invitée");
        assert!(inputs.iter().any(|i| i == "Invitee"), "{inputs:?}");
        for password in ["jeanneinvitee", "jeanneinvitée", "invitee"] {
            let err = check_strength(password, &inputs)
                .expect_err(&format!("{password:?} should be refused"));
            assert!(err.contains("trop facile à deviner"), "{err}");
        }
    }
}
