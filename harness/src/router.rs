//! Which script answers which request: routes matched in order, each with its own
//! expectations.

use crate::expect::{Expectations, Times};
use crate::received::ReceivedRequest;
use crate::script::Script;
use std::fmt;
use std::sync::Arc;

type Respond = Arc<dyn Fn(&ReceivedRequest) -> Script + Send + Sync>;
type Predicate = Arc<dyn Fn(&ReceivedRequest) -> bool + Send + Sync>;

#[derive(Clone)]
enum Matcher {
    Any,
    Path(String),
    Prefix(String),
    When(String, Predicate),
}

/// A further condition on the requests a route takes, besides its path and method.
#[derive(Clone, PartialEq, Eq)]
enum Condition {
    /// A header with exactly these bytes (one of its values).
    Header(String, Vec<u8>),
    /// A header, whatever its value.
    HeaderPresent(String),
    /// A query parameter with this value (both as the query decodes them).
    Query(String, String),
}

impl Condition {
    fn holds(&self, request: &ReceivedRequest) -> bool {
        let named = |name: &String| {
            request
                .raw_headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_slice())
                .collect::<Vec<_>>()
        };
        match self {
            Condition::Header(name, value) => named(name).contains(&value.as_slice()),
            Condition::HeaderPresent(name) => !named(name).is_empty(),
            Condition::Query(name, value) => {
                let query = request.path.split_once('?').map_or("", |(_, q)| q);
                url::form_urlencoded::parse(query.as_bytes())
                    .any(|(n, v)| n == name.as_str() && v == value.as_str())
            }
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Header(name, value) => {
                write!(f, "[{name}: {}]", String::from_utf8_lossy(value))
            }
            Condition::HeaderPresent(name) => write!(f, "[{name}]"),
            Condition::Query(name, value) => write!(f, "[?{name}={value}]"),
        }
    }
}

/// One route of a [`Router`]: which requests it takes, what it answers, and what it expects.
///
/// ```no_run
/// use harness::{Route, Router, Script, ScriptedOrigin};
/// let origin = ScriptedOrigin::serve(
///     "127.0.0.1:0",
///     Router::new()
///         .route(
///             Route::path("/")
///                 .respond(Script::new().head(200, [("content-type", "text/html")]).chunk("<p>home</p>").end())
///                 .expect(1)
///                 .expect_header("host", "www.publisher.example")
///                 .expect_no_header("cookie"),
///         )
///         .route(Route::prefix("/static/").respond(Script::new().head(404, [("content-length", "0")]).end())),
/// )?;
/// # Ok::<(), harness::HarnessError>(())
/// ```
#[derive(Clone)]
#[must_use = "a route does nothing until added to a router"]
pub struct Route {
    matcher: Matcher,
    method: Option<String>,
    conditions: Vec<Condition>,
    respond: Respond,
    pub(crate) expectations: Expectations,
}

impl Route {
    fn new(matcher: Matcher) -> Route {
        Route {
            matcher,
            method: None,
            conditions: Vec::new(),
            respond: Arc::new(|_| Script::new().head(200, [("content-length", "0")]).end()),
            expectations: Expectations::default(),
        }
    }

    /// Takes every request.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::any().respond(Script::new().head(404, [("x-a", "1")]).end());
    /// ```
    pub fn any() -> Route {
        Route::new(Matcher::Any)
    }

    /// Takes requests for this path (the target without its query).
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::path("/health").respond(Script::new().head(200, [("x-a", "1")]).chunk("ok").end());
    /// ```
    pub fn path(path: &str) -> Route {
        Route::new(Matcher::Path(path.to_owned()))
    }

    /// Takes requests whose path starts with `prefix`.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::prefix("/assets/").respond(Script::new().head(200, [("content-type", "text/css")]).end());
    /// ```
    pub fn prefix(prefix: &str) -> Route {
        Route::new(Matcher::Prefix(prefix.to_owned()))
    }

    /// Takes requests `predicate` accepts; `label` names the route in failure reports.
    ///
    /// ```
    /// use harness::Route;
    /// let range_requests = Route::when("range requests", |r| r.header("range").is_some());
    /// ```
    pub fn when(
        label: &str,
        predicate: impl Fn(&ReceivedRequest) -> bool + Send + Sync + 'static,
    ) -> Route {
        Route::new(Matcher::When(label.to_owned(), Arc::new(predicate)))
    }

    /// Takes only requests with this method, as well.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::path("/form").method("POST").respond(Script::new().head(303, [("location", "/done")]).end());
    /// ```
    pub fn method(mut self, method: &str) -> Route {
        self.method = Some(method.to_owned());
        self
    }

