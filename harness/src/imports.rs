//! What a Compute module can do, read from the host calls it imports: whether it can write to
//! a KV Store. An instance whose program cannot is lent from test to test like any other (its
//! KV Stores are part of what makes instances interchangeable, so every lease sees the
//! contents its test declared); one whose program can keeps to one test, since a write would
//! reach the next.

use std::path::Path;

/// The host calls that change a KV Store: `(module, function)`.
const KV_WRITES: [(&str, &str); 7] = [
    ("fastly_kv_store", "insert"),
    ("fastly_kv_store", "delete"),
    ("fastly_object_store", "insert"),
    ("fastly_object_store", "insert_async"),
    ("fastly_object_store", "delete_async"),
    ("fastly_kv_store", "insert_async"),
    ("fastly_kv_store", "delete_async"),
];

/// Whether the module at `wasm` imports a host call that writes to a KV Store. A file that
/// cannot be read as a core WebAssembly module (a component, say) counts as one that can.
pub(crate) fn writes_kv_stores(wasm: &Path) -> bool {
    match std::fs::read(wasm) {
        Ok(bytes) => import_section(&bytes).is_none_or(imports_a_kv_write),
        Err(_) => true,
    }
}

fn imports_a_kv_write(section: &[u8]) -> bool {
    KV_WRITES.iter().any(|(module, function)| {
        // An import names its module then its function, each with its length before it.
        let mut needle = vec![module.len() as u8];
        needle.extend_from_slice(module.as_bytes());
        needle.push(function.len() as u8);
        needle.extend_from_slice(function.as_bytes());
        section.windows(needle.len()).any(|w| w == needle)
    })
}

/// The bytes of a core module's import section (id 2), if it has one; `None` for anything that
/// is not a core module.
fn import_section(module: &[u8]) -> Option<&[u8]> {
    let rest = module.strip_prefix(b"\0asm\x01\0\0\0")?;
    let mut at = 0;
    while at < rest.len() {
        let id = rest[at];
        let (size, used) = leb128(&rest[at + 1..])?;
        let start = at + 1 + used;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        let content = rest.get(start..end)?;
        if id == 2 {
            return Some(content);
        }
        at = end;
    }
    Some(&[])
}

/// An unsigned LEB128 number and how many bytes it took.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one import section holding `imports` as (module, function) pairs.
    fn module(imports: &[(&str, &str)]) -> Vec<u8> {
        let mut section = vec![imports.len() as u8];
        for (module, function) in imports {
            section.push(module.len() as u8);
            section.extend_from_slice(module.as_bytes());
            section.push(function.len() as u8);
            section.extend_from_slice(function.as_bytes());
            section.extend_from_slice(&[0x00, 0x00]); // a function of type 0
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]); // a type section: () -> ()
        wasm.push(2);
        wasm.push(section.len() as u8);
        wasm.extend(section);
        wasm
    }

    #[test]
    fn a_module_that_only_reads_its_kv_stores_does_not_write_them() {
        let reads = module(&[("fastly_kv_store", "open"), ("fastly_kv_store", "lookup")]);
        assert!(!import_section(&reads).is_none_or(imports_a_kv_write));
        let writes = module(&[("fastly_kv_store", "open"), ("fastly_kv_store", "insert")]);
        assert!(import_section(&writes).is_none_or(imports_a_kv_write));
    }

    #[test]
    fn anything_but_a_core_module_counts_as_writing() {
        assert_eq!(import_section(b"\0asm\x0d\0\x01\0"), None);
        assert_eq!(import_section(b"not wasm"), None);
        let mut cut = module(&[("fastly_kv_store", "lookup")]);
        cut.truncate(cut.len() - 3);
        assert_eq!(import_section(&cut), None);
    }
}
