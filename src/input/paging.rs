//! List paging (DESIGN.md §4): `?page=&per_page=` checked once, and the `{ items, total, page,
//! per_page }` answer every list returns.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ServiceError;

pub const MAX_PER_PAGE: u32 = 100;
pub const DEFAULT_PER_PAGE: u32 = 20;

/// `?page=&per_page=` (DESIGN.md §4): pages start at 1, at most 100 items a page.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1, example = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
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
    pub fn paging(self) -> Result<Paging, ServiceError> {
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

/// A page of a list: `{ items, total, page, per_page }`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Number of items in the whole list.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl<T: ToSchema> Page<T> {
    pub fn new(items: Vec<T>, total: i64, paging: Paging) -> Self {
        Self {
            items,
            total,
            page: paging.page,
            per_page: paging.per_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_bounds() {
        let p = |page, per_page| PageParams { page, per_page }.paging();
        assert_eq!(p(None, None).unwrap().offset(), 0);
        assert_eq!(p(Some(3), Some(10)).unwrap().offset(), 20);
        assert!(p(Some(0), None).is_err());
        assert!(p(None, Some(0)).is_err());
        assert!(p(None, Some(101)).is_err());
        assert!(p(None, Some(100)).is_ok());
    }
}
