//! Keyset paging (issue 19): an opaque `cursor` names a position in a list's order (the sort
//! key and id of a row), so the next page is read from there on, never walking the rows
//! before it as OFFSET does.
//!
//! A cursor is base64url (no padding) of a compact JSON object:
//! `{"s": sort, "p": page it leads to, "d": "after"|"before", "k": sort key, "i": id}`.
//! It is not signed: it only says where to start reading, and every query still applies the
//! caller's visibility, so a forged cursor reaches nothing more than `page=` would.
//!
//! [`Window`] is what a list's database function receives: what to read (a keyset bound or an
//! OFFSET, in the list's order or reversed, how many rows), and what turns the rows read into
//! the page with its `next_cursor` and `prev_cursor`. Each list only writes its condition and
//! order for the [`Read`] it is given.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ServiceError;

/// Which side of the named row the page lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// The rows that follow it in the list's order (`next_cursor`).
    After,
    /// The rows that precede it (`prev_cursor`).
    Before,
}

/// The type of a list's sort key, to read a cursor's key back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Time,
    Text,
    Int,
    /// A time that may be missing (`submitted_at` of a draft).
    OptTime,
}

/// The sort key of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Time(NaiveDateTime),
    Text(String),
    Int(i64),
    /// No value (a NULL of an optional key).
    Null,
}

impl Key {
    fn to_json(&self) -> Value {
        match self {
            Key::Time(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            Key::Text(s) => Value::String(s.clone()),
            Key::Int(n) => Value::from(*n),
            Key::Null => Value::Null,
        }
    }

    fn from_json(v: &Value, kind: KeyKind) -> Option<Key> {
        match (kind, v) {
            (KeyKind::Time | KeyKind::OptTime, Value::String(s)) => s.parse().ok().map(Key::Time),
            (KeyKind::OptTime, Value::Null) => Some(Key::Null),
            (KeyKind::Text, Value::String(s)) => Some(Key::Text(s.clone())),
            (KeyKind::Int, Value::Number(n)) => n.as_i64().map(Key::Int),
            _ => None,
        }
    }

    /// The time of a `Time` key (what lists keyed on a timestamp read).
    pub fn time(&self) -> Option<NaiveDateTime> {
        match self {
            Key::Time(t) => Some(*t),
            _ => None,
        }
    }
}

/// A decoded cursor, its key not yet read as the list's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    /// The list and order it belongs to (`applications:-created_at`).
    #[serde(rename = "s")]
    pub sort: String,
    /// The page number it leads to.
    #[serde(rename = "p")]
    pub page: u32,
    #[serde(rename = "d")]
    pub dir: Dir,
    /// The sort key of the row it names.
    #[serde(rename = "k")]
    pub key: Value,
    /// The id of the row it names.
    #[serde(rename = "i")]
    pub id: String,
    /// The list's `total` as counted by the page that made the cursor: a page read from a
    /// cursor answers it instead of counting the whole list again (the count, not the page,
    /// was most of a cursor page's time: bench/run, issue 19).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// The longest cursor taken (ours are far shorter: a key, an id, a sort name).
const MAX_CURSOR_CHARS: usize = 2048;

fn invalid_cursor(why: &str) -> ServiceError {
    ServiceError::BadInput(format!(
        "Paramètre « cursor » invalide : {why}. Reprenez la liste depuis sa première page, ou \
         utilisez le `next_cursor` d'une réponse de cette même liste, dans le même ordre."
    ))
}

impl Cursor {
    #[expect(
        clippy::expect_used,
        reason = "a cursor of strings and numbers always serialises"
    )]
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a cursor serialises");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor back; anything that is not one of ours is a 400 naming `cursor`.
    pub fn decode(s: &str) -> Result<Cursor, ServiceError> {
        let s = s.trim();
        if s.is_empty() || s.len() > MAX_CURSOR_CHARS {
            return Err(invalid_cursor("il est vide ou trop long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| invalid_cursor("il n'a pas été lu (il a peut-être été tronqué)"))?;
        let cursor: Cursor = serde_json::from_slice(&bytes)
            .map_err(|_| invalid_cursor("il n'a pas été lu (il a peut-être été tronqué)"))?;
        if cursor.page == 0 || cursor.id.is_empty() {
            return Err(invalid_cursor("il ne désigne aucune position"));
        }
        Ok(cursor)
    }
}

/// Where a list is asked to start: a page number, or a cursor (which carries its page number).
#[derive(Debug, Clone)]
pub struct Position {
    pub page: u32,
    pub per_page: u32,
    pub cursor: Option<Cursor>,
}

impl Position {
    /// This position for a list whose order is `sort` (its name in cursors) with keys of type
    /// `kind`: a 400 naming `cursor` when the cursor belongs to another list or order.
    pub fn window(&self, sort: &str, kind: KeyKind) -> Result<Window, ServiceError> {
        let seek = match &self.cursor {
            None => None,
            Some(c) => {
                if c.sort != sort {
                    return Err(invalid_cursor(&format!(
                        "il appartient à une autre liste ou à un autre ordre (« {} ») que celui \
                         demandé (« {sort} »)",
                        c.sort
                    )));
                }
                let key = Key::from_json(&c.key, kind)
                    .ok_or_else(|| invalid_cursor("sa clé de tri n'est pas du bon type"))?;
                Some(Seek {
                    dir: c.dir,
                    key,
                    id: c.id.clone(),
                })
            }
        };
        Ok(Window {
            sort: sort.to_owned(),
            page: self.page,
            per_page: self.per_page,
            seek,
            total: self
                .cursor
                .as_ref()
                .and_then(|c| c.total)
                .filter(|t| *t >= 0),
        })
    }
}

/// A keyset bound: the rows after (or before) the row of this key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seek {
    pub dir: Dir,
    pub key: Key,
    pub id: String,
}

/// A page to read of a list in a given order.
#[derive(Debug, Clone)]
pub struct Window {
    sort: String,
    page: u32,
    per_page: u32,
    seek: Option<Seek>,
    /// The total a cursor carried.
    total: Option<i64>,
}

/// What a list's query reads: the rows strictly after `after` (when set) in the list's order,
/// or in the reverse order when `reversed`, skipping `offset` of them, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub reversed: bool,
    /// A row (key, id): only the rows that come after it in the order read.
    pub after: Option<(Key, String)>,
    pub offset: i64,
    pub limit: i64,
    /// Rows read beyond the page tell there are more (a keyset or a forward OFFSET read
    /// asks for one more row than the page holds).
    probe: bool,
    /// An OFFSET read from the end: whether rows remain after the page in the list's order.
    more_after: bool,
    /// The list's total, which the page's cursors carry.
    total: i64,
}

