//! The `fastly.toml` each Viceroy instance runs with: the project's own manifest, with the
//! test's backends, stores and geolocation laid over its `[local_server]` table.
//!
//! The manifest is split in two so that an instance can serve one test after another. What
//! Viceroy reads once, at start-up (backends, Secret Stores, KV Stores), stays in the manifest
//! and decides which instances are interchangeable. What Viceroy reads again on every use
//! (Config Stores when they are JSON files, each time the program opens one; geolocation when it
//! is a JSON file, on every lookup) is written to files in the instance's folder, rewritten
//! for each test that leases the instance. Viceroy runs in that folder, so the manifest names
//! them by relative path and is the same text for every instance.

use crate::errors::HarnessError;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Edits to a manifest's `[local_server]` table.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalServer {
    pub backends: Vec<Backend>,
    pub config: Vec<(String, String, String)>,
    pub secrets: Vec<(String, String, String)>,
    pub removed_secrets: Vec<(String, String)>,
    pub kv: Vec<(String, String, KvValue)>,
    pub geolocation: Vec<(String, Table)>,
    /// Drop the manifest's geolocation entries and Viceroy's loopback default.
    pub no_geolocation: bool,
}

/// One backend as Viceroy sees it.
#[derive(Debug, Clone)]
pub(crate) struct Backend {
    pub name: String,
    pub url: String,
    pub override_host: Option<String>,
    pub first_byte_timeout_ms: Option<u64>,
    pub between_bytes_timeout_ms: Option<u64>,
}

/// A KV Store value: bytes, or a file whose bytes are read when the manifest is written.
#[derive(Debug, Clone)]
pub(crate) enum KvValue {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// The base manifest: its text, and the folder its relative paths start from.
pub(crate) struct Base<'a> {
    pub text: &'a str,
    pub dir: &'a Path,
    /// What messages call it: the program's `fastly.toml` by its path, or where the text came
    /// from.
    pub name: &'a str,
}

/// A manifest ready for an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// What Viceroy starts with; its relative paths are in the instance's folder.
    pub manifest: String,
    /// Files Viceroy reads once, at start-up (KV values, named by their contents).
    pub startup_files: Files,
    /// Files Viceroy reads on every use (Config Stores, geolocation): a lease rewrites them.
    pub lease_files: Files,
    /// Whether the manifest declares KV Stores, which the program may write to.
    pub has_kv_stores: bool,
}

/// Files in an instance's folder, by relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Files(pub Vec<(String, Vec<u8>)>);

