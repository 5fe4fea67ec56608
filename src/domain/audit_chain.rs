//! The audit trail as a hash chain an auditor can check without trusting essor (DESIGN.md §18,
//! issue 32). Pure: no I/O, no clock, no randomness (the salt comes in).
//!
//! - The payload is committed to with a random salt: `commitment = SHA-256(salt ‖ payload)`,
//!   so an erased payload (payload and salt cleared) leaves a commitment that says nothing of
//!   it, yet proves it had been the one recorded if someone still holds it.
//! - The leaf covers everything of the row except the payload and the salt (so clearing them
//!   keeps the chain whole): `leaf = SHA-256(encoding of seq, id, at, actor, action, subjects,
//!   states, commitment)`, see [`leaf`].
//! - The chain links each leaf to all before it: `chain(n) = SHA-256(chain(n-1) ‖ leaf(n))`,
//!   `chain(0)` being 32 zero bytes.
//! - A checkpoint `{size, root, at}` is signed with Ed25519: `root` is `chain(size)`; a row
//!   removed at the end, or a chain recomputed after a change, no longer matches a checkpoint
//!   signed before.
//!
//! Hashes, salts and signatures travel as lower-case hex.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub type Digest = [u8; 32];

/// The chain before its first event.
pub const GENESIS: Digest = [0; 32];

/// The length of a payload's salt, in bytes.
pub const SALT_LEN: usize = 32;

const LEAF_TAG: &[u8] = b"essor-audit-leaf-v1\0";
const CHECKPOINT_TAG: &str = "essor-audit-checkpoint-v1";

/// `at` as the leaf and the checkpoint hash it: UTC, to the microsecond (what both databases
/// keep), so a value read back hashes as the value written.
pub fn time_text(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// `at` in exports as the leaf and the checkpoint message hash it (always six decimals), so
/// an auditor hashes the text as written.
mod micros {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::time_text(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
            .map_err(serde::de::Error::custom)
    }
}

/// `at` cut to the microsecond: what an event must carry before it is hashed and stored.
pub fn to_micros(at: NaiveDateTime) -> NaiveDateTime {
    use chrono::SubsecRound;
    at.trunc_subsecs(6)
}

pub fn commitment(salt: &[u8], payload: &str) -> Digest {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(payload.as_bytes());
    h.finalize().into()
}

/// What of an event the leaf covers: all of the row but its payload and salt.
#[derive(Debug, Clone, Copy)]
pub struct LeafFields<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub at: NaiveDateTime,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub application_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub from_state: Option<&'a str>,
    pub to_state: Option<&'a str>,
    pub commitment: &'a Digest,
}

/// `SHA-256("essor-audit-leaf-v1\0" ‖ seq as 8 bytes big-endian ‖ field…)`, each text field
/// as `0x00` when absent or `0x01 ‖ length (8 bytes big-endian) ‖ UTF-8 bytes`, in the order
/// id, at ([`time_text`]), actor_id, action, application_id, call_id, from_state, to_state,
/// then the 32 bytes of the commitment. Lengths make the encoding unambiguous: no two
/// different rows give the same bytes.
pub fn leaf(f: &LeafFields<'_>) -> Digest {
    fn field(h: &mut Sha256, v: Option<&str>) {
        match v {
            None => h.update([0u8]),
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    let mut h = Sha256::new();
    h.update(LEAF_TAG);
    h.update(f.seq.to_be_bytes());
    field(&mut h, Some(f.id));
    field(&mut h, Some(&time_text(f.at)));
    field(&mut h, f.actor_id);
    field(&mut h, Some(f.action));
    field(&mut h, f.application_id);
    field(&mut h, f.call_id);
    field(&mut h, f.from_state);
    field(&mut h, f.to_state);
    h.update(f.commitment);
    h.finalize().into()
}

pub fn chain(prev: &Digest, leaf: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(leaf);
    h.finalize().into()
}

pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// Lower-case hex only (what essor writes), so one value has one spelling.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect()
}

fn digest_from_hex(s: &str) -> Option<Digest> {
    from_hex(s)?.try_into().ok()
}

/// One event as stored and exported (one JSON line of `events.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedEvent {
    pub seq: i64,
    pub id: String,
    /// UTC, to the microsecond (`2026-12-05T14:03:31.148908`).
    #[serde(with = "micros")]
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: String,
    pub application_id: Option<String>,
    pub call_id: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// The payload as recorded (JSON text); `None` once erased.
    pub payload: Option<String>,
    /// Hex; `None` once erased (with the payload).
    pub salt: Option<String>,
    pub commitment: String,
    pub leaf: String,
    pub chain: String,
}