impl Read {
    /// Whether the order read is descending, for a list whose own order is `descending`.
    pub fn descending(&self, list_descending: bool) -> bool {
        list_descending != self.reversed
    }

    /// Nothing to read (a page past the end).
    pub fn is_empty(&self) -> bool {
        self.limit == 0
    }
}

/// A page of rows and the cursors around it.
#[derive(Debug, Clone)]
pub struct Paged<R> {
    pub rows: Vec<R>,
    pub page: u32,
    pub next_cursor: Option<String>,
    pub prev_cursor: Option<String>,
}

impl Window {
    /// The first page of `per_page` rows (callers that list without a position).
    pub fn first(sort: &str, per_page: u32) -> Window {
        Window {
            sort: sort.to_owned(),
            page: 1,
            per_page,
            seek: None,
            total: None,
        }
    }

    /// The list's total: the one the cursor carried, else `count()` (the query that counts
    /// the whole list, run only then). The cursors of the page read with it carry it on
    /// (`read`).
    pub fn total<E>(&self, count: impl FnOnce() -> Result<i64, E>) -> Result<i64, E> {
        self.total.map_or_else(count, Ok)
    }

    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    /// What to read, knowing the list's `total`. A cursor reads from its row on (before it:
    /// the reversed order from its row on). A page number past the middle of the list is
    /// read from the end, the offset counted from there, so the last page costs what the
    /// first does.
    pub fn read(&self, total: i64) -> Read {
        let n = i64::from(self.per_page);
        if let Some(seek) = &self.seek {
            return Read {
                reversed: seek.dir == Dir::Before,
                after: Some((seek.key.clone(), seek.id.clone())),
                offset: 0,
                limit: n + 1,
                probe: true,
                more_after: false,
                total,
            };
        }
        let offset = i64::from(self.page - 1).saturating_mul(n);
        if offset >= total {
            // Past the end; the first page of an empty list still looks.
            let limit = if offset == 0 { n + 1 } else { 0 };
            return Read {
                reversed: false,
                after: None,
                offset,
                limit,
                probe: true,
                more_after: false,
                total,
            };
        }
        if offset > 0 && offset.saturating_mul(2) > total {
            let rows = n.min(total - offset);
            return Read {
                reversed: true,
                after: None,
                offset: (total - offset - n).max(0),
                limit: rows,
                probe: false,
                more_after: offset + n < total,
                total,
            };
        }
        Read {
            reversed: false,
            after: None,
            offset,
            limit: n + 1,
            probe: true,
            more_after: false,
            total,
        }
    }

