//! Request and response policy: the decisions of the proxy, as pure functions.

pub mod consent;
pub mod gate;
pub mod headers;
pub mod identity;
pub mod request;
pub mod settings;
