//! Authentication (passwords, tokens, the current user) and the guards handlers use.

pub mod current_user;
pub mod password;
pub mod rate_limit;
pub mod session;
pub mod token;

pub use current_user::{CurrentUser, MaybeUser};
pub use token::TokenService;
