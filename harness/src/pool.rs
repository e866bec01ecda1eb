//! Viceroy instances kept between tests: a test that asks for a configuration an earlier test
//! already booted leases that instance instead of compiling the module again (about a second and
//! a half of CPU per start on a small machine; Viceroy keeps no compile cache).
//!
//! Instances are interchangeable when they run the same Viceroy and module with the same
//! manifest, backend addresses aside: every loopback backend goes through a relay, which is
//! pointed at the new test's origin. A lease is exclusive; tests that run at the same time with
//! one configuration get an instance each. An instance goes back to the pool only when its
//! test passed and every request it sent completed; otherwise it is stopped.

use crate::relay::Relay;
use crate::viceroy::ViceroyProcess;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// What makes two instances interchangeable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct InstanceKey {
    pub viceroy: PathBuf,
    pub wasm: PathBuf,
    /// The manifest, with each relayed backend's address left out.
    pub manifest: String,
}

/// A running instance: the process, a relay per loopback backend (in backend order), and the
/// folder Viceroy runs in (its manifest and the files the manifest names; removed when the
/// instance stops).
pub(crate) struct Instance {
    pub process: ViceroyProcess,
    pub relays: Vec<Option<Relay>>,
    pub folder: tempfile::TempDir,
    /// The ports its leases' front relays were given (see [`Instance::front_door`]).
    pub front_ports: HashSet<u16>,
}

impl Instance {
    /// A relay in front of the instance, for one lease, on a port none of the instance's
    /// earlier leases had. Each lease's requests then carry a `Host` of their own, so what a
    /// program keeps under a URL (Viceroy's cache lives as long as the instance; Fastly's
    /// caches key on host and path) does not reach the next test.
    pub(crate) fn front_door(&mut self) -> std::io::Result<Relay> {
        for _ in 0..64 {
            let relay = Relay::start(self.process.addr)?;
            if self.front_ports.insert(relay.addr.port()) {
                relay.open();
                return Ok(relay);
            }
        }
        Err(std::io::Error::other(
            "no port left that this instance's earlier tests did not use",
        ))
    }

    /// Points the relays at a new lease's origins.
    pub(crate) fn retarget(&self, targets: &[Option<SocketAddr>]) {
        for (relay, target) in self.relays.iter().zip(targets) {
            if let (Some(relay), Some(target)) = (relay, target) {
                relay.retarget(*target);
            }
        }
    }

    /// Ends a lease's connections to its origins.
    pub(crate) fn close_connections(&self) {
        for relay in self.relays.iter().flatten() {
            relay.close_connections();
        }
    }
}

fn pool() -> &'static Mutex<HashMap<InstanceKey, Vec<Instance>>> {
    static POOL: OnceLock<Mutex<HashMap<InstanceKey, Vec<Instance>>>> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// An idle instance of this configuration, if there is one.
pub(crate) fn checkout(key: &InstanceKey) -> Option<Instance> {
    pool().lock().expect("pool").get_mut(key)?.pop()
}

/// Returns an instance for the next test with this configuration.
pub(crate) fn checkin(key: InstanceKey, instance: Instance) {
    pool()
        .lock()
        .expect("pool")
        .entry(key)
        .or_default()
        .push(instance);
}