    fn cursor(&self, page: u32, dir: Dir, (key, id): (Key, String), total: i64) -> String {
        Cursor {
            sort: self.sort.clone(),
            page: page.max(1),
            dir,
            key: key.to_json(),
            id,
            total: Some(total),
        }
        .encode()
    }

    /// The page made of the rows `read` returned (in the order read), with its cursors;
    /// `key_of` gives a row's sort key and id.
    pub fn finish<R>(
        &self,
        read: &Read,
        mut rows: Vec<R>,
        key_of: impl Fn(&R) -> (Key, String),
    ) -> Paged<R> {
        let n = self.per_page as usize;
        let beyond = if read.probe {
            let more = rows.len() > n;
            rows.truncate(n);
            more
        } else {
            read.more_after
        };
        if read.reversed {
            rows.reverse();
        }
        let (more_after, more_before) = match (&self.seek, read.reversed) {
            // Read backwards from a cursor: what lies beyond is before the page, and the
            // cursor's own row after it.
            (Some(_), true) => (true, beyond),
            (Some(_), false) => (beyond, true),
            (None, _) => (beyond, self.page > 1),
        };
        let page = self.page;
        let next_cursor = match rows.last() {
            Some(last) if more_after => {
                Some(self.cursor(page.saturating_add(1), Dir::After, key_of(last), read.total))
            }
            _ => None,
        };
        let prev_cursor = match rows.first() {
            Some(first) if more_before => Some(self.cursor(
                page.saturating_sub(1),
                Dir::Before,
                key_of(first),
                read.total,
            )),
            _ => None,
        };
        Paged {
            rows,
            page,
            next_cursor,
            prev_cursor,
        }
    }
}

