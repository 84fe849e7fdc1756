//! `[[webhook]]`: HTTP endpoints told about calls and voicemail as they happen.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One `[[webhook]]`: where to POST, which events, how to sign them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: WebhookUrl,
    /// The events sent here, in config order, without repeats.
    pub events: Vec<WebhookEvent>,
    /// Key for the `X-Switchboard-Signature` HMAC-SHA256 header; `None`: unsigned.
    pub secret: Option<String>,
    /// For one delivery attempt: connecting, sending and reading the status line.
    pub timeout: Duration,
}

impl Webhook {
    pub fn wants(&self, event: WebhookEvent) -> bool {
        self.events.contains(&event)
    }
}

/// What happened. The names are what the config and the payload's `event` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    /// A call ended; its record is stored.
    CallEnded,
    /// A caller left a voicemail; the WAV file is complete.
    VoicemailNew,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 2] = [WebhookEvent::CallEnded, WebhookEvent::VoicemailNew];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::CallEnded => "call.ended",
            WebhookEvent::VoicemailNew => "voicemail.new",
        }
    }
}

impl FromStr for WebhookEvent {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        WebhookEvent::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plain `http://` URL, split the way a client needs it. `https://` is refused at load time:
/// the switch has no TLS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// A name or an IP address (IPv6 without brackets).
    pub host: String,
    /// 80 when not written.
    pub port: u16,
    /// Starts with `/`; includes the query string, if any.
    pub path: String,
}

impl WebhookUrl {
    /// The `Host` header value.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

impl FromStr for WebhookUrl {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, crate::Error> {
        let bad = || crate::Error::BadWebhookUrl(s.to_owned());
        if s.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        {
            return Err(crate::Error::WebhookHttps(s.to_owned()));
        }
        let rest = match s.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("http://") => &s[7..],
            _ => return Err(bad()),
        };
        if rest
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad());
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        // Credentials in the URL would end up in logs; the secret is the way to authenticate.
        if authority.contains('@') || path.contains('#') {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            host.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            match after {
                "" => (host, None),
                p => (host, Some(p.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let valid_host = !host.is_empty()
            && (host.contains(':')
                || host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
        if !valid_host {
            return Err(bad());
        }
        let port = match port {
            None => 80,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p != 0 => p,
                _ => return Err(bad()),
            },
        };
        Ok(WebhookUrl {
            // Host names are case-insensitive; one spelling makes duplicates visible.
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Result<WebhookUrl, crate::Error> {
        s.parse()
    }

    #[test]
    fn parses_http_urls() {
        let u = url("http://crm.example:8081/hooks/calls?token=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("crm.example", 8081, "/hooks/calls?token=1")
        );
        assert_eq!(u.authority(), "crm.example:8081");
        let u = url("http://127.0.0.1").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        assert_eq!(u.to_string(), "http://127.0.0.1/");
        let u = url("http://[::1]:9000/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
        assert_eq!(u.authority(), "[::1]:9000");
        assert_eq!(url("http://h?q=1").unwrap().path, "/?q=1");
    }

    #[test]
    fn refuses_others() {
        assert!(matches!(
            url("https://crm.example/x"),
            Err(crate::Error::WebhookHttps(_))
        ));
        for bad in [
            "ftp://x/",
            "crm.example/x",
            "http://",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://user:pw@h/",
            "http://h/a b",
            "http://h/#frag",
            "http://[zz]/",
            "http://h:x/",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }
}
