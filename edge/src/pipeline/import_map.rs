//! Import maps (`<script type="importmap">`): their URLs pointed at the proxy like any script's,
//! and their `integrity` entries kept true.
//!
//! An import map's `integrity` object gives the hash of each module it names, keyed by URL. A
//! module fetched through the proxy would be rewritten and fail its check, so each entry whose
//! URL comes through the proxy gets the verbatim marker, and so does every `imports` and
//! `scopes` value that names that URL (written the same way): the module is then fetched with
//! the marker and passed through untouched. A module reached another way (a relative `import`
//! inside a module) is requested without the marker: the map then has no hash for that URL, so
//! the browser checks none, and the module is rewritten like any script.
//!
//! The map is held whole to be read as JSON: maps are small, and one larger than
//! [`MAX_HELD_BYTES`], or one that is not JSON, streams with the ordinary inline rewrite
//! instead.

use super::UrlRewriter;
use super::inline::InlineText;
use super::verbatim::{comes_through_the_proxy, mark_verbatim};
use serde_json::{Map, Value};

/// The most text of one import map held to be read as JSON.
pub(crate) const MAX_HELD_BYTES: usize = 256 * 1024;

/// The text of one import map element, as it arrives.
pub(crate) struct ImportMap {
    urls: UrlRewriter,
    held: String,
    /// Past [`MAX_HELD_BYTES`]: the rest streams with the ordinary rewrite.
    overflow: Option<InlineText>,
}

impl ImportMap {
    pub(crate) fn new(urls: UrlRewriter) -> Self {
        ImportMap {
            urls,
            held: String::new(),
            overflow: None,
        }
    }

    /// Takes one piece of the element's text; `last` ends the element (and the next one starts
    /// afresh). `None`: the piece is held. `base_elsewhere`: a `<base>` sends relative URLs to
    /// another site.
    pub(crate) fn push(
        &mut self,
        piece: &str,
        last: bool,
        base_elsewhere: bool,
    ) -> Option<(String, u64)> {
        if self.overflow.is_none() && self.held.len() + piece.len() > MAX_HELD_BYTES {
            self.overflow = Some(InlineText::new(self.urls.clone()));
            let held = std::mem::take(&mut self.held);
            let piece = format!("{held}{piece}");
            return self.stream(&piece, last);
        }
        if self.overflow.is_some() {
            return self.stream(piece, last);
        }
        self.held.push_str(piece);
        if !last {
            return None;
        }
        let text = std::mem::take(&mut self.held);
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(mut map)) => {
                let rewrites = rewrite_urls(&mut map, &self.urls);
                mark_integrity(&mut map, &self.urls, base_elsewhere);
                // `<` escaped so the map can never close its own script element.
                let json = Value::Object(map).to_string().replace('<', "\\u003c");
                Some((json, rewrites))
            }
            _ => Some(InlineText::new(self.urls.clone()).rewrite(&text, true)),
        }
    }

    fn stream(&mut self, piece: &str, last: bool) -> Option<(String, u64)> {
        let inline = self.overflow.as_mut().expect("streaming");
        let written = inline.rewrite(piece, last);
        if last {
            self.overflow = None;
        }
        Some(written)
    }
}

/// Points every key and string value that holds an origin URL at the proxy; returns how many.
fn rewrite_urls(map: &mut Map<String, Value>, urls: &UrlRewriter) -> u64 {
    let mut rewrites = 0;
    let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
    for (key, mut value) in entries {
        let key = match urls.rewrite_text(&key) {
            std::borrow::Cow::Owned(key) => {
                rewrites += 1;
                key
            }
            std::borrow::Cow::Borrowed(_) => key,
        };
        match &mut value {
            Value::Object(inner) => rewrites += rewrite_urls(inner, urls),
            Value::String(text) => {
                if let std::borrow::Cow::Owned(rewritten) = urls.rewrite_text(text) {
                    *text = rewritten;
                    rewrites += 1;
                }
            }
            _ => {}
        }
        map.insert(key, value);
    }
    rewrites
}

