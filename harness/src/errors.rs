//! What can go wrong while setting up or running a test.

use std::io;

/// A harness failure: the set-up (Viceroy, the wasm build), a Viceroy that would not start, or a
/// request that could not be made. Assertion failures are panics, not errors.
///
/// `Debug` prints what `Display` does, so a test that returns `Result` shows the message as
/// written, line breaks and all, rather than an escaped string:
///
/// ```
/// let error = harness::HarnessError::Setup("building app failed:\nerror[E0425]".into());
/// assert_eq!(format!("{error:?}"), "set-up failed: building app failed:\nerror[E0425]");
/// ```
#[derive(thiserror::Error)]
pub enum HarnessError {
    /// Installing or finding a tool, or building the Compute program, failed.
    #[error("set-up failed: {0}")]
    Setup(String),
    /// A file or socket operation failed.
    #[error("{what} failed: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Viceroy did not come up.
    #[error("Viceroy did not start: {reason}\n--- Viceroy's output ---\n{log}")]
    Start {
        /// Why the harness gave up.
        reason: String,
        /// Everything Viceroy printed.
        log: String,
    },
    /// The response could not be read as HTTP/1.1.
    #[error("the response is not valid HTTP/1.1: {0}")]
    Protocol(String),
}

impl std::fmt::Debug for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl HarnessError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        HarnessError::Io {
            what: what.into(),
            source,
        }
    }
}
