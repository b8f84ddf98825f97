//! The page fields every REST list takes, `?page_size=&page_token=`, passed on to the
//! service as they came; the service pages (`shippy_common::paging`) and its answer's
//! `next_page_token` goes back in the body, empty after the last page.

use serde::Deserialize;
use shippy_common::FieldErrors;
use utoipa::IntoParams;

use crate::fields::QueryWhole;

/// Which page of a list.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows in the page: absent or 0 gives 50; more than 500 gives 500 (no error).
    #[serde(default)]
    #[param(value_type = i32, minimum = 0)]
    page_size: QueryWhole,
    /// The `next_page_token` of the page before, as it came; absent for the first page. A
    /// token from another list, other filters or another user is refused (400).
    #[serde(default)]
    page_token: String,
}

impl PageParams {
    /// `(page_size, page_token)` as the service takes them, a fault noted in `errors`.
    pub fn take(self, errors: &mut FieldErrors) -> (i32, String) {
        (
            self.page_size.take_or(errors, "page_size", 0),
            self.page_token,
        )
    }
}