/// The hashes of a new event, given the previous chain head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub salt: String,
    pub commitment: String,
    pub leaf: String,
    pub chain: String,
}

/// What the writer knows of an event before it is sealed.
#[derive(Debug, Clone, Copy)]
pub struct Unsealed<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub at: NaiveDateTime,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub application_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub from_state: Option<&'a str>,
    pub to_state: Option<&'a str>,
    pub payload: &'a str,
}

/// Seals an event after `prev` (the chain head of `seq - 1`). `at` must already be cut to the
/// microsecond ([`to_micros`]).
pub fn seal(e: &Unsealed<'_>, salt: &[u8; SALT_LEN], prev: &Digest) -> (Sealed, Digest) {
    let c = commitment(salt, e.payload);
    let l = leaf(&LeafFields {
        seq: e.seq,
        id: e.id,
        at: e.at,
        actor_id: e.actor_id,
        action: e.action,
        application_id: e.application_id,
        call_id: e.call_id,
        from_state: e.from_state,
        to_state: e.to_state,
        commitment: &c,
    });
    let head = chain(prev, &l);
    (
        Sealed {
            salt: to_hex(salt),
            commitment: to_hex(&c),
            leaf: to_hex(&l),
            chain: to_hex(&head),
        },
        head,
    )
}

/// A signed statement that the chain held `size` events whose head was `root`, at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub size: i64,
    /// Hex of `chain(size)`.
    pub root: String,
    #[serde(with = "micros")]
    pub at: NaiveDateTime,
    /// Hex of the Ed25519 public key that signed it.
    pub key: String,
    /// Hex of the Ed25519 signature of [`checkpoint_message`].
    pub signature: String,
}

/// The bytes a checkpoint's signature covers, as text an auditor can rebuild by hand:
/// `essor-audit-checkpoint-v1\n{size}\n{root}\n{at}\n`.
pub fn checkpoint_message(size: i64, root: &str, at: NaiveDateTime) -> String {
    format!("{CHECKPOINT_TAG}\n{size}\n{root}\n{}\n", time_text(at))
}

pub fn sign_checkpoint(
    key: &SigningKey,
    size: i64,
    root: &Digest,
    at: NaiveDateTime,
) -> Checkpoint {
    let at = to_micros(at);
    let root = to_hex(root);
    let signature = key.sign(checkpoint_message(size, &root, at).as_bytes());
    Checkpoint {
        size,
        root,
        at,
        key: to_hex(key.verifying_key().as_bytes()),
        signature: to_hex(&signature.to_bytes()),
    }
}