impl Files {
    /// Writes each file whole: a reader sees the old contents or the new, never a part.
    pub(crate) fn write_into(&self, dir: &Path) -> Result<(), HarnessError> {
        for (name, bytes) in &self.0 {
            let path = dir.join(name);
            let partial = dir.join(format!("{name}.partial"));
            std::fs::write(&partial, bytes)
                .and_then(|()| std::fs::rename(&partial, &path))
                .map_err(|e| HarnessError::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }
}

const GEOLOCATION_FILE: &str = "geolocation.json";

fn table<'a>(parent: &'a mut Table, key: &str) -> &'a mut Table {
    let entry = parent
        .entry(key.to_owned())
        .or_insert_with(|| Value::Table(Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(Table::new());
    }
    entry.as_table_mut().expect("made a table above")
}

fn setup_error(message: impl Into<String>) -> HarnessError {
    HarnessError::Setup(message.into())
}

/// Every field of a geolocation entry, with Viceroy's own loopback values: the fastly crate's
/// `geo_lookup` returns nothing for an entry that lacks any of them.
fn default_geolocation() -> Table {
    let text = r#"
as_name = "Fastly, Inc"
as_number = 54113
area_code = 415
city = "San Francisco"
conn_speed = "broadband"
conn_type = "wired"
continent = "NA"
country_code = "US"
country_code3 = "USA"
country_name = "United States of America"
latitude = 37.77869
longitude = -122.39557
metro_code = 0
postal_code = "94107"
proxy_description = "?"
proxy_type = "?"
region = "CA"
utc_offset = -700
"#;
    text.parse().expect("the default geolocation entry parses")
}

/// The backends of the manifest's `[local_server.backends]`, with their URLs.
pub(crate) fn manifest_backends(base: &Base<'_>) -> Vec<(String, String)> {
    let Ok(manifest) = base.text.parse::<Table>() else {
        return Vec::new();
    };
    let backends = manifest
        .get("local_server")
        .and_then(|l| l.get("backends"))
        .and_then(Value::as_table);
    backends
        .into_iter()
        .flatten()
        .map(|(name, backend)| {
            let url = backend.get("url").and_then(Value::as_str).unwrap_or("");
            (name.clone(), url.to_owned())
        })
        .collect()
}

/// What the test declares that the manifest does not have: a store or backend name the
/// program may not open (a typo, or a name the program does not use), one sentence each. The
/// program then reads the manifest's own values for the name it does open, with no word.
pub(crate) fn unknown_to_the_manifest(base: &Base<'_>, edits: &LocalServer) -> Vec<String> {
    let Ok(manifest) = base.text.parse::<Table>() else {
        return Vec::new();
    };
    let local = manifest.get("local_server").and_then(Value::as_table);
    let names = |sections: &[&str]| -> Vec<String> {
        sections
            .iter()
            .filter_map(|section| {
                local
                    .and_then(|l| l.get(*section))
                    .and_then(Value::as_table)
            })
            .flat_map(|t| t.keys().cloned())
            .collect()
    };
    let kinds: [(&str, Vec<String>, Vec<&String>); 4] = [
        (
            "backend",
            names(&["backends"]),
            edits.backends.iter().map(|b| &b.name).collect(),
        ),
        (
            "Config Store",
            names(&["config_stores", "dictionaries"]),
            edits.config.iter().map(|(store, _, _)| store).collect(),
        ),
        (
            "Secret Store",
            names(&["secret_stores"]),
            edits.secrets.iter().map(|(store, _, _)| store).collect(),
        ),
        (
            "KV Store",
            names(&["kv_stores", "object_stores"]),
            edits.kv.iter().map(|(store, _, _)| store).collect(),
        ),
    ];
    let mut warnings = Vec::new();
    for (kind, known, declared) in kinds {
        for name in declared {
            let warning = format!(
                "the test declares the {kind} {name:?}, which {} does not have ({}): the program reaches it only by that exact name",
                base.name,
                match known.is_empty() {
                    true => format!("it declares no {kind}"),
                    false => format!("it has: {}", known.join(", ")),
                }
            );
            if !known.contains(name) && !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }
    warnings
}

/// Lays `edits` over `base` and splits the result into the manifest and its files.
pub(crate) fn render(base: &Base<'_>, edits: &LocalServer) -> Result<Rendered, HarnessError> {
    let mut manifest: Table = base
        .text
        .parse()
        .map_err(|e| setup_error(format!("{} does not parse as TOML: {e}", base.name)))?;
    let local = table(&mut manifest, "local_server");
    let mut lease_files = Files::default();
    let mut startup_files = Files::default();

    lay_backends(local, &edits.backends);
    lay_config_stores(local, base.dir, &edits.config, &mut lease_files)?;
    lay_secrets(local, base.dir, edits);
    lay_kv_stores(local, base.dir, &edits.kv, &mut startup_files)?;
    lay_geolocation(local, base.dir, edits, &mut lease_files)?;
    let has_kv_stores = ["kv_stores", "object_stores", "object_store"]
        .iter()
        .any(|k| {
            local
                .get(*k)
                .and_then(Value::as_table)
                .is_some_and(|t| !t.is_empty())
        });

    Ok(Rendered {
        manifest: toml::to_string(&manifest)
            .map_err(|e| setup_error(format!("writing fastly.toml failed: {e}")))?,
        startup_files,
        lease_files,
        has_kv_stores,
    })
}

fn lay_backends(local: &mut Table, edits: &[Backend]) {
    let backends = table(local, "backends");
    for backend in edits {
        let mut entry = Table::new();
        entry.insert("url".into(), backend.url.clone().into());
        let kept_host = backends
            .get(&backend.name)
            .and_then(|b| b.get("override_host"))
            .cloned();
        if let Some(host) = backend.override_host.clone().map(Value::from).or(kept_host) {
            entry.insert("override_host".into(), host);
        }
        if let Some(ms) = backend.first_byte_timeout_ms {
            entry.insert("first_byte_timeout_ms".into(), Value::Integer(ms as i64));
        }
        if let Some(ms) = backend.between_bytes_timeout_ms {
            entry.insert("between_bytes_timeout_ms".into(), Value::Integer(ms as i64));
        }
        backends.insert(backend.name.clone(), Value::Table(entry));
    }
}

/// Every Config Store becomes a JSON file (`config-N.json`), with the test's keys over the
/// manifest's.
fn lay_config_stores(
    local: &mut Table,
    base_dir: &Path,
    edits: &[(String, String, String)],
    files: &mut Files,
) -> Result<(), HarnessError> {
    // Viceroy also reads Config Stores under their old name.
    let mut stores: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    for section in ["dictionaries", "config_stores"] {
        let Some(Value::Table(declared)) = local.remove(section) else {
            continue;
        };
        for (name, store) in declared {
            let contents = config_store_contents(&name, &store, base_dir)?;
            stores.entry(name).or_default().extend(contents);
        }
    }
    for (store, key, value) in edits {
        stores
            .entry(store.clone())
            .or_default()
            .insert(key.clone(), Json::String(value.clone()));
    }
    let section = table(local, "config_stores");
    for (index, (name, contents)) in stores.into_iter().enumerate() {
        let file = format!("config-{index}.json");
        let mut entry = Table::new();
        entry.insert("format".into(), "json".into());
        entry.insert("file".into(), file.clone().into());
        section.insert(name, Value::Table(entry));
        let bytes = serde_json::to_vec(&Json::Object(contents)).expect("strings serialize");
        files.0.push((file, bytes));
    }
    Ok(())
}

fn config_store_contents(
    name: &str,
    store: &Value,
    base_dir: &Path,
) -> Result<Map<String, Json>, HarnessError> {
    let format = store
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("inline-toml");
    match format {
        "inline-toml" => store
            .get("contents")
            .and_then(Value::as_table)
            .into_iter()
            .flatten()
            .map(|(key, value)| match value {
                Value::String(text) => Ok((key.clone(), Json::String(text.clone()))),
                other => Err(setup_error(format!(
                    "Config Store {name}: the value of {key} is {other}, not a string"
                ))),
            })
            .collect(),
        "json" => {
            let file = store.get("file").and_then(Value::as_str).ok_or_else(|| {
                setup_error(format!(
                    "Config Store {name} is a JSON store without a file"
                ))
            })?;
            match read_json(&base_dir.join(file))? {
                Json::Object(contents) => Ok(contents),
                _ => Err(setup_error(format!(
                    "Config Store {name}: {file} does not hold a JSON object"
                ))),
            }
        }
        other => Err(setup_error(format!(
            "Config Store {name} has format {other:?}; Viceroy reads inline-toml and json"
        ))),
    }
}

fn lay_secrets(local: &mut Table, base_dir: &Path, edits: &LocalServer) {
    let stores = table(local, "secret_stores");
    for (_, store) in stores.iter_mut() {
        absolutize_files(store, base_dir);
    }
    for (store, key, value) in &edits.secrets {
        let entries = entries_of(stores, store);
        entries.retain(|e| e.get("key").and_then(Value::as_str) != Some(key));
        let mut entry = Table::new();
        entry.insert("key".into(), key.clone().into());
        entry.insert("data".into(), value.clone().into());
        entries.push(Value::Table(entry));
    }
    for (store, key) in &edits.removed_secrets {
        if let Some(Value::Array(entries)) = stores.get_mut(store) {
            entries.retain(|e| e.get("key").and_then(Value::as_str) != Some(key));
        }
    }
}

/// The test's KV values become files named by their contents, so equal stores give equal
/// manifests.
fn lay_kv_stores(
    local: &mut Table,
    base_dir: &Path,
    edits: &[(String, String, KvValue)],
    files: &mut Files,
) -> Result<(), HarnessError> {
    if let Some(Value::Table(declared)) = local.remove("object_stores") {
        table(local, "kv_stores").extend(declared);
    }
    let stores = table(local, "kv_stores");
    for (_, store) in stores.iter_mut() {
        absolutize_files(store, base_dir);
    }
    for (store, key, value) in edits {
        if stores.get(store).is_some_and(|s| !s.is_array()) {
            return Err(setup_error(format!(
                "KV Store {store} is declared with a JSON file; declare it as an array of \
                 entries to add keys to it per test"
            )));
        }
        let bytes = match value {
            KvValue::Bytes(bytes) => bytes.clone(),
            KvValue::File(path) => std::fs::read(path)
                .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?,
        };
        let file = format!("kv-{:016x}.bin", digest(&bytes));
        let entries = entries_of(stores, store);
        entries.retain(|e| e.get("key").and_then(Value::as_str) != Some(key));
        let mut entry = Table::new();
        entry.insert("key".into(), key.clone().into());
        entry.insert("file".into(), file.clone().into());
        entries.push(Value::Table(entry));
        if !files.0.iter().any(|(name, _)| *name == file) {
            files.0.push((file, bytes));
        }
    }
    Ok(())
}

/// Geolocation becomes one JSON file. Viceroy's loopback default (every loopback address
/// answers as San Francisco) is written out as entries for `127.0.0.1` and `::1`, so a lease
/// can turn it off without a new manifest.
fn lay_geolocation(
    local: &mut Table,
    base_dir: &Path,
    edits: &LocalServer,
    files: &mut Files,
) -> Result<(), HarnessError> {
    let declared = match local.remove("geolocation") {
        Some(Value::Table(declared)) => declared,
        _ => Table::new(),
    };
    let mut use_default_loopback = declared
        .get("use_default_loopback")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut addresses = match declared.get("format").and_then(Value::as_str) {
        Some("inline-toml") => declared
            .get("addresses")
            .and_then(Value::as_table)
            .into_iter()
            .flatten()
            .map(|(address, fields)| Ok((address.clone(), toml_to_json(fields)?)))
            .collect::<Result<Map<String, Json>, HarnessError>>()?,
        Some("json") => {
            let file = declared
                .get("file")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match read_json(&base_dir.join(file))? {
                Json::Object(addresses) => addresses,
                _ => return Err(setup_error(format!("{file} does not hold a JSON object"))),
            }
        }
        _ => Map::new(),
    };
    if edits.no_geolocation {
        addresses.clear();
        use_default_loopback = false;
    }
    for (address, fields) in &edits.geolocation {
        let mut entry = default_geolocation();
        entry.extend(fields.clone());
        addresses.insert(address.clone(), toml_to_json(&Value::Table(entry))?);
    }
    if use_default_loopback {
        let fallback = toml_to_json(&Value::Table(default_geolocation()))?;
        for loopback in ["127.0.0.1", "::1"] {
            addresses
                .entry(loopback.to_owned())
                .or_insert_with(|| fallback.clone());
        }
    }
    let mut entry = Table::new();
    entry.insert("use_default_loopback".into(), Value::Boolean(false));
    entry.insert("format".into(), "json".into());
    entry.insert("file".into(), GEOLOCATION_FILE.into());
    local.insert("geolocation".into(), Value::Table(entry));
    let bytes = serde_json::to_vec(&Json::Object(addresses)).expect("values serialize");
    files.0.push((GEOLOCATION_FILE.to_owned(), bytes));
    Ok(())
}

/// A store declared as an array of entries (made one if it is not yet declared).
fn entries_of<'a>(stores: &'a mut Table, store: &str) -> &'a mut Vec<Value> {
    let entries = stores
        .entry(store.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entries.is_array() {
        *entries = Value::Array(Vec::new());
    }
    entries.as_array_mut().expect("made an array above")
}

/// Viceroy reads relative paths from its working folder, which is the instance's: a path in
/// the project's manifest is made absolute against the project's folder.
fn absolutize_files(store: &mut Value, base_dir: &Path) {
    let fix = |entry: &mut Value| {
        for key in ["file", "path"] {
            if let Some(Value::String(path)) = entry.get_mut(key)
                && Path::new(path.as_str()).is_relative()
            {
                *path = base_dir.join(&*path).to_string_lossy().into_owned();
            }
        }
    };
    match store {
        Value::Array(entries) => entries.iter_mut().for_each(fix),
        table @ Value::Table(_) => fix(table),
        _ => {}
    }
}

fn read_json(path: &Path) -> Result<Json, HarnessError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
    serde_json::from_str(&text)
        .map_err(|e| setup_error(format!("{} is not JSON: {e}", path.display())))
}

