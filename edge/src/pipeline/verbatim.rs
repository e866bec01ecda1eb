//! The verbatim marker: how a page tells Sluice that a resource must reach the browser byte for
//! byte. The HTML stage adds [`VERBATIM_PARAMETER`] to the URL of every resource whose bytes the
//! browser checks against a hash (`integrity`) and that is fetched through the proxy; the proxy
//! takes it off again (`policy::request::take_verbatim`) and passes such a resource through
//! untouched, if it is one integrity can protect (a script or a stylesheet).

use super::UrlRewriter;

/// The query parameter that marks a URL whose resource must reach the browser byte for byte.
pub const VERBATIM_PARAMETER: &str = "sluice-verbatim=1";

/// Whether the browser fetches `url` through the proxy: a URL Sluice pointed at it, or one
/// relative to the page (unless a `<base>` points relative URLs at another site).
pub(crate) fn comes_through_the_proxy(url: &str, urls: &UrlRewriter, base_elsewhere: bool) -> bool {
    let url = url.trim_ascii();
    let proxy = |rest: &str| {
        rest.get(..urls.proxy_host().len())
            .is_some_and(|host| host.eq_ignore_ascii_case(urls.proxy_host()))
            && rest[urls.proxy_host().len()..]
                .chars()
                .next()
                .is_none_or(|c| matches!(c, '/' | '?' | '#'))
    };
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .or_else(|| lower.strip_prefix("//"))
    {
        return proxy(rest);
    }
    // A scheme of its own (`data:`, `blob:`) is not fetched from any host of ours.
    let has_scheme = url
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains(['/', '?', '#']));
    !has_scheme && !base_elsewhere
}

/// Whether a `<base href>` sends relative URLs to another site than the proxy.
pub(crate) fn leaves_the_proxy(href: &str, urls: &UrlRewriter) -> bool {
    let lower = href.trim_ascii().to_ascii_lowercase();
    let absolute = lower.starts_with("//") || lower.contains("://");
    absolute && !comes_through_the_proxy(href, urls, false)
}

/// `url` with [`VERBATIM_PARAMETER`] added to its query.
///
/// ```text
/// https://proxy.example/app.js      -> https://proxy.example/app.js?sluice-verbatim=1
/// https://proxy.example/a.css?v=2#x -> https://proxy.example/a.css?v=2&sluice-verbatim=1#x
/// /app.js                           -> /app.js?sluice-verbatim=1
/// ```
pub(crate) fn mark_verbatim(url: &str) -> String {
    let (resource, fragment) = match url.split_once('#') {
        Some((resource, fragment)) => (resource, Some(fragment)),
        None => (url, None),
    };
    let separator = if resource.contains('?') { '&' } else { '?' };
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    format!("{resource}{separator}{VERBATIM_PARAMETER}{fragment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_form_that_reaches_the_proxy_is_ours_to_mark() {
        let urls = UrlRewriter::new("www.publisher.example", "http", "127.0.0.1:7676");
        for url in ["/app.js", "a.css", "../a.css?v=1"] {
            assert!(comes_through_the_proxy(url, &urls, false), "{url}");
            assert!(
                !comes_through_the_proxy(url, &urls, true),
                "{url} under another site's base"
            );
        }
        for url in [
            "http://127.0.0.1:7676/app.js",
            "//127.0.0.1:7676/app.js",
            " HTTP://127.0.0.1:7676 ",
        ] {
            assert!(comes_through_the_proxy(url, &urls, true), "{url}");
        }
        for url in [
            "https://cdn.example/app.js",
            "//cdn.example/app.js",
            "//127.0.0.1:7676.evil/x",
            "data:text/javascript,1",
            "blob:http://127.0.0.1:7676/x",
        ] {
            assert!(!comes_through_the_proxy(url, &urls, false), "{url}");
        }
        assert!(leaves_the_proxy("https://cdn.example/", &urls));
        assert!(!leaves_the_proxy("/assets/", &urls));
        assert!(!leaves_the_proxy("http://127.0.0.1:7676/", &urls));
    }

    #[test]
    fn the_marker_goes_into_the_query_before_any_fragment() {
        assert_eq!(mark_verbatim("/a.js"), "/a.js?sluice-verbatim=1");
        assert_eq!(
            mark_verbatim("/a.css?v=2#x"),
            "/a.css?v=2&sluice-verbatim=1#x"
        );
    }
}