/// Why the trail does not verify at a given `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The row at this place has another `seq`: a row is missing, added or moved.
    Sequence { found: i64 },
    /// A hash, salt or signature is not lower-case hex of the right length.
    Malformed { field: &'static str },
    /// The payload and salt do not give the recorded commitment: the payload was changed.
    Commitment,
    /// Only one of payload and salt is there (an erasure clears both).
    HalfErased,
    /// The row's fields do not give its recorded leaf: a field was changed.
    Leaf,
    /// The previous head and the leaf do not give the recorded chain head.
    Chain,
    /// A checkpoint counts events that are not there: rows were removed at the end.
    Missing { checkpoint_size: i64 },
    /// A checkpoint's signature is wrong, or it was signed by another key.
    Signature,
    /// A checkpoint's root is not the chain head at its size: the chain was rewritten.
    Root,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sequence { found } => {
                write!(
                    f,
                    "the row here has seq {found}: a row is missing, added or moved"
                )
            }
            Self::Malformed { field } => write!(f, "{field} is not valid hex of its length"),
            Self::Commitment => write!(f, "the payload does not match its commitment"),
            Self::HalfErased => write!(f, "only one of payload and salt is present"),
            Self::Leaf => write!(f, "the row's fields do not match its leaf hash"),
            Self::Chain => write!(f, "the chain hash does not follow from the previous one"),
            Self::Missing { checkpoint_size } => write!(
                f,
                "a checkpoint counts {checkpoint_size} events: events at the end are missing"
            ),
            Self::Signature => write!(f, "a checkpoint's signature is not valid for the key"),
            Self::Root => write!(f, "a checkpoint's root is not the chain head at its size"),
        }
    }
}

/// The first place where the trail does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seq {seq}: {failure}")]
pub struct Mismatch {
    pub seq: i64,
    pub failure: Failure,
}

/// What a successful verification saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub events: i64,
    /// Events whose payload was erased (still chained).
    pub erased: i64,
    pub checkpoints: usize,
    /// The chain head after the last event (hex is `to_hex(&head)`).
    #[serde(skip)]
    pub head: Digest,
}

/// Walks the events in `seq` order, one at a time (a trail of millions of rows is never held
/// in memory), and checks the checkpoints as their size is reached.
pub struct ChainVerifier {
    key: VerifyingKey,
    /// Checkpoints by size.
    checkpoints: BTreeMap<i64, Vec<Checkpoint>>,
    count: usize,
    next: i64,
    head: Digest,
    erased: i64,
}

impl ChainVerifier {
    pub fn new(key: VerifyingKey, checkpoints: Vec<Checkpoint>) -> Self {
        let count = checkpoints.len();
        let mut by_size: BTreeMap<i64, Vec<Checkpoint>> = BTreeMap::new();
        for c in checkpoints {
            by_size.entry(c.size).or_default().push(c);
        }
        Self {
            key,
            checkpoints: by_size,
            count,
            next: 1,
            head: GENESIS,
            erased: 0,
        }
    }

    /// Checks the next event.
    pub fn push(&mut self, e: &ChainedEvent) -> Result<(), Mismatch> {
        let seq = self.next;
        let fail = |failure| Mismatch { seq, failure };
        if seq == 1 {
            self.check_checkpoints_at(0)?;
        }
        if e.seq != seq {
            return Err(fail(Failure::Sequence { found: e.seq }));
        }
        let malformed = |field| fail(Failure::Malformed { field });
        let commitment = digest_from_hex(&e.commitment).ok_or_else(|| malformed("commitment"))?;
        let leaf_hash = digest_from_hex(&e.leaf).ok_or_else(|| malformed("leaf"))?;
        let chain_hash = digest_from_hex(&e.chain).ok_or_else(|| malformed("chain"))?;
        match (&e.payload, &e.salt) {
            (Some(payload), Some(salt)) => {
                let salt = from_hex(salt)
                    .filter(|s| s.len() == SALT_LEN)
                    .ok_or_else(|| malformed("salt"))?;
                if self::commitment(&salt, payload) != commitment {
                    return Err(fail(Failure::Commitment));
                }
            }
            (None, None) => self.erased += 1,
            _ => return Err(fail(Failure::HalfErased)),
        }
        let expected_leaf = leaf(&LeafFields {
            seq: e.seq,
            id: &e.id,
            at: e.at,
            actor_id: e.actor_id.as_deref(),
            action: &e.action,
            application_id: e.application_id.as_deref(),
            call_id: e.call_id.as_deref(),
            from_state: e.from_state.as_deref(),
            to_state: e.to_state.as_deref(),
            commitment: &commitment,
        });
        if expected_leaf != leaf_hash {
            return Err(fail(Failure::Leaf));
        }
        let expected_chain = chain(&self.head, &leaf_hash);
        if expected_chain != chain_hash {
            return Err(fail(Failure::Chain));
        }
        self.head = expected_chain;
        self.check_checkpoints_at(seq)?;
        self.next += 1;
        Ok(())
    }

