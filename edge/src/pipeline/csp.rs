//! Content-Security-Policy, as far as rewriting goes: keeping a policy consistent with the URLs
//! Sluice rewrites, and knowing which inline content the policy pins by hash.
//!
//! Two things break a page whose policy Sluice ignores:
//! - a source list naming the publisher's host (`script-src https://www.publisher.example`) no
//!   longer allows the rewritten URLs, which point at the proxy: so the proxy's origin is added
//!   next to every source that matches the publisher's host (the publisher's own stays, so
//!   nothing it allowed is refused, and nothing it refused is allowed, but the proxy itself);
//! - an inline script or style allowed by a hash (`'sha256-...'`) is refused once its text
//!   changes: so where a policy pins inline content by hash, that content is left as it is
//!   ([`InlineLocks`]). A `<script nonce>` is allowed by its nonce whatever its text only where
//!   the policy lists that nonce (`'nonce-...'`): a nonce the policy does not name allows
//!   nothing, and the element stays byte for byte like any other.

use super::UrlRewriter;

/// Which inline content a policy pins by hash, so that its text must stay byte for byte unless
/// a nonce the policy lists allows it.
///
/// ```
/// use sluice_edge::pipeline::csp::InlineLocks;
/// let locks = InlineLocks::of("script-src 'sha256-abc=' 'nonce-r4nd'");
/// assert!(locks.scripts.pins(None) && locks.scripts.pins(Some("other")));
/// assert!(!locks.scripts.pins(Some("r4nd")) && !locks.styles.pins(None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InlineLocks {
    /// `<script>` text (`script-src-elem`, else `script-src`, else `default-src`).
    pub scripts: Lock,
    /// `<style>` text (`style-src-elem`, else `style-src`, else `default-src`).
    pub styles: Lock,
    /// `style="..."` attributes (`style-src-attr`, else `style-src`, else `default-src`); no
    /// nonce can allow an attribute.
    pub style_attributes: bool,
}

/// What the enforced policies that pin one kind of inline content by hash allow besides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lock {
    /// For each policy that pins by hash, the nonces it lists. Every enforced policy must be
    /// satisfied, so an element is free only with a nonce that all of them list.
    policies: Vec<Vec<String>>,
}

impl Lock {
    /// Whether an element with this `nonce` attribute (or none) must keep its text byte for
    /// byte.
    pub fn pins(&self, nonce: Option<&str>) -> bool {
        self.policies
            .iter()
            .any(|nonces| nonce.is_none_or(|n| !nonces.iter().any(|listed| listed == n)))
    }

    /// Whether any policy pins this kind of content.
    pub fn any(&self) -> bool {
        !self.policies.is_empty()
    }

    fn of(sources: Option<Vec<&str>>) -> Lock {
        let Some(sources) = sources.filter(|s| s.iter().any(|s| is_hash_source(s))) else {
            return Lock::default();
        };
        let nonces = sources
            .iter()
            .filter_map(|s| {
                let lower = s.to_ascii_lowercase();
                lower
                    .starts_with("'nonce-")
                    .then(|| s[7..].trim_end_matches('\'').to_owned())
            })
            .collect();
        Lock {
            policies: vec![nonces],
        }
    }

    fn union(mut self, other: Lock) -> Lock {
        self.policies.extend(other.policies);
        self
    }
}

impl InlineLocks {
    /// What one enforced policy locks.
    ///
    /// ```
    /// use sluice_edge::pipeline::csp::InlineLocks;
    /// let locks = InlineLocks::of("default-src 'self'; script-src 'self' 'sha256-abc='");
    /// assert!(locks.scripts.any() && !locks.styles.any());
    /// let fallback = InlineLocks::of("default-src 'sha384-xyz='");
    /// assert!(fallback.scripts.any() && fallback.styles.any() && fallback.style_attributes);
    /// ```
    pub fn of(policy: &str) -> InlineLocks {
        let sources = |names: &[&str]| names.iter().find_map(|name| directive(policy, name));
        InlineLocks {
            scripts: Lock::of(sources(&["script-src-elem", "script-src", "default-src"])),
            styles: Lock::of(sources(&["style-src-elem", "style-src", "default-src"])),
            style_attributes: sources(&["style-src-attr", "style-src", "default-src"])
                .is_some_and(|sources| sources.iter().any(|s| is_hash_source(s))),
        }
    }

