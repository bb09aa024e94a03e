//! What Vigie may fetch: the one policy against server-side request forgery,
//! for every address the prober connects to (targets of kind `http` and
//! Prometheus scrapes), since whoever may add a target chooses where this
//! server sends requests from inside its network.
//!
//! - Always refused, whatever the configuration: link-local addresses
//!   (169.254.0.0/16, fe80::/10, where every cloud's metadata service lives),
//!   the other metadata addresses (Alibaba's 100.100.100.200, AWS's
//!   fd00:ec2::254), "this network" 0.0.0.0/8 and `::`, multicast and
//!   broadcast; the same addresses written as IPv4-mapped (or NAT64, or
//!   IPv4-compatible) IPv6; and the metadata host names
//!   ([`METADATA_NAMES`]), case and a trailing dot ignored.
//! - `VIGIE_FETCH_ALLOW`, when set, narrows the rest: a URL is fetched only
//!   when its host name matches a listed name (`host`, `*.suffix`) or every
//!   address it resolves to lies in a listed network or IP. Empty (the
//!   default), private networks and loopback stay allowed: watching the
//!   services next to it is what Vigie is for.
//!
//! The check runs where it cannot be bypassed: on the URL as written (IP
//! literals never reach a resolver) when a target is saved, before each probe
//! and on every redirect ([`FetchPolicy::redirect_policy`]); and on the
//! addresses a name resolves to, by the client's own resolver
//! ([`FetchPolicy::resolver`]) at connection time, so a name re-pointed after
//! it was validated (DNS rebinding) is still refused. A refusal is a
//! [`Blocked`] error, which the prober classifies as `Outcome::Blocked`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::Config;

/// Host names of cloud metadata services (GCP, AWS and the short forms their
/// instances resolve), refused like the addresses behind them.
pub const METADATA_NAMES: [&str; 5] = [
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Longest wait for a name's addresses when a target is saved: a resolver
/// that does not answer must not hold the request (probing reports it).
const VALIDATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a fetch is refused; the message names the host or address and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Blocked(String);

/// The policy, built once from the configuration; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FetchPolicy {
    allow: Arc<Allowlist>,
}

/// `VIGIE_FETCH_ALLOW`, parsed. All empty: no narrowing.
#[derive(Debug, Default)]
struct Allowlist {
    /// Exact host names, lower case, without a trailing dot.
    names: Vec<String>,
    /// From `*.example.com`: `.example.com` (subdomains, not the name itself).
    suffixes: Vec<String>,
    nets: Vec<IpNet>,
}

impl Allowlist {
    fn is_empty(&self) -> bool {
        self.names.is_empty() && self.suffixes.is_empty() && self.nets.is_empty()
    }

    fn has_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name) || self.suffixes.iter().any(|s| name.ends_with(s))
    }

    fn has_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

/// What a URL's host is, once the URL parser has normalised it (IPv4 in
/// dotted quads, whatever the spelling; IPv6 in brackets).
enum Host<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

fn url_host(url: &Url) -> Option<Host<'_>> {
    let host = url.host_str().filter(|h| !h.is_empty())?;
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse().ok().map(Host::Ip);
    }
    Some(match host.parse::<Ipv4Addr>() {
        Ok(v4) => Host::Ip(IpAddr::V4(v4)),
        Err(_) => Host::Name(host),
    })
}

/// Lower case, one trailing dot dropped: `Metadata.Google.Internal.` is
/// the same host as `metadata.google.internal`.
fn normalise_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address: the
/// socket connects to it over IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Why `ip` is never fetched, if it is not.
fn always_refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if a == 169 && b == 254 {
        Some("a link-local address (where cloud metadata services answer)")
    } else if ip == Ipv4Addr::new(100, 100, 100, 200) {
        Some("a cloud metadata address")
    } else if a == 0 {
        // Connecting to 0.0.0.0 reaches this very host on Linux.
        Some("an unspecified (\"this network\") address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else {
        None
    }
}

