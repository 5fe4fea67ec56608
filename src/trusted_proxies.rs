//! Which peers are our own proxies, and the client behind them: the pure rule of
//! `auth::client_ip`, kept apart from the request so that `config` can check the setting and
//! `state` hold it without importing the HTTP side.
//!
//! The client's address, the one rule used by throttling, the request log and the audit trail:
//! the TCP peer's, unless the peer is a trusted proxy (`server.trusted_proxies`), in which case
//! `X-Forwarded-For` is read from its right end and the first hop that is not a trusted proxy
//! is the client. Any client can send the header; only the proxies we run append to it
//! truthfully, so whatever lies left of the last untrusted hop is ignored.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Each entry an address (`10.0.0.5`, `::1`) or a network (`10.0.0.0/8`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("{entry:?} is neither an IP address nor a CIDR network")
                })?,
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that came from `peer` with these headers.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        if !self.contains(peer) {
            return peer;
        }
        // Every X-Forwarded-For header, in order, as one list of hops (oldest first).
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) => {
                    client = ip;
                    if !self.contains(ip) {
                        return ip;
                    }
                }
                // Garbage in the chain: what is left of it cannot be trusted either.
                None => return client,
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| canonical(s.ip()))
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:1.2.3.4`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_client_is_the_last_untrusted_hop_and_only_behind_a_trusted_peer() {
        let proxies =
            TrustedProxies::parse(&["10.0.0.0/8".into(), " 192.168.1.7 ".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases: &[(&str, &[&str], &str)] = &[
            // No proxy in front: the header is the client's word, ignored.
            ("203.0.113.9", &["1.1.1.1"], "203.0.113.9"),
            // Behind the load balancer: its peer is the client.
            ("10.0.0.2", &["198.51.100.4"], "198.51.100.4"),
            // A forged hop on the left of the real one is ignored.
            ("10.0.0.2", &["6.6.6.6, 198.51.100.4"], "198.51.100.4"),
            // Two proxies of ours: skip both.
            ("10.0.0.2", &["198.51.100.4, 192.168.1.7"], "198.51.100.4"),
            // Several headers are one list.
            ("10.0.0.2", &["6.6.6.6", "198.51.100.4"], "198.51.100.4"),
            // Ports and IPv6.
            ("10.0.0.2", &["198.51.100.4:5555"], "198.51.100.4"),
            ("10.0.0.2", &["[2001:db8::1]:443"], "2001:db8::1"),
            // No header behind a proxy: the proxy is all we know.
            ("10.0.0.2", &[], "10.0.0.2"),
            // Garbage stops the walk at the last good hop.
            ("10.0.0.2", &["198.51.100.4, nonsense"], "10.0.0.2"),
            // Only trusted hops: the leftmost.
            ("10.0.0.2", &["10.1.1.1"], "10.1.1.1"),
            // An IPv4 peer seen as IPv6.
            ("::ffff:10.0.0.2", &["198.51.100.4"], "198.51.100.4"),
        ];
        for (peer, xff, expected) in cases {
            assert_eq!(
                proxies.client_ip(Some(ip(peer)), &headers(xff)),
                ip(expected),
                "{peer} {xff:?}"
            );
        }
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(Some(ip("127.0.0.1")), &headers(&["1.2.3.4"])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        assert!(TrustedProxies::parse(&["".into(), "::1".into()]).is_ok());
    }
}