    fn check_checkpoints_at(&self, size: i64) -> Result<(), Mismatch> {
        let Some(list) = self.checkpoints.get(&size) else {
            return Ok(());
        };
        // Size 0 is named as seq 1: the first event a checkpoint of an empty trail precedes.
        let seq = size.max(1);
        for c in list {
            if !signature_holds(&self.key, c) {
                return Err(Mismatch {
                    seq,
                    failure: Failure::Signature,
                });
            }
            if c.root != to_hex(&self.head) {
                return Err(Mismatch {
                    seq,
                    failure: Failure::Root,
                });
            }
        }
        Ok(())
    }

    /// Ends the walk: checkpoints beyond the last event mean events removed at the end.
    pub fn finish(self) -> Result<Verified, Mismatch> {
        let last = self.next - 1;
        if last == 0 {
            self.check_checkpoints_at(0)?;
        }
        if let Some((&size, _)) = self.checkpoints.range(last + 1..).next() {
            return Err(Mismatch {
                seq: last + 1,
                failure: Failure::Missing {
                    checkpoint_size: size,
                },
            });
        }
        Ok(Verified {
            events: last,
            erased: self.erased,
            checkpoints: self.count,
            head: self.head,
        })
    }
}

fn signature_holds(key: &VerifyingKey, c: &Checkpoint) -> bool {
    if c.key != to_hex(key.as_bytes()) {
        return false;
    }
    let Some(bytes) = from_hex(&c.signature).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    let message = checkpoint_message(c.size, &c.root, c.at);
    key.verify(message.as_bytes(), &Signature::from_bytes(&bytes))
        .is_ok()
}