/// Marks the `integrity` entries that come through the proxy, and the `imports` and `scopes`
/// values that name them.
fn mark_integrity(map: &mut Map<String, Value>, urls: &UrlRewriter, base_elsewhere: bool) {
    let Some(Value::Object(integrity)) = map.get_mut("integrity") else {
        return;
    };
    let mut marked: Vec<(String, String)> = Vec::new();
    let entries: Vec<(String, Value)> = std::mem::take(integrity).into_iter().collect();
    for (url, hash) in entries {
        let key = if comes_through_the_proxy(&url, urls, base_elsewhere) {
            let verbatim = mark_verbatim(&url);
            marked.push((url, verbatim.clone()));
            verbatim
        } else {
            url
        };
        integrity.insert(key, hash);
    }
    let mark = |value: &mut Value| {
        if let Some((_, verbatim)) = value
            .as_str()
            .and_then(|url| marked.iter().find(|(from, _)| from == url))
        {
            *value = Value::String(verbatim.clone());
        }
    };
    if let Some(Value::Object(imports)) = map.get_mut("imports") {
        imports.values_mut().for_each(&mark);
    }
    if let Some(Value::Object(scopes)) = map.get_mut("scopes") {
        for scope in scopes.values_mut().filter_map(Value::as_object_mut) {
            scope.values_mut().for_each(&mark);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_entries_that_come_through_the_proxy_are_marked_with_their_imports() {
        let urls = UrlRewriter::new("www.publisher.example", "http", "127.0.0.1:7676");
        let map = r#"{"imports":{"app":"https://www.publisher.example/app.js","lib":"/lib.js","cdn":"https://cdn.example/x.js"},
            "scopes":{"/admin/":{"app":"/lib.js"}},
            "integrity":{"https://www.publisher.example/app.js":"sha384-a","/lib.js":"sha384-b","https://cdn.example/x.js":"sha384-c"}}"#;
        let mut import_map = ImportMap::new(urls);
        assert!(import_map.push(&map[..40], false, false).is_none());
        let (json, rewrites) = import_map.push(&map[40..], true, false).unwrap();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            value["imports"]["app"],
            "http://127.0.0.1:7676/app.js?sluice-verbatim=1"
        );
        assert_eq!(value["imports"]["lib"], "/lib.js?sluice-verbatim=1");
        assert_eq!(value["imports"]["cdn"], "https://cdn.example/x.js");
        assert_eq!(
            value["scopes"]["/admin/"]["app"],
            "/lib.js?sluice-verbatim=1"
        );
        let integrity = value["integrity"].as_object().unwrap();
        assert_eq!(
            integrity["http://127.0.0.1:7676/app.js?sluice-verbatim=1"],
            "sha384-a"
        );
        assert_eq!(integrity["/lib.js?sluice-verbatim=1"], "sha384-b");
        assert_eq!(integrity["https://cdn.example/x.js"], "sha384-c");
        assert_eq!(rewrites, 2);
    }

    #[test]
    fn a_map_that_is_not_json_or_too_large_streams_with_the_ordinary_rewrite() {
        let urls = UrlRewriter::new("www.publisher.example", "http", "p.example");
        let mut map = ImportMap::new(urls.clone());
        let (text, _) = map
            .push("{not json https://www.publisher.example/a", true, false)
            .unwrap();
        assert_eq!(text, "{not json http://p.example/a");
        let big = format!(
            "{{\"imports\":{{\"a\":\"https://www.publisher.example/{}\"}}}}",
            "x".repeat(MAX_HELD_BYTES)
        );
        let (text, _) = map.push(&big, true, false).unwrap();
        assert!(text.starts_with("{\"imports\":{\"a\":\"http://p.example/xxx"));
        let (again, _) = map.push("{\"imports\":{}}", true, false).unwrap();
        assert_eq!(again, "{\"imports\":{}}", "the next map is held again");
    }
}
