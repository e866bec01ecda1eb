//! The `fastly.toml` each Viceroy instance runs with: the project's own manifest, with the
//! test's backends, store contents and geolocation laid over its `[local_server]` table.

use crate::errors::HarnessError;
use toml::{Table, Value};

/// Edits to a manifest's `[local_server]` table.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalServer {
    pub backends: Vec<Backend>,
    pub config: Vec<(String, String, String)>,
    pub secrets: Vec<(String, String, String)>,
    pub removed_secrets: Vec<(String, String)>,
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

fn table<'a>(parent: &'a mut Table, key: &str) -> &'a mut Table {
    let entry = parent
        .entry(key.to_owned())
        .or_insert_with(|| Value::Table(Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(Table::new());
    }
    entry.as_table_mut().expect("made a table above")
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

/// Lays `edits` over `base` (a manifest's text) and returns the new manifest's text.
pub(crate) fn render(base: &str, edits: &LocalServer) -> Result<String, HarnessError> {
    let mut manifest: Table = base
        .parse()
        .map_err(|e| HarnessError::Setup(format!("the base fastly.toml does not parse: {e}")))?;
    let local = table(&mut manifest, "local_server");

    let backends = table(local, "backends");
    for backend in &edits.backends {
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

    for (store, key, value) in &edits.config {
        let store = table(table(local, "config_stores"), store);
        store.insert("format".into(), "inline-toml".into());
        table(store, "contents").insert(key.clone(), value.clone().into());
    }

    for (store, key, value) in &edits.secrets {
        let stores = table(local, "secret_stores");
        let entries = stores
            .entry(store.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !entries.is_array() {
            *entries = Value::Array(Vec::new());
        }
        let entries = entries.as_array_mut().expect("made an array above");
        entries.retain(|e| e.get("key").and_then(Value::as_str) != Some(key));
        let mut entry = Table::new();
        entry.insert("key".into(), key.clone().into());
        entry.insert("data".into(), value.clone().into());
        entries.push(Value::Table(entry));
    }

    for (store, key) in &edits.removed_secrets {
        if let Some(Value::Array(entries)) = table(local, "secret_stores").get_mut(store) {
            entries.retain(|e| e.get("key").and_then(Value::as_str) != Some(key));
        }
    }

    if edits.no_geolocation {
        let mut geo = Table::new();
        geo.insert("use_default_loopback".into(), Value::Boolean(false));
        local.insert("geolocation".into(), Value::Table(geo));
    }

    for (address, fields) in &edits.geolocation {
        let geo = table(local, "geolocation");
        geo.insert("format".into(), "inline-toml".into());
        let mut entry = default_geolocation();
        entry.extend(fields.clone());
        table(geo, "addresses").insert(address.clone(), Value::Table(entry));
    }

    toml::to_string(&manifest)
        .map_err(|e| HarnessError::Setup(format!("writing fastly.toml failed: {e}")))
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
[local_server.config_stores.sluice_config]
format = "inline-toml"
[local_server.config_stores.sluice_config.contents]
origin_host = "www.publisher.example"
"#;

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
            config: vec![(
                "sluice_config".into(),
                "inject_script".into(),
                "/t.js".into(),
            )],
            secrets: vec![("sluice_secrets".into(), "k".into(), "v".into())],
            ..LocalServer::default()
        };
        let out: Table = render(BASE, &edits).unwrap().parse().unwrap();
        let origin = &out["local_server"]["backends"]["origin"];
        assert_eq!(origin["url"].as_str(), Some("http://127.0.0.1:4000"));
        assert_eq!(
            origin["override_host"].as_str(),
            Some("www.publisher.example")
        );
        assert_eq!(origin["first_byte_timeout_ms"].as_integer(), Some(500));
        let contents = &out["local_server"]["config_stores"]["sluice_config"]["contents"];
        assert_eq!(
            contents["origin_host"].as_str(),
            Some("www.publisher.example")
        );
        assert_eq!(contents["inject_script"].as_str(), Some("/t.js"));
        assert_eq!(
            out["local_server"]["secret_stores"]["sluice_secrets"][0]["data"].as_str(),
            Some("v")
        );
    }
}