fn always_refused(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => always_refused_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                Some("a cloud metadata address")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address (where cloud metadata services answer)")
            } else if v6.is_unspecified() {
                Some("an unspecified (\"this network\") address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if let Some(v4) = embedded_v4(v6) {
                // The same refused IPv4 address reached through a translator.
                always_refused_v4(v4)
            } else {
                None
            }
        }
    }
}

/// The IPv4 address inside a NAT64 (64:ff9b::/96) or deprecated
/// IPv4-compatible (::a.b.c.d) address; `::1` is loopback, not 0.0.0.1.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let compatible = s[..6] == [0; 6] && low.octets()[0] != 0;
    (nat64 || compatible).then_some(low)
}

fn is_metadata_name(name: &str) -> bool {
    METADATA_NAMES.contains(&name)
}

/// A host name as an allowlist entry: letters, digits, `-` and `_` in
/// non-empty dot-separated labels.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl FetchPolicy {
    /// The policy of `config.fetch_allow`; an entry that is not a host name,
    /// `*.suffix`, IP or CIDR network is an error naming it.
    pub fn from_config(config: &Config) -> Result<FetchPolicy, String> {
        FetchPolicy::with_allowlist(&config.fetch_allow)
    }

    /// The policy with these allowlist entries (empty: no narrowing).
    pub fn with_allowlist<S: AsRef<str>>(entries: &[S]) -> Result<FetchPolicy, String> {
        let mut allow = Allowlist::default();
        for raw in entries {
            let entry = raw.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let bad = |why: &str| format!("VIGIE_FETCH_ALLOW entry {entry:?}: {why}");
            if entry.contains('/') {
                let net: IpNet = entry
                    .parse()
                    .map_err(|_| bad("not a CIDR network such as 10.0.0.0/8 or fd00::/8"))?;
                allow.nets.push(net.trunc());
            } else if let Ok(ip) = entry
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            {
                allow.nets.push(IpNet::from(canonical(ip)));
            } else if let Some(suffix) = entry.strip_prefix("*.") {
                let suffix = normalise_name(suffix);
                if !valid_name(&suffix) {
                    return Err(bad("a wildcard is *. followed by a host name"));
                }
                allow.suffixes.push(format!(".{suffix}"));
            } else {
                let name = normalise_name(entry);
                if !valid_name(&name) {
                    return Err(bad("not a host name, *.suffix, IP address or CIDR network"));
                }
                allow.names.push(name);
            }
        }
        Ok(FetchPolicy {
            allow: Arc::new(allow),
        })
    }

    /// Whether an address may be connected to, as an IP literal: never when
    /// always refused, and only inside the allowlist's networks when set.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        if let Some(why) = always_refused(ip) {
            return Err(Blocked(format!("{ip} is {why}: Vigie never fetches it")));
        }
        if !self.allow.is_empty() && !self.allow.has_ip(ip) {
            return Err(Blocked(format!("{ip} is not in VIGIE_FETCH_ALLOW")));
        }
        Ok(())
    }

    /// What can be said of a host name before resolving it: refused when it
    /// is a metadata name; `true` when the allowlist lists it (its
    /// addresses then only need to avoid the always-refused ranges).
    fn check_name(&self, name: &str) -> Result<bool, Blocked> {
        let name = normalise_name(name);
        if is_metadata_name(&name) {
            return Err(Blocked(format!(
                "{name} is a cloud metadata host name: Vigie never fetches it"
            )));
        }
        Ok(self.allow.has_name(&name))
    }

    /// The check of a URL as written, without resolving: an IP literal in
    /// full, a name against the metadata names. A name not listed in the
    /// allowlist is left to the resolver, which sees its addresses.
    pub fn check_url(&self, url: &Url) -> Result<(), Blocked> {
        match url_host(url) {
            None => Err(Blocked(format!("{url} names no host"))),
            Some(Host::Ip(ip)) => self.check_ip(ip),
            Some(Host::Name(name)) => self.check_name(name).map(|_| ()),
        }
    }

    /// The check of the addresses `name` resolved to: refused when any of
    /// them is (a connection may use any), or, with an allowlist that does
    /// not list the name, when any lies outside its networks.
    pub fn check_resolved(&self, name: &str, addrs: &[IpAddr]) -> Result<(), Blocked> {
        let listed = self.check_name(name)?;
        for ip in addrs {
            if let Some(why) = always_refused(*ip) {
                return Err(Blocked(format!(
                    "{name} resolves to {ip}, {why}: Vigie never fetches it"
                )));
            }
        }
        if listed || self.allow.is_empty() {
            return Ok(());
        }
        match addrs.iter().find(|ip| !self.allow.has_ip(**ip)) {
            Some(ip) => Err(Blocked(format!(
                "{name} resolves to {ip}, which is not in VIGIE_FETCH_ALLOW"
            ))),
            None if addrs.is_empty() => Err(Blocked(format!(
                "{name} resolves to no address and is not in VIGIE_FETCH_ALLOW"
            ))),
            None => Ok(()),
        }
    }

    /// [`FetchPolicy::check_url`], then the addresses of a name, resolved
    /// once (when a target is saved). A name that does not resolve (yet) is
    /// let through: probing will report it as a DNS failure, and the
    /// resolver checks it again on every connection.
    pub async fn check_url_resolving(&self, url: &Url) -> Result<(), Blocked> {
        self.check_url(url)?;
        let Some(Host::Name(name)) = url_host(url) else {
            return Ok(());
        };
        let lookup = tokio::net::lookup_host((name, 0));
        match tokio::time::timeout(VALIDATION_LOOKUP_TIMEOUT, lookup).await {
            Ok(Ok(addrs)) => {
                let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                self.check_resolved(name, &ips)
            }
            Ok(Err(_)) | Err(_) => Ok(()),
        }
    }

    /// [`FetchPolicy::check_url_resolving`] for a blocking thread (the
    /// targets file is read in one at start).
    pub fn check_url_resolving_blocking(&self, url: &Url) -> Result<(), Blocked> {
        self.check_url(url)?;
        let Some(Host::Name(name)) = url_host(url) else {
            return Ok(());
        };
        match (name, 0).to_socket_addrs() {
            Ok(addrs) => {
                let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                self.check_resolved(name, &ips)
            }
            Err(_) => Ok(()),
        }
    }

    /// The resolver of the probe client: the system's (tokio's
    /// `lookup_host`), and an error, never an address, when any address of
    /// the name is refused.
    pub fn resolver(&self) -> Arc<PolicyResolver> {
        Arc::new(PolicyResolver {
            policy: self.clone(),
        })
    }

    /// Redirects followed up to `max_hops`, each target URL checked as
    /// written first: an IP literal in a `Location` never reaches the
    /// resolver, and a metadata name is refused before any lookup.
    pub fn redirect_policy(&self, max_hops: usize) -> reqwest::redirect::Policy {
        let policy = self.clone();
        let limited = reqwest::redirect::Policy::limited(max_hops);
        reqwest::redirect::Policy::custom(move |attempt| {
            if let Err(blocked) = policy.check_url(attempt.url()) {
                let refused = Blocked(format!("redirect to {}: {blocked}", attempt.url()));
                return attempt.error(refused);
            }
            limited.redirect(attempt)
        })
    }
}