    /// Takes only requests that carry `name: value` (one of the header's values, as bytes), as
    /// well: routes chosen by a header, as wiremock's `header` matcher chooses a mock.
    ///
    /// ```
    /// # use harness::{Route, Script};
    /// let json = Route::path("/api").header("accept", "application/json")
    ///     .respond(Script::new().head(200, [("content-type", "application/json")]).chunk("{}").end());
    /// ```
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Route {
        self.conditions
            .push(Condition::Header(name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// Takes only requests that carry a `name` header, whatever its value, as well.
    ///
    /// ```
    /// # use harness::{Route, Script};
    /// let signed_in = Route::any().header_present("authorization");
    /// ```
    pub fn header_present(mut self, name: &str) -> Route {
        self.conditions
            .push(Condition::HeaderPresent(name.to_owned()));
        self
    }

    /// Takes only requests whose query has `name=value` (percent-decoded), as well.
    ///
    /// ```
    /// # use harness::{Route, Script};
    /// let second_page = Route::path("/list").query("page", "2");
    /// ```
    pub fn query(mut self, name: &str, value: &str) -> Route {
        self.conditions
            .push(Condition::Query(name.to_owned(), value.to_owned()));
        self
    }

    /// Answers with `script`.
    ///
    /// ### Default
    /// `200` with an empty body.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::path("/").respond(Script::new().head(200, [("content-type", "text/html")]).chunk("<p>home</p>").end());
    /// ```
    pub fn respond(self, script: Script) -> Route {
        self.respond_with(move |_| script.clone())
    }

    /// Answers with the script `respond` makes for each request.
    ///
    /// ```
    /// use harness::{Route, Script};
    /// let echo_path = Route::any().respond_with(|request| {
    ///     Script::new().head(200, [("content-type", "text/plain")]).chunk(&request.path).end()
    /// });
    /// ```
    pub fn respond_with(
        mut self,
        respond: impl Fn(&ReceivedRequest) -> Script + Send + Sync + 'static,
    ) -> Route {
        self.respond = Arc::new(respond);
        self
    }

    /// Expects this many requests (`1`, `1..`, `..=2`) by the time the origin is dropped.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::path("/api").expect(1..=2).respond(Script::new().head(204, [("x-a", "1")]).end());
    /// ```
    pub fn expect(mut self, times: impl Into<Times>) -> Route {
        self.expectations.times(times.into());
        self
    }

    /// Expects every request this route takes to carry `name: value` (the value's bytes).
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::path("/api").expect_header("accept", "application/json");
    /// ```
    pub fn expect_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Route {
        self.expectations.header(name, value.as_ref());
        self
    }

    /// Expects every request this route takes to carry a `name` header.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::path("/api").expect_header_present("authorization");
    /// ```
    pub fn expect_header_present(mut self, name: &str) -> Route {
        self.expectations.header_present(name);
        self
    }

    /// Expects no request this route takes to carry a `name` header.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let route = Route::path("/api").expect_no_header("cookie");
    /// ```
    pub fn expect_no_header(mut self, name: &str) -> Route {
        self.expectations.no_header(name);
        self
    }

    fn takes(&self, request: &ReceivedRequest) -> bool {
        let method_ok = self
            .method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&request.method));
        let path = request.path.split('?').next().unwrap_or_default();
        method_ok
            && self.conditions.iter().all(|c| c.holds(request))
            && match &self.matcher {
                Matcher::Any => true,
                Matcher::Path(wanted) => path == wanted,
                Matcher::Prefix(prefix) => path.starts_with(prefix.as_str()),
                Matcher::When(_, predicate) => predicate(request),
            }
    }
}

impl fmt::Display for Route {
    /// How failure reports name the route: `route GET /api`, `route /static/*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("route ")?;
        if let Some(method) = &self.method {
            write!(f, "{method} ")?;
        }
        match &self.matcher {
            Matcher::Any => f.write_str("(any)"),
            Matcher::Path(path) => f.write_str(path),
            Matcher::Prefix(prefix) => write!(f, "{prefix}*"),
            Matcher::When(label, _) => write!(f, "({label})"),
        }?;
        for condition in &self.conditions {
            write!(f, " {condition}")?;
        }
        Ok(())
    }
}

/// Routes tried in order; the first that takes a request answers it. A request no route takes
/// gets a `404` that names it, and is listed when the origin's expectations fail.
///
/// ```
/// use harness::{Route, Router, Script};
/// let router = Router::new()
///     .route(Route::path("/").respond(Script::new().head(200, [("content-length", "2")]).chunk("hi").end()))
///     .route(Route::any().method("POST").expect(0));
/// ```
#[derive(Clone, Default)]
#[must_use = "a router does nothing until an origin serves it"]
pub struct Router {
    pub(crate) routes: Vec<Route>,
}

impl Router {
    /// A router with no routes (every request gets a 404).
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let router = Router::new().route(Route::path("/").respond(Script::new().head(200, [("x-a", "1")]).end()));
    /// ```
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a route after the ones already added.
    ///
    /// ```
    /// # use harness::{Route, Router, Script};
    /// let router = Router::new()
    ///     .route(Route::path("/").respond(Script::new().head(200, [("x-a", "1")]).end()))
    ///     .route(Route::any().respond(Script::new().head(404, [("x-a", "1")]).end()));
    /// ```
    pub fn route(mut self, route: Route) -> Router {
        self.routes.push(route);
        self
    }

    /// One route that takes every request and answers with the script `respond` makes: for
    /// origins whose answers are code (by path, by `Accept-Encoding`, and so on).
    ///
    /// ```
    /// use harness::{Router, Script};
    /// let router = Router::from_fn(|request| match request.path.as_str() {
    ///     "/" => Script::new().head(200, [("content-type", "text/html")]).chunk("<p>home</p>").end(),
    ///     _ => Script::new().head(404, [("content-length", "0")]).end(),
    /// });
    /// ```
    pub fn from_fn(respond: impl Fn(&ReceivedRequest) -> Script + Send + Sync + 'static) -> Router {
        Router::new().route(Route::any().respond_with(respond))
    }

    /// The route that takes `request` (by index) and the script it answers with.
    pub(crate) fn pick(&self, request: &ReceivedRequest) -> (Option<usize>, Script) {
        match self.routes.iter().position(|r| r.takes(request)) {
            Some(index) => (Some(index), (self.routes[index].respond)(request)),
            None => {
                let body = format!("no route for {} {}\n", request.method, request.path);
                let length = body.len().to_string();
                let script = Script::new()
                    .head(
                        404,
                        [
                            ("content-type", "text/plain"),
                            ("content-length", length.as_str()),
                        ],
                    )
                    .chunk(body)
                    .end();
                (None, script)
            }
        }
    }
}
