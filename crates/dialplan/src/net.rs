//! Network values written in the config: CIDR blocks, host:port, port ranges.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::Error;

/// An IP network like `203.0.113.0/24`; a bare address is a /32 (or /128) network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside the network. An IPv4-mapped IPv6 source (`::ffff:a.b.c.d`, what a
    /// dual-stack socket reports) matches the IPv4 network it maps to.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
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

    /// True when the address has bits set beyond the prefix (`10.0.0.1/8`): allowed, since the
    /// match masks them, but probably not what was meant.
    pub fn has_host_bits(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & !mask != 0
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & !mask != 0
            }
        }
    }
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::BadCidr(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => {
                let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
                let digits = prefix.trim();
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let prefix: u8 = digits.parse().map_err(|_| bad())?;
                (addr, prefix)
            }
            None => {
                let addr: IpAddr = s.trim().parse().map_err(|_| bad())?;
                let prefix = if addr.is_ipv4() { 32 } else { 128 };
                (addr, prefix)
            }
        };
        let (family, max) = if addr.is_ipv4() {
            ("IPv4", 32)
        } else {
            ("IPv6", 128)
        };
        if prefix > max {
            return Err(Error::CidrPrefixTooLong {
                prefix,
                family,
                max,
            });
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Where to send SIP: a host (IP address or DNS name) and a port (5060 when not written).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    /// The host as an IP address, when it is one (no DNS needed).
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The socket address when the host is a literal IP.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        Some(std::net::SocketAddr::new(self.ip()?, self.port))
    }
}

impl FromStr for HostPort {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::BadHostPort(s.to_owned());
        let s = s.trim();
        // [v6]:port, [v6], v4:port, name:port, v4, name. A bare v6 without brackets is accepted
        // whole, since its colons make the port ambiguous.
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            host.parse::<Ipv6Addr>().map_err(|_| bad())?;
            match after {
                "" => (host, None),
                p => (host, Some(p.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else if s.parse::<Ipv6Addr>().is_ok() {
            (s, None)
        } else {
            match s.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (s, None),
            }
        };
        let port = match port {
            None => 5060,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        if host.parse::<IpAddr>().is_err() && !is_hostname(host) {
            return Err(bad());
        }
        Ok(HostPort {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A DNS name per RFC 1123: dot-separated labels of letters, digits and inner hyphens.
fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        // All-numeric dotted names are mistyped IPs ("10.0.0.300"), not hosts.
        && !s.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// An inclusive range of UDP ports, written `"20000-29999"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    /// How many RTP/RTCP pairs fit: each call leg takes an even RTP port and the odd one above.
    pub fn pairs(&self) -> u32 {
        let first = u32::from(self.first.next_multiple_of(2));
        let last = u32::from(self.last);
        if last <= first {
            0
        } else {
            // Even ports p with p + 1 <= last: (last - first + 1) / 2, rounded down.
            (last - first).div_ceil(2)
        }
    }
}

impl FromStr for PortRange {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::BadPortRange(s.to_owned());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let parse = |p: &str| -> Result<u16, Error> {
            let p = p.trim();
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        Ok(PortRange {
            first: parse(a)?,
            last: parse(b)?,
        })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// The unspecified IPv4 address, the default SIP listen host.
pub(crate) const ANY_V4: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains() {
        let net: Cidr = "203.0.113.0/24".parse().unwrap();
        assert!(net.contains("203.0.113.200".parse().unwrap()));
        assert!(!net.contains("203.0.114.1".parse().unwrap()));
        assert!(net.contains("::ffff:203.0.113.9".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.prefix(), 32);
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn cidr_rejects_garbage() {
        for bad in [
            "",
            "10.0.0",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/-1",
            "host/24",
            "10.0.0.256",
        ] {
            assert_eq!(
                bad.parse::<Cidr>(),
                Err(Error::BadCidr(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(Error::CidrPrefixTooLong {
                prefix: 33,
                max: 32,
                ..
            })
        ));
        assert!("10.0.0.1/8".parse::<Cidr>().unwrap().has_host_bits());
        assert!(!"10.0.0.0/8".parse::<Cidr>().unwrap().has_host_bits());
    }

    #[test]
    fn host_port_forms() {
        let hp: HostPort = "127.0.0.1:5070".parse().unwrap();
        assert_eq!((hp.host.as_str(), hp.port), ("127.0.0.1", 5070));
        assert_eq!(hp.socket_addr(), Some("127.0.0.1:5070".parse().unwrap()));
        let hp: HostPort = "sip.provider.example".parse().unwrap();
        assert_eq!((hp.host.as_str(), hp.port), ("sip.provider.example", 5060));
        assert_eq!(hp.socket_addr(), None);
        let hp: HostPort = "[2001:db8::1]:5080".parse().unwrap();
        assert_eq!((hp.host.as_str(), hp.port), ("2001:db8::1", 5080));
        assert_eq!(hp.to_string(), "[2001:db8::1]:5080");
        for bad in [
            "",
            ":5060",
            "host:",
            "host:0",
            "host:70000",
            "bad host:5060",
            "10.0.0.300:5060",
            "[::1",
        ] {
            assert!(bad.parse::<HostPort>().is_err(), "{bad}");
        }
    }

    #[test]
    fn port_ranges() {
        let r: PortRange = "20000-29999".parse().unwrap();
        assert_eq!((r.first, r.last), (20000, 29999));
        assert_eq!(r.pairs(), 5000);
        assert!(r.contains(20000) && r.contains(29999) && !r.contains(30000));
        for bad in ["20000", "a-b", "-5", "20000-70000", "1 - 2 - 3"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
    }
}
