//! Request and response policy: the decisions of the proxy, as pure functions.

pub mod gate;
pub mod settings;
