//! What Sluice knows about a client request before it asks the origin: who and where the
//! reader is, and what identity the response will carry.

use fastly::Request;
use fastly::http::header;
use sluice_edge::policy::consent::{self, Jurisdiction, Signals};
use sluice_edge::policy::headers::Geo;
use sluice_edge::policy::identity::{self, IdentityAction};
use sluice_edge::policy::request::{client_scheme, proxy_host};
use sluice_edge::policy::settings::Settings;
use std::net::IpAddr;

/// One request's facts, gathered once.
pub(crate) struct RequestContext {
    pub method: String,
    pub proxy_host: String,
    /// The scheme the client used: what the origin's URLs become (`https` on Fastly's TLS
    /// front, `http` under Viceroy).
    pub proxy_scheme: &'static str,
    pub client_ip: Option<IpAddr>,
    pub geo: Option<Geo>,
    pub identity: IdentityAction,
}

impl RequestContext {
    pub(crate) fn of(request: &Request, settings: &Settings) -> RequestContext {
        let client_ip = request.get_client_ip_addr();
        let geo = client_ip.and_then(fastly::geo::geo_lookup).map(|g| Geo {
            country: Some(g.country_code().to_owned()).filter(|c| !c.is_empty()),
            city: Some(g.city().to_owned()).filter(|c| !c.is_empty()),
            continent: Some(g.continent().as_code().to_owned()),
            region: g.region().map(str::to_owned),
            coordinates: Some((g.latitude(), g.longitude())),
            metro_code: Some(g.metro_code()),
        });
        let proxy_host = proxy_host(request.get_header_str(header::HOST))
            .unwrap_or_else(|| settings.origin_host.clone());
        let proxy_scheme = client_scheme(request.get_url_str());
        RequestContext {
            method: request.get_method_str().to_owned(),
            proxy_host,
            proxy_scheme,
            client_ip,
            identity: identity_for(request, settings, client_ip, geo.as_ref()),
            geo,
        }
    }
}

fn identity_for(
    request: &Request,
    settings: &Settings,
    client_ip: Option<IpAddr>,
    geo: Option<&Geo>,
) -> IdentityAction {
    let cookies = request.get_header_all_str(header::COOKIE).join("; ");
    let cookie = |name| identity::cookie(&cookies, name);
    let signals = Signals {
        tcf: cookie("euconsent-v2"),
        gpp: cookie("__gpp"),
        gpp_sid: cookie("__gpp_sid"),
        us_privacy: cookie("us_privacy"),
        gpc: request.get_header_str("sec-gpc").map(str::trim) == Some("1"),
    };
    let jurisdiction = Jurisdiction::of_country(geo.and_then(|g| g.country.as_deref()));
    let decision = consent::decide(jurisdiction, &signals);
    for name in &decision.malformed {
        log::warn!("the {name} consent string does not decode; counted as no consent");
    }
    let user_agent = request.get_header_str(header::USER_AGENT).unwrap_or("");
    let action = identity::action(
        decision.allowed,
        cookie(identity::COOKIE),
        request.get_header_str(identity::HEADER),
        || identity::generate(&settings.synthetic_id_key, client_ip, user_agent),
    );
    action.unwrap_or_else(|error| {
        log::error!("no synthetic ID could be made: {error}");
        IdentityAction::Nothing
    })
}