/// See [`FetchPolicy::resolver`].
#[derive(Debug)]
pub struct PolicyResolver {
    policy: FetchPolicy,
}

/// The resolver's answer: the addresses, or why there are none.
type Lookup = Result<Addrs, Box<dyn std::error::Error + Send + Sync>>;

async fn lookup(policy: FetchPolicy, name: String) -> Lookup {
    // A metadata name is refused before anything is sent, even to DNS.
    policy.check_name(&name)?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
    let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
    policy.check_resolved(&name, &ips)?;
    Ok(Box::new(addrs.into_iter()))
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(lookup(self.policy.clone(), name.as_str().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP")
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a URL")
    }

    fn allowing(entries: &[&str]) -> FetchPolicy {
        FetchPolicy::with_allowlist(entries).expect("valid entries")
    }

    #[test]
    fn link_local_metadata_and_unroutable_addresses_are_always_refused() {
        let open = FetchPolicy::default();
        let everything = allowing(&["0.0.0.0/0", "::/0"]);
        for text in [
            "169.254.169.254",
            "169.254.0.1",
            "169.254.255.255",
            "fe80::1",
            "febf:ffff::1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::169.254.169.254",
            "100.100.100.200",
            "::ffff:100.100.100.200",
            "fd00:ec2::254",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "::ffff:0.0.0.0",
            "224.0.0.1",
            "239.255.255.250",
            "ff02::1",
            "255.255.255.255",
        ] {
            for policy in [&open, &everything] {
                let err = policy.check_ip(ip(text)).expect_err(text);
                assert!(err.to_string().contains("never fetches"), "{err}");
                assert!(
                    policy.check_resolved("ok.example", &[ip(text)]).is_err(),
                    "{text} behind a name"
                );
            }
        }
        for text in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
            // Other spellings of 169.254.169.254 the URL parser normalises.
            "http://2852039166/",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://0/",
        ] {
            assert!(open.check_url(&url(text)).is_err(), "{text}");
        }
    }

    #[test]
    fn metadata_names_are_refused_whatever_their_case_or_trailing_dot() {
        let open = FetchPolicy::default();
        let listed = allowing(&["metadata.google.internal", "*.internal", "metadata"]);
        for name in [
            "metadata.google.internal",
            "METADATA.Google.Internal",
            "metadata.google.internal.",
            "metadata.goog",
            "metadata",
            "Metadata.",
            "instance-data",
            "instance-data.ec2.internal",
        ] {
            for policy in [&open, &listed] {
                let u = url(&format!("http://{name}/computeMetadata/v1/"));
                let err = policy.check_url(&u).expect_err(name);
                assert!(err.to_string().contains("metadata host name"), "{err}");
                assert!(policy.check_resolved(name, &[ip("10.0.0.1")]).is_err());
            }
        }
        // Only those exact names: a name that merely contains one is not.
        assert!(open.check_url(&url("http://metadata.example.com/")).is_ok());
    }

    #[test]
    fn private_networks_and_loopback_are_allowed_by_default() {
        let open = FetchPolicy::default();
        for text in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd12::1",
            "93.184.216.34",
            "2001:db8::1",
            "::ffff:127.0.0.1",
        ] {
            assert_eq!(open.check_ip(ip(text)), Ok(()), "{text}");
        }
        for text in [
            "http://127.0.0.1:9100/metrics",
            "http://[::1]/",
            "http://localhost/",
            "https://db.internal.example/",
        ] {
            assert_eq!(open.check_url(&url(text)), Ok(()), "{text}");
        }
        assert_eq!(
            open.check_resolved("localhost", &[ip("127.0.0.1"), ip("::1")]),
            Ok(())
        );
    }

    #[test]
    fn an_allowlist_admits_its_names_wildcards_and_networks_only() {
        let policy = allowing(&[
            " api.example.com ",
            "*.svc.Cluster.local.",
            "10.0.0.0/8",
            "fd00::/8",
            "192.168.1.10",
        ]);
        // By name: whatever the name resolves to, but never a refused address.
        assert_eq!(
            policy.check_resolved("API.example.com.", &[ip("203.0.113.9")]),
            Ok(())
        );
        assert!(
            policy
                .check_resolved("api.example.com", &[ip("169.254.169.254")])
                .is_err()
        );
        assert_eq!(policy.check_url(&url("https://api.example.com/")), Ok(()));
        // By wildcard: subdomains, not the suffix itself nor a lookalike.
        assert_eq!(
            policy.check_resolved("web.ns.svc.cluster.local", &[ip("203.0.113.9")]),
            Ok(())
        );
        assert!(
            policy
                .check_resolved("svc.cluster.local", &[ip("203.0.113.9")])
                .is_err()
        );
        assert!(
            policy
                .check_resolved("evilsvc.cluster.local", &[ip("203.0.113.9")])
                .is_err()
        );
        // By network, for literals and for what a name resolves to.
        for ok in ["10.2.3.4", "::ffff:10.2.3.4", "fd12::7", "192.168.1.10"] {
            assert_eq!(policy.check_ip(ip(ok)), Ok(()), "{ok}");
        }
        for refused in ["127.0.0.1", "::1", "192.168.1.11", "11.0.0.1", "fe00::1"] {
            let err = policy.check_ip(ip(refused)).expect_err(refused);
            assert!(err.to_string().contains("VIGIE_FETCH_ALLOW"), "{err}");
        }
        assert_eq!(
            policy.check_resolved("db.example.org", &[ip("10.9.9.9"), ip("fd00::9")]),
            Ok(())
        );
        assert!(policy.check_url(&url("http://127.0.0.1:8080/")).is_err());
        assert!(policy.check_resolved("db.example.org", &[]).is_err());
    }

    #[test]
    fn a_name_resolving_to_any_refused_address_is_refused() {
        let open = FetchPolicy::default();
        let err = open
            .check_resolved("rebind.example", &[ip("10.0.0.1"), ip("169.254.169.254")])
            .expect_err("one metadata address among good ones");
        assert!(err.to_string().contains("169.254.169.254"), "{err}");
        let narrowed = allowing(&["10.0.0.0/8"]);
        let err = narrowed
            .check_resolved("half.example", &[ip("10.0.0.1"), ip("8.8.8.8")])
            .expect_err("one address outside the allowlist");
        assert!(err.to_string().contains("8.8.8.8"), "{err}");
    }

    #[test]
    fn a_bad_allowlist_entry_is_an_error_naming_it() {
        for entry in [
            "10.0.0.0/33",
            "10.0.0/8",
            "fd00::/129",
            "*.",
            "*",
            "a*b.example",
            "http://example.com",
            "exa mple.com",
            "host..example",
        ] {
            let err = FetchPolicy::with_allowlist(&[entry]).expect_err(entry);
            assert!(
                err.contains("VIGIE_FETCH_ALLOW") && err.contains(entry),
                "{err}"
            );
        }
        assert!(
            FetchPolicy::with_allowlist(&["", " "]).is_ok(),
            "blanks skipped"
        );
        let mut config = Config::local("d", "s");
        config.fetch_allow = vec!["10.0.0.0/8".into(), "nope/x".into()];
        let err = FetchPolicy::from_config(&config).expect_err("bad entry");
        assert!(err.contains("nope/x"), "{err}");
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_whose_addresses_are_not_allowed() {
        let narrowed = allowing(&["10.0.0.0/8"]);
        let err = lookup(narrowed.clone(), "localhost".into())
            .await
            .err()
            .expect("localhost is loopback, outside 10.0.0.0/8");
        assert!(err.downcast_ref::<Blocked>().is_some(), "{err}");
        let err = lookup(FetchPolicy::default(), "metadata.google.internal".into())
            .await
            .err()
            .expect("refused before any lookup");
        assert!(err.downcast_ref::<Blocked>().is_some(), "{err}");
        let found: Vec<SocketAddr> = lookup(FetchPolicy::default(), "localhost".into())
            .await
            .expect("loopback is allowed by default")
            .collect();
        assert!(found.iter().all(|a| a.ip().is_loopback()), "{found:?}");
        // Saving such a target: refused with the allowlist, allowed without.
        let u = url("http://localhost:9/");
        assert!(narrowed.check_url_resolving(&u).await.is_err());
        assert!(narrowed.check_url_resolving_blocking(&u).is_err());
        assert_eq!(FetchPolicy::default().check_url_resolving(&u).await, Ok(()));
        let unknown = url("http://vigie-fetch-policy-test.invalid/");
        assert_eq!(
            narrowed.check_url_resolving(&unknown).await,
            Ok(()),
            "a name that does not resolve is left to the probe"
        );
    }
}