    /// Locked by either: every enforced policy must be satisfied.
    pub fn union(self, other: InlineLocks) -> InlineLocks {
        InlineLocks {
            scripts: self.scripts.union(other.scripts),
            styles: self.styles.union(other.styles),
            style_attributes: self.style_attributes || other.style_attributes,
        }
    }
}

/// The sources of directive `name` (case-insensitive), if the policy has it.
fn directive<'a>(policy: &'a str, name: &str) -> Option<Vec<&'a str>> {
    policy.split(';').find_map(|d| {
        let mut tokens = d.split_ascii_whitespace();
        tokens
            .next()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .map(|_| tokens.collect())
    })
}

fn is_hash_source(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ["'sha256-", "'sha384-", "'sha512-"]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
}

/// The directives whose sources the proxy is added to: those that take a source list. Others,
/// unknown names and a directive's repetitions (browsers read only its first occurrence) are
/// left as they are.
pub const SOURCE_LIST_DIRECTIVES: [&str; 22] = [
    "default-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "img-src",
    "font-src",
    "connect-src",
    "media-src",
    "object-src",
    "frame-src",
    "child-src",
    "worker-src",
    "manifest-src",
    "prefetch-src",
    "form-action",
    "frame-ancestors",
    "base-uri",
    "navigate-to",
    "fenced-frame-src",
];

/// The most proxy sources one directive gains with their own paths; past it the directive gains
/// the proxy's origin alone (every path), so a policy grows by at most a few proxy origins per
/// directive whatever its size.
const MAX_PATHS_PER_DIRECTIVE: usize = 4;

