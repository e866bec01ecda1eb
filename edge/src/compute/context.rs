//! What Sluice knows about a client request before it asks the origin: who and where the
//! reader is, how they connected, and what identity the response will carry.

use super::headers::RequestHeaders;
use fastly::Request;
use fastly::http::Version;
use sluice_edge::pipeline::UrlRewriter;
use sluice_edge::policy::headers::ReadHeaders;
use sluice_edge::policy::identity::{self, IdentityAction, Inputs};
use sluice_edge::policy::response::Geo;
use sluice_edge::policy::settings::Settings;
use std::net::IpAddr;

/// What the host says about the client's connection, read from the request handle (the
/// `Request` the glue builds from its handles is not marked as the client's, so its own
/// accessors for these return nothing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Connection {
    pub client_ip: Option<IpAddr>,
    /// Whether the client connected over TLS.
    pub tls: bool,
}

impl Connection {
    pub(crate) fn of(handle: &fastly::handle::RequestHandle) -> Connection {
        Connection {
            client_ip: handle.client_ip_addr(),
            tls: handle.client_tls_protocol_bytes().is_some(),
        }
    }
}

/// One request's facts, gathered once.
pub(crate) struct RequestContext {
    pub method: String,
    /// The origin's URLs and what they become: `{scheme}://{proxy host}`, where the scheme is
    /// the one the reader connected with (`https` when the client connection is TLS, on Fastly;
    /// `http` under Viceroy), never taken from the request target, which a client writes, and
    /// the proxy host is the client's Host (a request without a usable one is refused before).
    pub urls: UrlRewriter,
    pub client_ip: Option<IpAddr>,
    pub geo: Option<Geo>,
    pub identity: IdentityAction,
    /// The client's `Accept-Encoding`, every line joined (bytes that are not UTF-8 replaced:
    /// they match no coding); `None` when it sent none.
    pub accept_encoding: Option<String>,
    /// The client speaks HTTP/1.0 (or older): it cannot see a cut stream.
    pub http10: bool,
}

impl RequestContext {
    pub(crate) fn of(
        request: &Request,
        connection: Connection,
        proxy_host: &str,
        settings: &Settings,
    ) -> RequestContext {
        let client_ip = connection.client_ip;
        let geo = client_ip.and_then(fastly::geo::geo_lookup).map(|g| Geo {
            country: Some(g.country_code().to_owned()).filter(|c| !c.is_empty()),
            city: Some(g.city().to_owned()).filter(|c| !c.is_empty()),
            continent: Some(g.continent().as_code().to_owned()),
            region: g.region().map(str::to_owned),
            coordinates: Some((g.latitude(), g.longitude())),
            metro_code: Some(g.metro_code()),
        });
        let headers = RequestHeaders(request);
        let proxy_scheme = if connection.tls { "https" } else { "http" };
        let outcome = identity::read(
            &headers,
            &Inputs {
                key: &settings.synthetic_id_key,
                client_ip,
                country: geo.as_ref().and_then(|g| g.country.as_deref()),
                unknown: settings.unknown_jurisdiction,
            },
        );
        for name in &outcome.consent.malformed {
            log::warn!("the {name} consent string does not decode; counted as no consent");
        }
        if let Some(error) = &outcome.error {
            log::error!("no synthetic ID could be made: {error}");
        }
        let accept_lines: Vec<String> = headers
            .get_all("accept-encoding")
            .into_iter()
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect();
        RequestContext {
            accept_encoding: (!accept_lines.is_empty()).then(|| accept_lines.join(", ")),
            http10: matches!(request.get_version(), Version::HTTP_09 | Version::HTTP_10),
            method: request.get_method_str().to_owned(),
            urls: UrlRewriter::new(&settings.origin_host, proxy_scheme, proxy_host),
            client_ip,
            identity: outcome.action,
            geo,
        }
    }
}
