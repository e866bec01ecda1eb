//! The Compute program: Fastly's request in, Sluice's response out.
//!
//! All decisions live in the Fastly-free library (`sluice_edge`); the glue in `compute/` only
//! moves Fastly's types in and out of it. The life of a request, step by step, is in
//! `compute/lifecycle.rs`.

#[cfg(target_arch = "wasm32")]
mod compute;

/// Large zeroed buffers come from fresh pages; see `compute/fresh_pages.rs`.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: compute::fresh_pages::FreshPages = compute::fresh_pages::FreshPages::new();

#[cfg(target_arch = "wasm32")]
fn main() {
    compute::logger::init(compute::CONFIG_STORE);
    compute::handle_client_request();
}

/// Built natively the program does nothing: it only runs on Fastly Compute (or Viceroy).
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "edge is a Fastly Compute program: build it with `cargo build -p edge --release --target wasm32-wasip1` and run it with Viceroy"
    );
    std::process::exit(2);
}
