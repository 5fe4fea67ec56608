//! Authentication (passwords, tokens, the current user, the per-request account check,
//! the client's address) and the guards handlers use.

pub mod account;
pub mod client_ip;
pub mod current_user;
pub mod password;
pub mod password_pool;
pub mod personal_token;
pub mod session;
pub mod token;

pub use account::{CurrentAccount, check as check_account};
pub use current_user::{Caller, CurrentUser, MaybeUser};
pub use token::TokenService;
