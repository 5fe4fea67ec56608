//! List paging (DESIGN.md §4): `?page=&per_page=` or `?cursor=&per_page=` checked once, and the
//! `{ items, total, page, per_page, next_cursor, prev_cursor }` answer every list returns.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ServiceError;
use crate::input::cursor::{Cursor, Paged, Position};

pub const MAX_PER_PAGE: u32 = 100;
pub const DEFAULT_PER_PAGE: u32 = 20;

/// `?page=&per_page=` (DESIGN.md §4): pages start at 1, at most 100 items a page; or
/// `?cursor=&per_page=` to follow a list page by page without reading the rows skipped.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1. Not together with `cursor`.
    #[param(minimum = 1, example = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
    /// Opaque position returned as `next_cursor` (or `prev_cursor`) by the previous answer of
    /// the same list in the same order (`sort`): the page after (before) it, read from that
    /// position on, as fast as the first page. Not together with `page`; the answer's `page`
    /// says which page it is. A cursor that is not one, or belongs to another list or order,
    /// is a 400.
    pub cursor: Option<String>,
}

/// `?page=&per_page=` of the lists that are only numbered (no `cursor`).
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NumberedPageParams {
    /// Page number, from 1.
    #[param(minimum = 1, example = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
}

impl NumberedPageParams {
    pub fn paging(self) -> Result<Paging, ServiceError> {
        PageParams {
            page: self.page,
            per_page: self.per_page,
            cursor: None,
        }
        .paging()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

/// A page number read alone is a position without a cursor. (Here, beside `Paging`, so that
/// the cursor module, which paging builds on, does not import it back.)
impl From<Paging> for Position {
    fn from(p: Paging) -> Self {
        Position {
            page: p.page,
            per_page: p.per_page,
            cursor: None,
        }
    }
}

impl Paging {
    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

impl PageParams {
    /// The position asked: a page number, or a cursor (decoded here; whether it belongs to
    /// the list and order asked is checked by [`Position::window`]).
    pub fn position(self) -> Result<Position, ServiceError> {
        let cursor = match self.cursor.as_deref() {
            None => None,
            Some(c) => {
                if self.page.is_some() {
                    return Err(ServiceError::BadInput(
                        "Paramètres « page » et « cursor » ensemble : un « cursor » désigne déjà \
                         sa page. Donnez l'un ou l'autre, pas les deux."
                            .into(),
                    ));
                }
                Some(Cursor::decode(c)?)
            }
        };
        let paging = PageParams {
            page: cursor.as_ref().map(|c| c.page).or(self.page),
            per_page: self.per_page,
            cursor: None,
        }
        .paging()?;
        Ok(Position {
            page: paging.page,
            per_page: paging.per_page,
            cursor,
        })
    }

    /// The page number asked, for the lists that only number their pages.
    pub fn paging(self) -> Result<Paging, ServiceError> {
        if self.cursor.is_some() {
            return Err(ServiceError::BadInput(
                "Paramètre « cursor » non pris en charge par cette liste : utilisez « page »."
                    .into(),
            ));
        }
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 {
            return Err(ServiceError::BadInput(
                "Paramètre « page » invalide : les pages commencent à 1.".into(),
            ));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ServiceError::BadInput(format!(
                "Paramètre « per_page » invalide : entre 1 et {MAX_PER_PAGE}."
            )));
        }
        if u64::from(page) * u64::from(per_page) > i64::MAX as u64 {
            return Err(ServiceError::BadInput(
                "Paramètre « page » trop grand.".into(),
            ));
        }
        Ok(Paging { page, per_page })
    }
}

/// A page of a list: `{ items, total, page, per_page }`, and the cursors of the pages around
/// it on the lists that take `cursor`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Number of items in the whole list.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// Opaque position of the next page: pass it as `cursor` (same `sort` and filters) to read
    /// that page. Absent on the last page; present whenever more items may follow (the
    /// `Link: <…>; rel="next"` header gives the same URL). Never sent by the lists that take
    /// no `cursor` (the ranking).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Opaque position of the page before this one, when there is one (`rel="prev"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    pub fn new(items: Vec<T>, total: i64, paging: Paging) -> Self {
        Self {
            items,
            total,
            page: paging.page,
            per_page: paging.per_page,
            next_cursor: None,
            prev_cursor: None,
        }
    }

    /// The page a keyset list read, with its cursors; `map` makes its items of its rows.
    pub fn from_paged<R, E>(
        paged: Paged<R>,
        total: i64,
        per_page: u32,
        map: impl FnMut(R) -> Result<T, E>,
    ) -> Result<Self, E> {
        Ok(Self {
            items: paged.rows.into_iter().map(map).collect::<Result<_, _>>()?,
            total,
            page: paged.page,
            per_page,
            next_cursor: paged.next_cursor,
            prev_cursor: paged.prev_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_bounds() {
        let p = |page, per_page| {
            PageParams {
                page,
                per_page,
                cursor: None,
            }
            .paging()
        };
        assert_eq!(p(None, None).unwrap().offset(), 0);
        assert_eq!(p(Some(3), Some(10)).unwrap().offset(), 20);
        assert!(p(Some(0), None).is_err());
        assert!(p(None, Some(0)).is_err());
        assert!(p(None, Some(101)).is_err());
        assert!(p(None, Some(100)).is_ok());
    }

    #[test]
    fn page_and_cursor_are_exclusive() {
        let cursor = Cursor {
            sort: "l".into(),
            page: 4,
            dir: crate::input::cursor::Dir::After,
            key: serde_json::Value::from(1),
            id: "x".into(),
            total: None,
        }
        .encode();
        let both = PageParams {
            page: Some(2),
            per_page: None,
            cursor: Some(cursor.clone()),
        };
        let err = both.position().unwrap_err();
        assert!(matches!(&err, ServiceError::BadInput(m) if m.contains("« page » et « cursor »")));
        let pos = PageParams {
            page: None,
            per_page: Some(10),
            cursor: Some(cursor.clone()),
        }
        .position()
        .unwrap();
        assert_eq!((pos.page, pos.per_page), (4, 10));
        // per_page is still checked beside a cursor.
        assert!(
            PageParams {
                page: None,
                per_page: Some(101),
                cursor: Some(cursor.clone()),
            }
            .position()
            .is_err()
        );
        // A list that only numbers its pages refuses a cursor.
        assert!(
            PageParams {
                page: None,
                per_page: None,
                cursor: Some(cursor),
            }
            .paging()
            .is_err()
        );
    }
}
