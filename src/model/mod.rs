//! The vocabulary every layer shares: timestamps as the API and the store write them, ARNs,
//! scopes, the AWS operations sagesync calls and what a price is. It imports nothing of sagesync,
//! so `source`, `flatten`, `store` and the commands above them can all use it.

pub mod arn;
pub mod op;
pub mod price;
pub mod scope;
pub mod time;
