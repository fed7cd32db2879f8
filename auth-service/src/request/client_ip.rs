//! The client's IP address: the socket peer's, unless the peer is a trusted proxy, in
//! which case the right-most untrusted entry of `X-Forwarded-For` (the exact rule, for
//! malformed headers too, is [`resolve`]'s); and the [`network`] per-address limits count.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::ConnectInfo;
use http::HeaderMap;

/// An IP network (`10.0.0.0/8`, `::1/128`, or a bare address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies inside this network.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || "expected IP addresses or CIDR networks, comma-separated".to_owned();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(addr.trim().parse::<IpAddr>().map_err(|_| err())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(err)?,
        };
        Ok(Self { addr, prefix })
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// How many `X-Forwarded-For` entries are examined, from the right; entries further left
/// are never read (a longer chain of trusted proxies ends at its 16th hop).
pub const MAX_FORWARDED_HOPS: usize = 16;

/// Resolves the client IP of a request.
///
/// The peer, unless it is a trusted proxy. Then `X-Forwarded-For` (every such header, in
/// order, as one comma-separated list) is walked from the right, over at most
/// [`MAX_FORWARDED_HOPS`] entries, empty entries skipped: a trusted address hands the walk
/// on to the entry on its left, the first untrusted address is the client. A malformed
/// entry (not an address, `unknown`, non-ASCII) ends the walk: the client is the hop on
/// its right, which reported it. An entry is an IPv4 or IPv6 address, optionally with a
/// port (`1.2.3.4:5678`, `[2001:db8::1]:443`); IPv4-mapped IPv6 counts as IPv4.
///
/// So what a client writes into the header (everything left of what the first proxy
/// appended) never decides another client's address, and garbage never turns a client into
/// its proxy: behind a proxy that appends its peer the answer is the proxy only when the
/// proxy sent no entry, or when its own right-most entry is malformed (a proxy
/// misconfiguration, logged at debug level).
#[must_use]
pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer.unwrap_or_else(crate::config::Settings::fallback_ip));
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|line| -> Box<dyn Iterator<Item = Option<&str>> + '_> {
            match line.to_str() {
                Ok(text) => Box::new(text.rsplit(',').map(Some)),
                Err(_) => Box::new(std::iter::once(None)),
            }
        })
        .filter(|e| e.is_none_or(|t| !t.trim().is_empty()))
        .take(MAX_FORWARDED_HOPS);
    let mut client = peer;
    for (i, entry) in entries.enumerate() {
        let Some(hop) = entry.and_then(parse_hop) else {
            if i == 0 {
                tracing::debug!("malformed right-most X-Forwarded-For entry from a trusted proxy");
            }
            break;
        };
        client = hop;
        if !is_trusted(hop) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, optionally with a port.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // `1.2.3.4:80` or `[v6]:80` (`[v6]` alone too).
    entry
        .parse::<SocketAddr>()
        .map(|a| a.ip())
        .ok()
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
        .map(canonical)
}

