//! Request and response policy: the decisions of the proxy, as pure functions over raw header
//! bytes ([`headers::Headers`]), so the rules are tested natively and fuzzed with the bytes a
//! client or an origin may send.

pub mod cache;
pub mod consent;
pub mod cookies;
pub mod gate;
pub mod headers;
pub mod identity;
pub mod request;
pub mod response;
pub mod settings;