fn toml_to_json(value: &Value) -> Result<Json, HarnessError> {
    Ok(match value {
        Value::String(text) => Json::String(text.clone()),
        Value::Integer(n) => Json::from(*n),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| setup_error(format!("{f} has no JSON form")))?,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Table(table) => Json::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<Result<_, HarnessError>>()?,
        ),
        other => {
            return Err(setup_error(format!(
                "{other} has no place in geolocation data"
            )));
        }
    })
}

fn digest(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
manifest_version = 3
language = "rust"
[local_server.backends.origin]
url = "http://127.0.0.1:9090"
override_host = "www.publisher.example"
[local_server.config_stores.settings]
format = "inline-toml"
[local_server.config_stores.settings.contents]
origin_host = "www.publisher.example"
[local_server.geolocation]
format = "inline-toml"
[local_server.geolocation.addresses."127.0.0.1"]
country_code = "NL"
"#;

    fn base() -> Base<'static> {
        Base {
            text: BASE,
            dir: Path::new("/project"),
            name: "/project/fastly.toml",
        }
    }

    fn file(files: &Files, name: &str) -> Json {
        let (_, bytes) = files.0.iter().find(|(n, _)| n == name).expect(name);
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn every_backend_and_store_the_manifest_lacks_is_warned_about_once() {
        let backend = |name: &str| Backend {
            name: name.into(),
            url: "http://127.0.0.1:4000".into(),
            override_host: None,
            first_byte_timeout_ms: None,
            between_bytes_timeout_ms: None,
        };
        let edits = LocalServer {
            backends: vec![backend("origin"), backend("api")],
            config: vec![
                ("settings".into(), "a".into(), "1".into()),
                ("setting".into(), "a".into(), "1".into()),
                ("setting".into(), "b".into(), "2".into()),
            ],
            secrets: vec![("secrets".into(), "k".into(), "v".into())],
            kv: vec![("assets".into(), "k".into(), KvValue::Bytes(b"v".to_vec()))],
            ..LocalServer::default()
        };

        let warnings = unknown_to_the_manifest(&base(), &edits);

        assert_eq!(
            warnings,
            [
                "the test declares the backend \"api\", which /project/fastly.toml does not have (it has: origin): the program reaches it only by that exact name",
                "the test declares the Config Store \"setting\", which /project/fastly.toml does not have (it has: settings): the program reaches it only by that exact name",
                "the test declares the Secret Store \"secrets\", which /project/fastly.toml does not have (it declares no Secret Store): the program reaches it only by that exact name",
                "the test declares the KV Store \"assets\", which /project/fastly.toml does not have (it declares no KV Store): the program reaches it only by that exact name",
            ]
        );
    }

    #[test]
    fn points_backends_at_the_test_origin_and_keeps_the_rest() {
        let edits = LocalServer {
            backends: vec![Backend {
                name: "origin".into(),
                url: "http://127.0.0.1:4000".into(),
                override_host: None,
                first_byte_timeout_ms: Some(500),
                between_bytes_timeout_ms: None,
            }],
            secrets: vec![("secrets".into(), "k".into(), "v".into())],
            ..LocalServer::default()
        };
        let rendered = render(&base(), &edits).unwrap();
        let out: Table = rendered.manifest.parse().unwrap();
        let origin = &out["local_server"]["backends"]["origin"];
        assert_eq!(origin["url"].as_str(), Some("http://127.0.0.1:4000"));
        assert_eq!(
            origin["override_host"].as_str(),
            Some("www.publisher.example")
        );
        assert_eq!(origin["first_byte_timeout_ms"].as_integer(), Some(500));
        assert_eq!(
            out["local_server"]["secret_stores"]["secrets"][0]["data"].as_str(),
            Some("v")
        );
    }

    #[test]
    fn config_stores_and_geolocation_live_in_files_a_lease_rewrites() {
        let plain = render(&base(), &LocalServer::default()).unwrap();
        let edits = LocalServer {
            config: vec![("settings".into(), "inject_script".into(), "/t.js".into())],
            geolocation: vec![(
                "127.0.0.1".into(),
                [("country_code".to_owned(), "FR".into())]
                    .into_iter()
                    .collect(),
            )],
            ..LocalServer::default()
        };
        let edited = render(&base(), &edits).unwrap();
        assert_eq!(
            plain.manifest, edited.manifest,
            "the same instance serves both"
        );
        let settings = file(&edited.lease_files, "config-0.json");
        assert_eq!(settings["origin_host"], "www.publisher.example");
        assert_eq!(settings["inject_script"], "/t.js");
        let geo = file(&edited.lease_files, GEOLOCATION_FILE);
        assert_eq!(geo["127.0.0.1"]["country_code"], "FR");
        assert_eq!(
            geo["127.0.0.1"]["city"], "San Francisco",
            "every field is filled in"
        );
        assert_eq!(
            geo["::1"]["country_code"], "US",
            "Viceroy's loopback default, written out"
        );
        let geo = file(&plain.lease_files, GEOLOCATION_FILE);
        assert_eq!(geo["127.0.0.1"], serde_json::json!({"country_code": "NL"}));
    }

    #[test]
    fn without_geolocation_no_address_has_any() {
        let edits = LocalServer {
            no_geolocation: true,
            ..LocalServer::default()
        };
        let rendered = render(&base(), &edits).unwrap();
        assert_eq!(
            file(&rendered.lease_files, GEOLOCATION_FILE),
            serde_json::json!({})
        );
    }

    #[test]
    fn kv_values_are_files_named_by_their_contents() {
        let with = |bytes: &[u8]| LocalServer {
            kv: vec![(
                "assets".into(),
                "logo".into(),
                KvValue::Bytes(bytes.to_vec()),
            )],
            ..LocalServer::default()
        };
        let one = render(&base(), &with(b"\xff\x00one")).unwrap();
        let again = render(&base(), &with(b"\xff\x00one")).unwrap();
        let other = render(&base(), &with(b"two")).unwrap();
        assert!(one.has_kv_stores);
        assert_eq!(one.manifest, again.manifest);
        assert_ne!(
            one.manifest, other.manifest,
            "other bytes, another instance"
        );
        assert_eq!(one.startup_files.0[0].1, b"\xff\x00one");
    }

    #[test]
    fn relative_paths_in_the_project_manifest_become_absolute() {
        let text = "[[local_server.secret_stores.s]]\nkey = \"k\"\nfile = \"secrets/k.txt\"\n";
        let rendered = render(
            &Base {
                text,
                dir: Path::new("/project"),
                name: "/project/fastly.toml",
            },
            &LocalServer::default(),
        )
        .unwrap();
        let out: Table = rendered.manifest.parse().unwrap();
        assert_eq!(
            out["local_server"]["secret_stores"]["s"][0]["file"].as_str(),
            Some("/project/secrets/k.txt")
        );
    }
}