/// The address per-address limits count: IPv4 as is, IPv6 its /64 (one customer's
/// network is usually a /64, and any of its 2^64 addresses is as cheap as one).
#[must_use]
pub fn network(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

/// The client address of a request ([`resolve`] over its peer and headers).
#[must_use]
pub fn of_request(parts: &http::request::Parts, trusted: &[IpNet]) -> IpAddr {
    resolve(peer_of(&parts.extensions), &parts.headers, trusted)
}

/// The socket peer of a request, when the server recorded one.
#[must_use]
pub fn peer_of(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_header_says() {
        let ip = resolve(Some("203.0.113.9".parse().unwrap()), &xff("1.2.3.4"), &[]);
        assert_eq!(ip.to_string(), "203.0.113.9");
    }

    #[test]
    fn trusted_proxy_yields_the_right_most_untrusted_entry() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        let headers = xff("6.6.6.6, 198.51.100.7, 10.1.2.3");
        let ip = resolve(Some("127.0.0.1".parse().unwrap()), &headers, &trusted);
        assert_eq!(ip.to_string(), "198.51.100.7");
    }

    #[test]
    fn garbage_header_falls_back_to_the_peer() {
        let trusted = vec!["127.0.0.1".parse().unwrap()];
        let ip = resolve(
            Some("127.0.0.1".parse().unwrap()),
            &xff("not-an-ip"),
            &trusted,
        );
        assert_eq!(ip.to_string(), "127.0.0.1");
    }

    fn from_proxy(headers: &HeaderMap) -> String {
        let trusted = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        resolve(Some("127.0.0.1".parse().unwrap()), headers, &trusted).to_string()
    }

    #[test]
    fn garbage_a_client_writes_never_makes_it_the_proxy() {
        // The client wrote the left part; the proxy appended the peer it saw.
        for (header, client) in [
            ("not-an-ip, 198.51.100.7", "198.51.100.7"),
            ("unknown, 198.51.100.7", "198.51.100.7"),
            ("1.2.3.4, 5.6.7.8:x, 198.51.100.7", "198.51.100.7"),
            ("%%%, 198.51.100.7, 10.1.2.3", "198.51.100.7"),
            ("198.51.100.7,, , 10.1.2.3", "198.51.100.7"),
            (", 198.51.100.7", "198.51.100.7"),
        ] {
            assert_eq!(from_proxy(&xff(header)), client, "{header}");
        }
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        for (header, client) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
            ("10.0.0.2:80, 10.0.0.1", "10.0.0.2"),
        ] {
            assert_eq!(from_proxy(&xff(header)), client, "{header}");
        }
    }

    #[test]
    fn a_malformed_entry_ends_the_walk_at_the_hop_that_reported_it() {
        // 10.1.2.3 (trusted) reported garbage as its peer: it is the best we know.
        assert_eq!(from_proxy(&xff("6.6.6.6, garbage, 10.1.2.3")), "10.1.2.3");
        // The proxy's own entry is garbage: it told us nothing, so it is the client.
        assert_eq!(from_proxy(&xff("6.6.6.6, garbage")), "127.0.0.1");
        assert_eq!(from_proxy(&xff(" , ")), "127.0.0.1");
        assert_eq!(from_proxy(&HeaderMap::new()), "127.0.0.1");
    }

    #[test]
    fn every_header_line_counts_and_only_the_last_hops_are_read() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        h.append("x-forwarded-for", "198.51.100.7, 10.0.0.9".parse().unwrap());
        assert_eq!(from_proxy(&h), "198.51.100.7");
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        h.append(
            "x-forwarded-for",
            http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert_eq!(from_proxy(&h), "127.0.0.1");
        // 40 trusted hops left of nothing: the walk stops after MAX_FORWARDED_HOPS.
        let chain = format!("6.6.6.6, {}", vec!["10.0.0.1"; 40].join(", "));
        assert_eq!(from_proxy(&xff(&chain)), "10.0.0.1");
        let chain = format!(
            "6.6.6.6, {}",
            vec!["10.0.0.1"; MAX_FORWARDED_HOPS - 1].join(",")
        );
        assert_eq!(from_proxy(&xff(&chain)), "6.6.6.6");
    }

    #[test]
    fn limits_count_ipv6_per_64() {
        let n = |s: &str| network(s.parse().unwrap()).to_string();
        assert_eq!(n("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(n("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::");
        assert_ne!(n("2001:db8:1:3::1"), n("2001:db8:1:2::1"));
        assert_eq!(n("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(n("198.51.100.7"), "198.51.100.7");
    }

    #[test]
    fn networks_parse_and_match() {
        let net: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains("192.168.4.5".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.1.1".parse().unwrap()));
        let all: IpNet = "::/0".parse().unwrap();
        assert!(all.contains("2001:db8::1".parse().unwrap()));
        assert!("1.2.3.4/33".parse::<IpNet>().is_err());
    }
}
