//! The client's address, the one rule used by throttling, the request log and the audit trail:
//! the TCP peer's, unless the peer is a trusted proxy (`server.trusted_proxies`), in which case
//! `X-Forwarded-For` is read from its right end and the first hop that is not a trusted proxy
//! is the client. Any client can send the header; only the proxies we run append to it
//! truthfully, so whatever lies left of the last untrusted hop is ignored.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;

pub use crate::trusted_proxies::TrustedProxies;

fn proxies_of(req: &HttpRequest) -> TrustedProxies {
    req.app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.trusted_proxies.as_ref().clone())
        .unwrap_or_default()
}

/// The client address of a request (handlers, audit events).
pub fn client_ip(req: &HttpRequest) -> IpAddr {
    proxies_of(req).client_ip(req.peer_addr().map(|a| a.ip()), req.headers())
}

/// The same, for middleware (the request log's span).
pub fn client_ip_of_service_request(req: &ServiceRequest) -> IpAddr {
    client_ip(req.request())
}
