//! Viceroy instances kept between tests: a test that asks for a configuration an earlier test
//! already booted leases that instance instead of compiling the module again (about a second and
//! a half of CPU per start on a small machine; Viceroy keeps no compile cache).
//!
//! Instances are interchangeable when they run the same Viceroy and module with the same
//! manifest, backend addresses aside: every loopback backend goes through a relay, which is
//! pointed at the new test's origin. A lease is exclusive. A test that finds every instance of
//! its configuration in use waits for one to come back for as long as a boot of that
//! configuration took, and only then boots another: waiting costs no CPU and booting does (a
//! JavaScript program's module takes seconds of both cores to compile), and waiting no longer
//! than a boot never costs more than twice the better choice. An instance goes back to the pool only when its
//! test passed and every request it sent completed; otherwise it is stopped.

use crate::relay::Relay;
use crate::viceroy::ViceroyProcess;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

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

/// The instances of one configuration.
#[derive(Default)]
struct Shelf {
    idle: Vec<Instance>,
    /// Instances being booted or lent (each held by a [`Claim`]).
    out: usize,
    /// How long the last boot of this configuration took.
    boot: Option<Duration>,
}

struct Pool {
    shelves: Mutex<HashMap<InstanceKey, Shelf>>,
    /// Signalled when an instance comes back, a boot ends or a claim is given up.
    changed: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        shelves: Mutex::default(),
        changed: Condvar::new(),
    })
}

fn shelves() -> MutexGuard<'static, HashMap<InstanceKey, Shelf>> {
    pool()
        .shelves
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A test's hold on one instance of a configuration, being booted or lent. Dropping it gives
/// the place up (after [`checkin`], or when the instance is stopped).
pub(crate) struct Claim {
    pub key: InstanceKey,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(shelf) = shelves().get_mut(&self.key) {
            shelf.out = shelf.out.saturating_sub(1);
        }
        pool().changed.notify_all();
    }
}

/// An idle instance of this configuration if there is one, waiting for one in use to come back
/// as long as a boot takes; else `None`, and the caller boots one (and reports how long it took
/// with [`booted`]).
pub(crate) fn claim(key: &InstanceKey) -> (Claim, Option<Instance>) {
    let mut shelves = shelves();
    let mut deadline: Option<Instant> = None;
    loop {
        let shelf = shelves.entry(key.clone()).or_default();
        let idle = shelf.idle.pop();
        let now = Instant::now();
        // While the first boot of a configuration runs, its length is not known yet: wait for
        // it to end, then as long again.
        let patience = shelf.boot.map(|boot| *deadline.get_or_insert(now + boot));
        if idle.is_some() || shelf.out == 0 || patience.is_some_and(|end| now >= end) {
            shelf.out += 1;
            return (Claim { key: key.clone() }, idle);
        }
        let wait = patience.map_or(Duration::from_secs(1), |end| end - now);
        shelves = pool()
            .changed
            .wait_timeout(shelves, wait)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0;
    }
}

/// Records how long booting an instance of this configuration took, for the tests waiting.
pub(crate) fn booted(key: &InstanceKey, took: Duration) {
    shelves().entry(key.clone()).or_default().boot = Some(took);
    pool().changed.notify_all();
}

/// Returns an instance for the next test with this configuration.
pub(crate) fn checkin(claim: Claim, instance: Instance) {
    shelves()
        .entry(claim.key.clone())
        .or_default()
        .idle
        .push(instance);
    drop(claim);
}
