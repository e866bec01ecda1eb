//! Log lines go to stderr, which Fastly forwards to log tailing and Viceroy prints.

use log::{Level, LevelFilter, Metadata, Record};

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= Level::Info
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            eprintln!("sluice {} {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger once per request (each request is a fresh instance).
pub(crate) fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}