/// The keyset condition and order of a list ordered by one non-null column then its id (both
/// ascending or both descending), applied to a boxed diesel query: `$q` filtered to the rows
/// after `$read.after`, ordered, offset and limited. The redundant first term of the
/// condition (`key <= k AND (key < k OR id < last)`) is what lets the database start its
/// index scan at the key rather than filter from the top.
#[macro_export]
macro_rules! keyset_query {
    ($q:expr, $key:expr, $id:expr, $read:expr, descending = $desc:expr, key = $key_of:expr) => {{
        let read: &$crate::input::cursor::Read = $read;
        let mut q = $q;
        let desc = read.descending($desc);
        if let Some((k, last)) = &read.after {
            let k = ($key_of)(k);
            if desc {
                q = q.filter($key.le(k.clone()).and($key.lt(k).or($id.lt(last.clone()))));
            } else {
                q = q.filter($key.ge(k.clone()).and($key.gt(k).or($id.gt(last.clone()))));
            }
        }
        q = if desc {
            q.order(($key.desc(), $id.desc()))
        } else {
            q.order(($key.asc(), $id.asc()))
        };
        q.offset(read.offset).limit(read.limit)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn cursors_round_trip() {
        let cases = [
            (Key::Time(t("2026-03-01T10:00:00")), KeyKind::Time),
            (Key::Time(t("2026-03-01T10:00:00.123456")), KeyKind::Time),
            (
                Key::Time(t("2026-03-01T10:00:00.123456789")),
                KeyKind::OptTime,
            ),
            (Key::Null, KeyKind::OptTime),
            (
                Key::Text("Les Ateliers du Sart — « é »".into()),
                KeyKind::Text,
            ),
            (Key::Text(String::new()), KeyKind::Text),
            (Key::Int(2_000_000), KeyKind::Int),
            (Key::Int(-1), KeyKind::Int),
        ];
        for (key, kind) in cases {
            for dir in [Dir::After, Dir::Before] {
                let c = Cursor {
                    sort: "applications:-created_at".into(),
                    page: 7,
                    dir,
                    key: key.to_json(),
                    id: "0190a1b2-0000-7000-8000-000000000001".into(),
                    total: Some(4_321),
                };
                let s = c.encode();
                assert!(
                    s.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'),
                    "{s}"
                );
                let back = Cursor::decode(&s).unwrap();
                assert_eq!(back, c);
                let pos = Position {
                    page: back.page,
                    per_page: 20,
                    cursor: Some(back),
                };
                let w = pos.window("applications:-created_at", kind).unwrap();
                let seek = w.seek.unwrap();
                assert_eq!((seek.dir, seek.key, w.page), (dir, key.clone(), 7));
            }
        }
    }

    /// A page read from a cursor answers the total the cursor carried, without counting; the
    /// cursors a page makes carry the total it counted.
    #[test]
    fn cursors_carry_the_total_so_later_pages_do_not_count() {
        let first = Window::first("users:created_at", 2);
        let mut counted = 0;
        let total = first
            .total(|| {
                counted += 1;
                Ok::<_, ()>(5)
            })
            .unwrap();
        assert_eq!((total, counted), (5, 1));
        let read = first.read(total);
        let rows = vec![("a", 1), ("b", 2), ("c", 3)];
        let key = |r: &(&str, i64)| (Key::Int(r.1), r.0.to_owned());
        let paged = first.finish(&read, rows, key);
        let next = Cursor::decode(paged.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(next.total, Some(5));
        let second = Position {
            page: next.page,
            per_page: 2,
            cursor: Some(next),
        }
        .window("users:created_at", KeyKind::Int)
        .unwrap();
        let total = second
            .total(|| -> Result<i64, ()> { panic!("a cursor page counted again") })
            .unwrap();
        assert_eq!(total, 5);
        // A forged negative total is not believed: the list is counted.
        let forged = Cursor {
            total: Some(-3),
            ..Cursor::decode(paged.next_cursor.as_deref().unwrap()).unwrap()
        };
        let w = Position {
            page: 2,
            per_page: 2,
            cursor: Some(forged),
        }
        .window("users:created_at", KeyKind::Int)
        .unwrap();
        assert_eq!(w.total(|| Ok::<_, ()>(5)).unwrap(), 5);
    }

    #[test]
    fn bad_cursors_are_refused_naming_the_parameter() {
        let good = Cursor {
            sort: "users:created_at".into(),
            page: 2,
            dir: Dir::After,
            key: Key::Time(t("2026-03-01T10:00:00")).to_json(),
            id: "x".into(),
            total: None,
        };
        let raw = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let undecodable = [
            "".to_owned(),
            "!!!".to_owned(),
            "eyJzIjoi".to_owned(),         // truncated JSON
            format!("{}=", good.encode()), // padding
            raw("[1,2]"),                  // not an object
            raw(r#"{"s":"users:created_at","p":0,"d":"after","k":null,"i":"x"}"#), // page 0
            raw(r#"{"s":"users:created_at","p":2,"d":"sideways","k":null,"i":"x"}"#),
            raw(r#"{"s":"users:created_at","p":2,"d":"after","k":null,"i":""}"#),
            raw(r#"{"s":"users:created_at","p":2,"d":"after","k":null,"i":"x","z":1}"#),
            "A".repeat(MAX_CURSOR_CHARS + 1),
        ];
        for s in undecodable {
            let err = Cursor::decode(&s).unwrap_err();
            assert!(
                matches!(&err, ServiceError::BadInput(m) if m.contains("« cursor »")),
                "{s}: {err:?}"
            );
        }
        let pos = |c: Cursor| Position {
            page: c.page,
            per_page: 20,
            cursor: Some(c),
        };
        // Another list or order.
        let err = pos(good.clone())
            .window("applications:-created_at", KeyKind::Time)
            .unwrap_err();
        assert!(matches!(&err, ServiceError::BadInput(m) if m.contains("autre")));
        // A key of the wrong type for the order.
        for (key, kind) in [
            (Value::from(3), KeyKind::Time),
            (Value::Null, KeyKind::Time),
            (Value::String("x".into()), KeyKind::Int),
            (Value::String("not a date".into()), KeyKind::OptTime),
            (Value::from(1.5), KeyKind::Int),
        ] {
            let c = Cursor {
                key,
                ..good.clone()
            };
            assert!(pos(c).window("users:created_at", kind).is_err());
        }
        assert!(pos(good).window("users:created_at", KeyKind::Time).is_ok());
    }

    fn window(page: u32, per_page: u32) -> Window {
        Position {
            page,
            per_page,
            cursor: None,
        }
        .window("l", KeyKind::Int)
        .unwrap()
    }

    #[test]
    fn page_numbers_past_the_middle_are_read_from_the_end() {
        // 95 rows, pages of 20: pages 1-3 forward, 4-5 backward; 6 is past the end.
        let r = |page| window(page, 20).read(95);
        assert_eq!((r(1).reversed, r(1).offset, r(1).limit), (false, 0, 21));
        assert_eq!((r(2).reversed, r(2).offset, r(2).limit), (false, 20, 21));
        assert_eq!((r(3).reversed, r(3).offset, r(3).limit), (false, 40, 21));
        assert_eq!((r(4).reversed, r(4).offset, r(4).limit), (true, 15, 20));
        assert_eq!((r(5).reversed, r(5).offset, r(5).limit), (true, 0, 15));
        assert!(r(6).is_empty());
        assert!(!window(1, 20).read(0).is_empty());
        // The last page read backwards: rows put back in order, no next, a previous.
        let w = window(5, 20);
        let read = w.read(95);
        let rows: Vec<i64> = (80..95).rev().collect();
        let page = w.finish(&read, rows, |r| (Key::Int(*r), r.to_string()));
        assert_eq!(page.rows, (80..95).collect::<Vec<_>>());
        assert!(page.next_cursor.is_none());
        let prev = Cursor::decode(page.prev_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(
            (prev.page, prev.dir, prev.id.as_str()),
            (4, Dir::Before, "80")
        );
        // A page read backwards that is not the last one has a next.
        let w = window(4, 20);
        let read = w.read(95);
        let page = w.finish(&read, (60..80).rev().collect(), |r| {
            (Key::Int(*r), r.to_string())
        });
        let next = Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(
            (next.page, next.dir, next.id.as_str()),
            (5, Dir::After, "79")
        );
    }

    #[test]
    fn cursors_around_a_page() {
        let key = |r: &i64| (Key::Int(*r), r.to_string());
        // First page, more rows: a next, no previous.
        let w = window(1, 3);
        let read = w.read(10);
        let page = w.finish(&read, vec![1, 2, 3, 4], key);
        assert_eq!(page.rows, vec![1, 2, 3]);
        assert!(page.prev_cursor.is_none());
        let next = Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(
            (next.page, next.dir, next.id.as_str()),
            (2, Dir::After, "3")
        );
        assert_eq!(next.key, Value::from(3));
        // Following it: a keyset read, one row more than the page.
        let pos = Position {
            page: next.page,
            per_page: 3,
            cursor: Some(next),
        };
        let w = pos.window("l", KeyKind::Int).unwrap();
        let read = w.read(10);
        assert_eq!(read.after, Some((Key::Int(3), "3".into())));
        assert_eq!((read.reversed, read.offset, read.limit), (false, 0, 4));
        let page = w.finish(&read, vec![4, 5], key);
        assert!(page.next_cursor.is_none());
        let prev = Cursor::decode(page.prev_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(
            (prev.page, prev.dir, prev.id.as_str()),
            (1, Dir::Before, "4")
        );
        // Going back: the reversed order from that row, put back in order.
        let pos = Position {
            page: prev.page,
            per_page: 3,
            cursor: Some(prev),
        };
        let w = pos.window("l", KeyKind::Int).unwrap();
        let read = w.read(10);
        assert!(read.reversed && read.descending(false));
        let page = w.finish(&read, vec![3, 2, 1], key);
        assert_eq!(page.rows, vec![1, 2, 3]);
        assert!(page.prev_cursor.is_none());
        assert!(page.next_cursor.is_some());
        // An empty list: no cursor at all.
        let w = window(1, 3);
        let page = w.finish(&w.read(0), Vec::<i64>::new(), key);
        assert!(page.next_cursor.is_none() && page.prev_cursor.is_none());
    }
}