/// Verifies a whole trail held in memory (tests, small exports).
pub fn verify(
    key: VerifyingKey,
    events: &[ChainedEvent],
    checkpoints: Vec<Checkpoint>,
) -> Result<Verified, Mismatch> {
    let mut v = ChainVerifier::new(key, checkpoints);
    for e in events {
        v.push(e)?;
    }
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn base_time() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 5)
            .and_then(|d| d.and_hms_micro_opt(9, 30, 0, 123_456))
            .unwrap()
    }

    /// What a generated event holds before it is sealed.
    #[derive(Debug, Clone)]
    struct Raw {
        actor_id: Option<String>,
        action: String,
        application_id: Option<String>,
        from_state: Option<String>,
        payload: String,
        salt: [u8; SALT_LEN],
    }

    fn raw() -> impl Strategy<Value = Raw> {
        (
            proptest::option::of("[a-f0-9-]{1,12}"),
            "[a-z.-]{1,16}",
            proptest::option::of("[a-f0-9-]{1,12}"),
            proptest::option::of("[a-z_]{1,10}"),
            // JSON text with accents, quotes and emoji: any UTF-8 must round-trip.
            "\\PC{0,40}",
            proptest::array::uniform32(any::<u8>()),
        )
            .prop_map(
                |(actor_id, action, application_id, from_state, text, salt)| Raw {
                    actor_id,
                    action,
                    application_id,
                    from_state,
                    payload: serde_json::json!({ "reason": text }).to_string(),
                    salt,
                },
            )
    }

    fn build(raws: &[Raw]) -> Vec<ChainedEvent> {
        let mut head = GENESIS;
        raws.iter()
            .enumerate()
            .map(|(i, r)| {
                let seq = i as i64 + 1;
                let id = format!("event-{seq}");
                let at = base_time() + Duration::seconds(seq);
                let (sealed, next) = seal(
                    &Unsealed {
                        seq,
                        id: &id,
                        at,
                        actor_id: r.actor_id.as_deref(),
                        action: &r.action,
                        application_id: r.application_id.as_deref(),
                        call_id: None,
                        from_state: r.from_state.as_deref(),
                        to_state: None,
                        payload: &r.payload,
                    },
                    &r.salt,
                    &head,
                );
                head = next;
                ChainedEvent {
                    seq,
                    id,
                    at,
                    actor_id: r.actor_id.clone(),
                    action: r.action.clone(),
                    application_id: r.application_id.clone(),
                    call_id: None,
                    from_state: r.from_state.clone(),
                    to_state: None,
                    payload: Some(r.payload.clone()),
                    salt: Some(sealed.salt),
                    commitment: sealed.commitment,
                    leaf: sealed.leaf,
                    chain: sealed.chain,
                }
            })
            .collect()
    }

    /// A checkpoint over the whole trail, as the daily job signs it.
    fn checkpoint_of(events: &[ChainedEvent]) -> Checkpoint {
        let head = events
            .last()
            .map_or(GENESIS, |e| digest_from_hex(&e.chain).unwrap());
        sign_checkpoint(
            &key(),
            events.len() as i64,
            &head,
            base_time() + Duration::days(1),
        )
    }

    fn check(events: &[ChainedEvent], checkpoints: Vec<Checkpoint>) -> Result<Verified, Mismatch> {
        verify(key().verifying_key(), events, checkpoints)
    }

    /// Changes one character of a text (another character, so the text differs).
    fn alter(s: &mut String, at: usize) {
        let chars: Vec<char> = s.chars().collect();
        if chars.is_empty() {
            s.push('x');
            return;
        }
        let i = at % chars.len();
        let replaced = match chars[i] {
            'a' => 'b',
            '0' => '1',
            c if c.is_ascii_alphanumeric() => 'a',
            _ => '0',
        };
        *s = chars
            .iter()
            .enumerate()
            .map(|(j, &c)| if j == i { replaced } else { c })
            .collect();
    }

    fn alter_opt(v: &mut Option<String>, at: usize) {
        match v {
            Some(s) => alter(s, at),
            None => *v = Some("x".into()),
        }
    }

    /// The fields a tamperer can touch, by number (`tamper` changes field `field % FIELDS`).
    const FIELDS: usize = 14;

    fn tamper(e: &mut ChainedEvent, field: usize, at: usize) -> &'static str {
        match field % FIELDS {
            0 => {
                // `at % 5` before the cast: a huge `at` cast first is negative, and `1 + -1` changes nothing.
                e.seq += 1 + (at % 5) as i64;
                "seq"
            }
            1 => {
                alter(&mut e.id, at);
                "id"
            }
            2 => {
                e.at += Duration::microseconds(1 + (at % 1_000_000) as i64);
                "at"
            }
            3 => {
                alter_opt(&mut e.actor_id, at);
                "actor_id"
            }
            4 => {
                alter(&mut e.action, at);
                "action"
            }
            5 => {
                alter_opt(&mut e.application_id, at);
                "application_id"
            }
            6 => {
                alter_opt(&mut e.call_id, at);
                "call_id"
            }
            7 => {
                alter_opt(&mut e.from_state, at);
                "from_state"
            }
            8 => {
                alter_opt(&mut e.to_state, at);
                "to_state"
            }
            9 => {
                alter_opt(&mut e.payload, at);
                "payload"
            }
            10 => {
                alter_opt(&mut e.salt, at);
                "salt"
            }
            11 => {
                alter(&mut e.commitment, at);
                "commitment"
            }
            12 => {
                alter(&mut e.leaf, at);
                "leaf"
            }
            _ => {
                alter(&mut e.chain, at);
                "chain"
            }
        }
    }

    fn erase(e: &mut ChainedEvent) {
        e.payload = None;
        e.salt = None;
    }

    #[test]
    fn a_trail_verifies_and_names_its_size() {
        let raws: Vec<Raw> = (0..5)
            .map(|i| Raw {
                actor_id: Some(format!("u{i}")),
                action: "submit".into(),
                application_id: Some("a".into()),
                from_state: Some("draft".into()),
                payload: "{}".into(),
                salt: [i; SALT_LEN],
            })
            .collect();
        let events = build(&raws);
        let v = check(
            &events,
            vec![checkpoint_of(&events[..3]), checkpoint_of(&events)],
        )
        .unwrap();
        assert_eq!((v.events, v.erased, v.checkpoints), (5, 0, 2));
        assert_eq!(to_hex(&v.head), events[4].chain);
        // The empty trail, with or without its checkpoint.
        assert_eq!(check(&[], vec![]).unwrap().events, 0);
        assert_eq!(check(&[], vec![checkpoint_of(&[])]).unwrap().checkpoints, 1);
    }

    #[test]
    fn hex_round_trips_and_refuses_other_spellings() {
        assert_eq!(to_hex(&[0, 1, 0xab, 0xff]), "0001abff");
        assert_eq!(from_hex("0001abff"), Some(vec![0, 1, 0xab, 0xff]));
        for bad in ["0", "0g", "AB", " 00"] {
            assert_eq!(from_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_leaf_encoding_tells_absent_from_empty_and_shifted_fields() {
        let c = [0u8; 32];
        let f = |actor: Option<&'static str>, action: &'static str| LeafFields {
            seq: 1,
            id: "e",
            at: base_time(),
            actor_id: actor,
            action,
            application_id: None,
            call_id: None,
            from_state: None,
            to_state: None,
            commitment: &c,
        };
        assert_ne!(leaf(&f(None, "x")), leaf(&f(Some(""), "x")));
        assert_ne!(leaf(&f(Some("ab"), "c")), leaf(&f(Some("a"), "bc")));
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_or_altered_fails() {
        let raws: Vec<Raw> = (0..3)
            .map(|i| Raw {
                actor_id: None,
                action: "retention.sessions".into(),
                application_id: None,
                from_state: None,
                payload: "{\"count\":1}".into(),
                salt: [i; SALT_LEN],
            })
            .collect();
        let events = build(&raws);
        let other = SigningKey::from_bytes(&[9; 32]);
        let head = digest_from_hex(&events[1].chain).unwrap();
        let foreign = sign_checkpoint(&other, 2, &head, base_time());
        assert_eq!(
            check(&events, vec![foreign]).unwrap_err(),
            Mismatch {
                seq: 2,
                failure: Failure::Signature
            }
        );
        let mut moved = checkpoint_of(&events[..2]);
        moved.at += Duration::seconds(1);
        assert_eq!(
            check(&events, vec![moved]).unwrap_err().failure,
            Failure::Signature
        );
    }

    #[test]
    fn a_chain_recomputed_after_a_change_is_caught_by_the_checkpoint() {
        let raws: Vec<Raw> = (0..4)
            .map(|i| Raw {
                actor_id: Some("u".into()),
                action: "withdraw".into(),
                application_id: Some("a".into()),
                from_state: None,
                payload: "{\"reason\":\"x\"}".into(),
                salt: [i; SALT_LEN],
            })
            .collect();
        let events = build(&raws);
        let signed = checkpoint_of(&events);
        // The tamperer changes event 2 and recomputes every hash after it, consistently.
        let mut forged = raws.clone();
        forged[1].payload = "{\"reason\":\"autre\"}".into();
        let forged = build(&forged);
        assert!(check(&forged, vec![]).is_ok(), "consistent by itself");
        assert_eq!(
            check(&forged, vec![signed]).unwrap_err(),
            Mismatch {
                seq: 4,
                failure: Failure::Root
            }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any change of any field of any row: `verify` names that row.
        #[test]
        fn flipping_any_field_of_any_row_fails_at_that_seq(
            raws in proptest::collection::vec(raw(), 1..12),
            row in any::<usize>(),
            field in 0..FIELDS,
            at in any::<usize>(),
        ) {
            let mut events = build(&raws);
            let i = row % events.len();
            let name = tamper(&mut events[i], field, at);
            let err = check(&events, vec![]).expect_err(name);
            prop_assert_eq!(err.seq, i as i64 + 1, "{} of row {}: {:?}", name, i + 1, err);
        }

        /// Two rows swapped: the first place is named.
        #[test]
        fn reordering_rows_fails_at_the_first_moved_seq(
            raws in proptest::collection::vec(raw(), 2..12),
            a in any::<usize>(),
            b in any::<usize>(),
        ) {
            let mut events = build(&raws);
            let (a, b) = (a % events.len(), b % events.len());
            prop_assume!(a != b);
            events.swap(a, b);
            let err = check(&events, vec![]).unwrap_err();
            prop_assert_eq!(err.seq, a.min(b) as i64 + 1);
            let moved = matches!(err.failure, Failure::Sequence { .. });
            prop_assert!(moved, "{:?}", err);
        }

        /// A row deleted anywhere (at the end, the checkpoint signed before tells it).
        #[test]
        fn deleting_a_row_fails_at_its_seq(
            raws in proptest::collection::vec(raw(), 1..12),
            row in any::<usize>(),
        ) {
            let mut events = build(&raws);
            let signed = checkpoint_of(&events);
            let i = row % events.len();
            events.remove(i);
            let err = check(&events, vec![signed]).unwrap_err();
            prop_assert_eq!(err.seq, i as i64 + 1, "{:?}", err);
        }

        /// A row inserted anywhere, even one copied from a real row and given the place's seq.
        #[test]
        fn inserting_a_row_fails_at_its_seq(
            raws in proptest::collection::vec(raw(), 1..12),
            row in any::<usize>(),
            copied in any::<usize>(),
        ) {
            let mut events = build(&raws);
            let signed = checkpoint_of(&events);
            let i = row % (events.len() + 1);
            let mut extra = events[copied % events.len()].clone();
            extra.seq = i as i64 + 1;
            // The very row already at that place, repeated, is not an insertion to find there.
            prop_assume!(events.get(i) != Some(&extra));
            events.insert(i, extra.clone());
            let err = check(&events, vec![signed]).unwrap_err();
            prop_assert_eq!(err.seq, i as i64 + 1, "{:?} inserting {:?}", err, extra);
        }

        /// Erasure and retention clear payloads and salts: the trail still verifies, with
        /// its checkpoints.
        #[test]
        fn erasing_payloads_keeps_the_chain(
            raws in proptest::collection::vec(raw(), 1..12),
            erased in proptest::collection::vec(any::<bool>(), 12),
        ) {
            let mut events = build(&raws);
            let signed = checkpoint_of(&events);
            let mut n = 0;
            for (e, &gone) in events.iter_mut().zip(&erased) {
                if gone {
                    erase(e);
                    n += 1;
                }
            }
            let v = check(&events, vec![signed]).unwrap();
            prop_assert_eq!(v.erased, n);
            prop_assert_eq!(v.events, raws.len() as i64);
        }

        /// An erased row's other fields are still held to their leaf.
        #[test]
        fn an_erased_row_is_still_checked(
            raws in proptest::collection::vec(raw(), 1..12),
            row in any::<usize>(),
            field in 0..FIELDS,
            at in any::<usize>(),
        ) {
            let mut events = build(&raws);
            let i = row % events.len();
            erase(&mut events[i]);
            let name = tamper(&mut events[i], field, at);
            let err = check(&events, vec![]).expect_err(name);
            prop_assert_eq!(err.seq, i as i64 + 1);
        }
    }
}