/// The policy with the proxy's origin added to every directive with a source that matches the
/// publisher's host (`https://www.publisher.example`, `www.publisher.example:443/static/`,
/// `*.publisher.example`), once for each path those sources allow (or once without a path, when
/// they allow more than [`MAX_PATHS_PER_DIRECTIVE`]), and report URLs on the publisher's host
/// pointed at the proxy.
///
/// ```
/// use sluice_edge::pipeline::UrlRewriter;
/// use sluice_edge::pipeline::csp::rewrite_policy;
/// let urls = UrlRewriter::new("www.publisher.example", "http", "127.0.0.1:7676");
/// assert_eq!(
///     rewrite_policy("img-src https://www.publisher.example/img/ data:; report-uri https://www.publisher.example/csp", &urls),
///     "img-src https://www.publisher.example/img/ http://127.0.0.1:7676/img/ data:; report-uri http://127.0.0.1:7676/csp"
/// );
/// ```
pub fn rewrite_policy(policy: &str, urls: &UrlRewriter) -> String {
    let mut seen: Vec<String> = Vec::new();
    policy
        .split(';')
        .map(|d| {
            let mut tokens = d.split_ascii_whitespace();
            let Some(name) = tokens.next() else {
                return d.trim().to_owned();
            };
            let lower = name.to_ascii_lowercase();
            let first = !seen.contains(&lower);
            seen.push(lower.clone());
            let sources: Vec<&str> = tokens.collect();
            if lower == "report-uri" {
                let uris = sources.iter().map(|t| urls.rewrite_text(t).into_owned());
                return std::iter::once(name.to_owned())
                    .chain(uris)
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            let mut out = vec![name.to_owned()];
            if !(first && SOURCE_LIST_DIRECTIVES.contains(&lower.as_str())) {
                out.extend(sources.iter().map(|s| (*s).to_owned()));
                return out.join(" ");
            }
            out.extend(with_proxy_sources(&sources, urls));
            out.join(" ")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A directive's sources with the proxy's, each once, after the first source that calls for it.
fn with_proxy_sources(sources: &[&str], urls: &UrlRewriter) -> Vec<String> {
    let paths: Vec<(usize, &str)> = sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| origin_source_path(s, urls.origin_host()).map(|path| (i, path)))
        .collect();
    let mut distinct: Vec<&str> = Vec::new();
    for (_, path) in &paths {
        if !distinct.contains(path) {
            distinct.push(path);
        }
    }
    // Too many paths, or one that allows every path: the proxy's origin alone.
    let whole_origin = distinct.len() > MAX_PATHS_PER_DIRECTIVE || distinct.contains(&"");
    let mut added: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(sources.len() + distinct.len());
    for (i, source) in sources.iter().enumerate() {
        out.push((*source).to_owned());
        let Some((_, path)) = paths.iter().find(|(at, _)| *at == i) else {
            continue;
        };
        let proxy = match whole_origin {
            true => urls.proxy_origin().to_owned(),
            false => format!("{}{path}", urls.proxy_origin()),
        };
        if !added.contains(&proxy) {
            added.push(proxy.clone());
            out.push(proxy);
        }
    }
    out
}

/// When `source` is a host source that matches `origin_host`, the path it allows (`""` for
/// none).
fn origin_source_path<'a>(source: &'a str, origin_host: &str) -> Option<&'a str> {
    if source.starts_with('\'') {
        return None;
    }
    let rest = match source.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some(_) => return None,
        None => source,
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let matches = match host.strip_prefix("*.") {
        Some(parent) => origin_host.ends_with(&format!(".{parent}")),
        None => host == origin_host,
    };
    matches.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> UrlRewriter {
        UrlRewriter::new("www.publisher.example", "https", "proxy.example")
    }

    #[test]
    fn adds_the_proxy_next_to_every_source_of_the_origin_host() {
        let policy = "default-src 'self'; script-src WWW.Publisher.Example:443 'sha256-x='; style-src *.publisher.example; img-src https://cdn.example http://www.publisher.example./i/";
        assert_eq!(
            rewrite_policy(policy, &urls()),
            "default-src 'self'; script-src WWW.Publisher.Example:443 https://proxy.example 'sha256-x='; style-src *.publisher.example https://proxy.example; img-src https://cdn.example http://www.publisher.example./i/ https://proxy.example/i/"
        );
    }

    #[test]
    fn a_policy_grows_by_a_few_proxy_sources_per_directive_however_many_it_names() {
        let many: Vec<String> = (0..2000)
            .map(|i| format!("https://www.publisher.example/p{i}/"))
            .collect();
        let policy = format!(
            "script-src {} 'self'; script-src https://www.publisher.example; x-unknown www.publisher.example",
            many.join(" ")
        );
        let rewritten = rewrite_policy(&policy, &urls());
        assert_eq!(
            rewritten.len(),
            policy.len() + " https://proxy.example".len()
        );
        assert_eq!(
            rewritten.matches("proxy.example").count(),
            1,
            "once, and only in the first script-src"
        );
        let few = rewrite_policy(
            "img-src https://www.publisher.example/a/ www.publisher.example/a/ *.publisher.example/b/",
            &urls(),
        );
        assert_eq!(
            few,
            "img-src https://www.publisher.example/a/ https://proxy.example/a/ www.publisher.example/a/ *.publisher.example/b/ https://proxy.example/b/"
        );
    }

    #[test]
    fn leaves_other_hosts_and_keywords_alone() {
        let policy =
            "script-src 'self' https://publisher.example wss://www.publisher.example 'nonce-abc'";
        assert_eq!(rewrite_policy(policy, &urls()), policy);
    }

    #[test]
    fn knows_what_a_policy_pins_by_hash() {
        assert_eq!(
            InlineLocks::of("script-src 'unsafe-inline'"),
            InlineLocks::default()
        );
        let styles = InlineLocks::of("style-src-elem 'SHA512-q='; default-src 'self'");
        assert!(styles.styles.any() && !styles.scripts.any() && !styles.style_attributes);
        let attrs = InlineLocks::of("style-src-attr 'unsafe-hashes' 'sha256-a='");
        assert!(attrs.style_attributes && !attrs.styles.any());
        let elem_wins = InlineLocks::of("script-src-elem 'self'; script-src 'sha256-a='");
        assert!(!elem_wins.scripts.any());
    }

    #[test]
    fn a_nonce_frees_an_element_only_where_every_pinning_policy_lists_it() {
        let nonce_only = InlineLocks::of("script-src 'nonce-a'");
        assert!(!nonce_only.scripts.pins(None) && !nonce_only.scripts.pins(Some("z")));
        let hashes_only = InlineLocks::of("script-src 'sha256-x='");
        assert!(hashes_only.scripts.pins(Some("a")));
        let both = hashes_only.union(InlineLocks::of("script-src 'sha256-y=' 'NONCE-a'"));
        assert!(
            both.scripts.pins(Some("a")),
            "the first policy does not list it"
        );
        let listed = InlineLocks::of("script-src 'sha256-x=' 'nonce-a'").union(InlineLocks::of(
            "default-src 'sha256-y=' 'nonce-a' 'nonce-b'",
        ));
        assert!(!listed.scripts.pins(Some("a")) && listed.scripts.pins(Some("b")));
    }
}
