//! The harness's own background runtime: origins and relays run here, so they keep serving
//! whatever the test's runtime is doing (or if the test has none).

use std::sync::OnceLock;
use tokio::runtime::{Builder, Runtime};

pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("harness-io")
            .enable_all()
            .build()
            .expect("the harness runtime starts")
    })
}
