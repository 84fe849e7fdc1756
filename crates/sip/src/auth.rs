//! HTTP Digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760):
//! parsing and printing `Digest` challenges and credentials, the response
//! computation for MD5 and SHA-256 (and their `-sess` forms), a stateless
//! server side, and the client side used to register to a trunk provider.
//!
//! Server nonces carry their own validity so no table of issued nonces is
//! needed: `nonce = hex(issue time, 8 bytes) || hex(HMAC-SHA256(secret,
//! time || source IP))[..32]`. A nonce presented from another address fails
//! the MAC; an old one is reported stale (RFC 7616 3.3: the credentials
//! were right, retry with the fresh nonce). Being stateless, nonce counts are
//! not tracked: a captured Authorization can be replayed from the same
//! address until the nonce ages out, so keep `max_age` short (minutes).

use std::fmt;
use std::net::IpAddr;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::SipError;
use crate::headers::split_top_level;
use crate::message::Method;

fn err(msg: impl Into<String>) -> SipError {
    SipError::Auth(msg.into())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Comparison whose time does not depend on where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 (RFC 2104) over the concatenation of `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

// ---------------------------------------------------------------- algorithms

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    /// Parses the `algorithm` parameter (case-insensitive); absent means MD5.
    pub fn from_param(s: Option<&str>) -> Option<Algorithm> {
        let Some(s) = s else {
            return Some(Algorithm::Md5);
        };
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex digest of `data`.
    pub fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex(&Sha256::digest(data.as_bytes())),
        }
    }

    /// HA1 = H(username:realm:password), what a user store may keep instead
    /// of the password (one per algorithm).
    pub fn ha1(self, username: &str, realm: &str, password: &str) -> String {
        self.hash(&format!("{username}:{realm}:{password}"))
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 32,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The password itself, or HA1 for the challenge's realm and algorithm.
#[derive(Debug, Clone, Copy)]
pub enum Secret<'a> {
    Password(&'a str),
    Ha1(&'a str),
}

/// The digest `response` value (RFC 7616 3.4.1). `qop` is `Some("auth")`
/// (with `cnonce` and `nc`) or `None` for the RFC 2069 legacy form.
#[allow(clippy::too_many_arguments)]
pub fn compute_response(
    algorithm: Algorithm,
    username: &str,
    realm: &str,
    secret: Secret<'_>,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str, &str)>,
) -> String {
    let mut ha1 = match secret {
        Secret::Password(p) => algorithm.ha1(username, realm, p),
        Secret::Ha1(h) => h.to_ascii_lowercase(),
    };
    if algorithm.is_sess() {
        let cnonce = qop.map(|(_, _, c)| c).unwrap_or_default();
        ha1 = algorithm.hash(&format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = algorithm.hash(&format!("{method}:{uri}"));
    match qop {
        Some((qop, nc, cnonce)) => {
            algorithm.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
        }
        None => algorithm.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

// ---------------------------------------------------------------- header syntax

/// The `name=value` pairs of a `Digest ...` header, values unquoted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestParams(pub Vec<(String, String)>);

impl DigestParams {
    /// Parses a WWW-Authenticate / Authorization / Proxy-* value; fails for
    /// other schemes (RFC 4475 regaut01: answer it with a fresh challenge).
    pub fn parse(value: &str) -> Result<DigestParams, SipError> {
        let value = value.trim();
        let (scheme, rest) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(err(format!("unsupported scheme {scheme:?}")));
        }
        let mut out = Vec::new();
        for item in split_top_level(rest, ',').map_err(err)? {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (name, v) = item
                .split_once('=')
                .ok_or_else(|| err(format!("parameter without value: {item:?}")))?;
            let name = name.trim();
            let v = v.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(err(format!("bad parameter name {name:?}")));
            }
            let v = match v.strip_prefix('"') {
                Some(q) => unquote(q)?,
                None => v.to_string(),
            };
            if out
                .iter()
                .any(|(n, _): &(String, String)| n.eq_ignore_ascii_case(name))
            {
                return Err(err(format!("duplicate parameter {name}")));
            }
            out.push((name.to_ascii_lowercase(), v));
        }
        Ok(DigestParams(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, SipError> {
        self.get(name)
            .ok_or_else(|| err(format!("missing {name} parameter")))
    }
}

/// Content of a quoted string whose opening quote was already removed; the
/// closing quote must end the input.
fn unquote(s: &str) -> Result<String, SipError> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or_else(|| err("bad escape"))?),
            '"' => {
                return if chars.as_str().trim().is_empty() {
                    Ok(out)
                } else {
                    Err(err("text after quoted value"))
                }
            }
            _ => out.push(c),
        }
    }
    Err(err("unterminated quoted value"))
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------- challenge

/// A `WWW-Authenticate` / `Proxy-Authenticate` Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// Offered qop values, e.g. `["auth"]`; empty for RFC 2069 servers.
    pub qop: Vec<String>,
    pub stale: bool,
}

impl Challenge {
    pub fn parse(value: &str) -> Result<Challenge, SipError> {
        let p = DigestParams::parse(value)?;
        let algorithm = Algorithm::from_param(p.get("algorithm"))
            .ok_or_else(|| err(format!("unsupported algorithm {:?}", p.get("algorithm"))))?;
        Ok(Challenge {
            realm: p.required("realm")?.to_string(),
            nonce: p.required("nonce")?.to_string(),
            opaque: p.get("opaque").map(str::to_string),
            algorithm,
            qop: p
                .get("qop")
                .map(|q| {
                    q.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            stale: p
                .get("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The strongest challenge we support among several header values
    /// (RFC 8760: servers may offer SHA-256 and MD5 side by side).
    pub fn best<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
        values
            .into_iter()
            .filter_map(|v| Challenge::parse(v).ok())
            .max_by_key(|c| matches!(c.algorithm, Algorithm::Sha256 | Algorithm::Sha256Sess))
    }
}

impl fmt::Display for Challenge {
    /// The header value: `Digest realm="...", nonce="...", ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm={}, nonce={}",
            quoted(&self.realm),
            quoted(&self.nonce)
        )?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quoted(o))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        write!(f, ", algorithm={}", self.algorithm)?;
        if !self.qop.is_empty() {
            write!(f, ", qop={}", quoted(&self.qop.join(",")))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- credentials

/// An `Authorization` / `Proxy-Authorization` Digest value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub cnonce: Option<String>,
    /// Nonce count as sent: 8 hex digits.
    pub nc: Option<String>,
    pub qop: Option<String>,
    pub opaque: Option<String>,
}

impl Credentials {
    pub fn parse(value: &str) -> Result<Credentials, SipError> {
        let p = DigestParams::parse(value)?;
        let algorithm = Algorithm::from_param(p.get("algorithm"))
            .ok_or_else(|| err(format!("unsupported algorithm {:?}", p.get("algorithm"))))?;
        let c = Credentials {
            username: p.required("username")?.to_string(),
            realm: p.required("realm")?.to_string(),
            nonce: p.required("nonce")?.to_string(),
            uri: p.required("uri")?.to_string(),
            response: p.required("response")?.to_ascii_lowercase(),
            algorithm,
            cnonce: p.get("cnonce").map(str::to_string),
            nc: p.get("nc").map(str::to_string),
            qop: p.get("qop").map(str::to_string),
            opaque: p.get("opaque").map(str::to_string),
        };
        if c.qop.is_some() && (c.cnonce.is_none() || c.nc.is_none()) {
            return Err(err("qop without cnonce and nc"));
        }
        if let Some(nc) = &c.nc {
            if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err("nc must be 8 hex digits"));
            }
        }
        Ok(c)
    }

    /// Whether `response` is right for this method and secret (no nonce checks).
    pub fn response_matches(&self, method: &Method, secret: Secret<'_>) -> bool {
        let qop = match (&self.qop, &self.nc, &self.cnonce) {
            (Some(q), Some(nc), Some(cn)) => Some((q.as_str(), nc.as_str(), cn.as_str())),
            _ => None,
        };
        let expected = compute_response(
            self.algorithm,
            &self.username,
            &self.realm,
            secret,
            method.as_str(),
            &self.uri,
            &self.nonce,
            qop,
        );
        self.response.len() == self.algorithm.hex_len()
            && ct_eq(expected.as_bytes(), self.response.as_bytes())
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quoted(&self.username),
            quoted(&self.realm),
            quoted(&self.nonce),
            quoted(&self.uri),
            quoted(&self.response),
            self.algorithm
        )?;
        if let (Some(q), Some(nc), Some(cn)) = (&self.qop, &self.nc, &self.cnonce) {
            write!(f, ", cnonce={}, qop={q}, nc={nc}", quoted(cn))?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quoted(o))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- client

/// The Authorization value answering `challenge` (for REGISTER/INVITE to a
/// trunk provider). Uses qop=auth when offered, the RFC 2069 form when the
/// server offers no qop, and fails when only `auth-int` is offered.
pub fn authorization_for(
    challenge: &Challenge,
    method: &Method,
    uri: &str,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, SipError> {
    let use_qop = if challenge.qop.is_empty() {
        false
    } else if challenge.qop.iter().any(|q| q.eq_ignore_ascii_case("auth")) {
        true
    } else {
        return Err(err("server offers only qop values other than auth"));
    };
    let nc = format!("{nc:08x}");
    let qop = use_qop.then_some(("auth", nc.as_str(), cnonce));
    let response = compute_response(
        challenge.algorithm,
        username,
        &challenge.realm,
        Secret::Password(password),
        method.as_str(),
        uri,
        &challenge.nonce,
        qop,
    );
    let creds = Credentials {
        username: username.to_string(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_string(),
        response,
        algorithm: challenge.algorithm,
        cnonce: use_qop.then(|| cnonce.to_string()),
        nc: use_qop.then_some(nc.clone()),
        qop: use_qop.then(|| "auth".to_string()),
        opaque: challenge.opaque.clone(),
    };
    Ok(creds.to_string())
}

// ---------------------------------------------------------------- server

/// Outcome of checking credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Authorized,
    /// Right password, expired nonce: challenge again with `stale=true`.
    Stale,
    /// Wrong password, foreign or forged nonce, wrong realm, missing qop...
    Rejected(&'static str),
}

/// Stateless digest server: issues and checks nonces with a secret key.
#[derive(Clone)]
pub struct DigestServer {
    secret: Vec<u8>,
    max_age: u64,
}

impl fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("DigestServer")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// Nonces issued up to this far in the future (clock steps) still count.
const CLOCK_SKEW: u64 = 5;

impl DigestServer {
    /// `secret`: random key from the caller (e.g. 32 bytes at startup);
    /// `max_age`: nonce lifetime in seconds.
    pub fn new(secret: &[u8], max_age: u64) -> DigestServer {
        DigestServer {
            secret: secret.to_vec(),
            max_age,
        }
    }

    fn mac(&self, issued: u64, source: IpAddr) -> String {
        let ip: Vec<u8> = match source {
            IpAddr::V4(v4) => [&[4u8][..], &v4.octets()].concat(),
            IpAddr::V6(v6) => [&[6u8][..], &v6.octets()].concat(),
        };
        hex(&hmac_sha256(&self.secret, &[&issued.to_be_bytes(), &ip])[..16])
    }

    /// A nonce for a client at `source`, `now` in wall-clock seconds.
    pub fn nonce(&self, now: u64, source: IpAddr) -> String {
        format!("{now:016x}{}", self.mac(now, source))
    }

    /// `Ok(true)` fresh, `Ok(false)` authentic but expired, `Err` forged,
    /// malformed or issued to another address.
    pub fn check_nonce(&self, nonce: &str, now: u64, source: IpAddr) -> Result<bool, &'static str> {
        if nonce.len() != 48 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("malformed nonce");
        }
        let issued = u64::from_str_radix(&nonce[..16], 16).map_err(|_| "malformed nonce")?;
        let mac = self.mac(issued, source);
        if !ct_eq(mac.as_bytes(), nonce[16..].to_ascii_lowercase().as_bytes()) {
            return Err("nonce not issued to this address");
        }
        if issued > now.saturating_add(CLOCK_SKEW) {
            return Err("nonce from the future");
        }
        Ok(now - issued.min(now) <= self.max_age)
    }

    /// A challenge with a fresh nonce (qop=auth).
    pub fn challenge(
        &self,
        realm: &str,
        algorithm: Algorithm,
        now: u64,
        source: IpAddr,
        stale: bool,
    ) -> Challenge {
        Challenge {
            realm: realm.to_string(),
            nonce: self.nonce(now, source),
            opaque: None,
            algorithm,
            qop: vec!["auth".to_string()],
            stale,
        }
    }

    /// Checks an Authorization value for a request from `source`.
    /// `secret_for(username)` returns the user's password or HA1 (for this
    /// realm and the credentials' algorithm), `None` for unknown users.
    /// The caller should also check that `uri` names the Request-URI.
    pub fn verify<'s>(
        &self,
        authorization: &str,
        method: &Method,
        realm: &str,
        now: u64,
        source: IpAddr,
        secret_for: impl FnOnce(&str, Algorithm) -> Option<Secret<'s>>,
    ) -> (AuthOutcome, Option<Credentials>) {
        let creds = match Credentials::parse(authorization) {
            Ok(c) => c,
            Err(_) => return (AuthOutcome::Rejected("malformed credentials"), None),
        };
        let outcome = self.verify_credentials(&creds, method, realm, now, source, secret_for);
        (outcome, Some(creds))
    }

    /// As `verify`, for already-parsed credentials.
    pub fn verify_credentials<'s>(
        &self,
        creds: &Credentials,
        method: &Method,
        realm: &str,
        now: u64,
        source: IpAddr,
        secret_for: impl FnOnce(&str, Algorithm) -> Option<Secret<'s>>,
    ) -> AuthOutcome {
        if creds.realm != realm {
            return AuthOutcome::Rejected("wrong realm");
        }
        // We always offer qop=auth; the RFC 2069 form is not accepted.
        if !creds
            .qop
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("auth"))
        {
            return AuthOutcome::Rejected("qop=auth required");
        }
        let fresh = match self.check_nonce(&creds.nonce, now, source) {
            Ok(f) => f,
            Err(why) => return AuthOutcome::Rejected(why),
        };
        let Some(secret) = secret_for(&creds.username, creds.algorithm) else {
            return AuthOutcome::Rejected("unknown user");
        };
        if !creds.response_matches(method, secret) {
            return AuthOutcome::Rejected("wrong password");
        }
        if fresh {
            AuthOutcome::Authorized
        } else {
            AuthOutcome::Stale
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(non_snake_case)]
    fn GET() -> Method {
        // The RFC examples are HTTP requests.
        Method::Other("GET".into())
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn rfc2617_section_3_5_example() {
        let r = compute_response(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            Secret::Password("Circle Of Life"),
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(("auth", "00000001", "0a4f113b")),
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 7616 section 3.9.1: the same request answered with MD5 and SHA-256.
    #[test]
    fn rfc7616_section_3_9_1_examples() {
        for (alg, expected) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let challenge = Challenge::parse(&format!(
                "Digest\r\n realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
                 algorithm={alg}, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
                 opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
            ))
            .expect("challenge parses");
            assert_eq!(challenge.qop, ["auth", "auth-int"]);
            let value = authorization_for(
                &challenge,
                &GET(),
                "/dir/index.html",
                "Mufasa",
                "Circle of Life",
                "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                1,
            )
            .expect("auth offered");
            let creds = Credentials::parse(&value).expect("own output parses");
            assert_eq!(creds.response, expected, "{alg}");
            assert_eq!(creds.nc.as_deref(), Some("00000001"));
            assert_eq!(
                creds.opaque.as_deref(),
                Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
            );
            assert!(creds.response_matches(&GET(), Secret::Password("Circle of Life")));
            let ha1 = creds
                .algorithm
                .ha1("Mufasa", "http-auth@example.org", "Circle of Life");
            assert!(creds.response_matches(&GET(), Secret::Ha1(&ha1)));
            assert!(!creds.response_matches(&GET(), Secret::Password("circle of life")));
            assert!(!creds.response_matches(&Method::Register, Secret::Password("Circle of Life")));
        }
    }

    #[test]
    fn legacy_client_without_qop() {
        let c = Challenge::parse(r#"Digest realm="sip.example.net", nonce="abc""#).expect("ok");
        assert_eq!(c.algorithm, Algorithm::Md5);
        let v = authorization_for(
            &c,
            &Method::Register,
            "sip:sip.example.net",
            "u",
            "p",
            "cn",
            1,
        )
        .expect("ok");
        assert!(!v.contains("qop"));
        let creds = Credentials::parse(&v).expect("parses");
        let ha1 = Algorithm::Md5.hash("u:sip.example.net:p");
        let ha2 = Algorithm::Md5.hash("REGISTER:sip:sip.example.net");
        assert_eq!(
            creds.response,
            Algorithm::Md5.hash(&format!("{ha1}:abc:{ha2}"))
        );
        let auth_int =
            Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#).expect("ok");
        assert!(authorization_for(&auth_int, &Method::Invite, "sip:x", "u", "p", "c", 1).is_err());
    }

    #[test]
    fn parsing_rejects_garbage() {
        assert!(DigestParams::parse("NoOneKnowsThisScheme opaque-data=here").is_err());
        assert!(DigestParams::parse(r#"Digest realm="unterminated"#).is_err());
        assert!(DigestParams::parse("Digest realm").is_err());
        assert!(DigestParams::parse(r#"Digest realm="a", realm="b""#).is_err());
        assert!(Challenge::parse(r#"Digest realm="a", nonce="b", algorithm=SHA-512-256"#).is_err());
        assert!(Credentials::parse(r#"Digest username="u", realm="r""#).is_err());
        let p = DigestParams::parse(r#"digest realm="a \"q\", b", NONCE=x"#).expect("ok");
        assert_eq!(p.get("realm"), Some(r#"a "q", b"#));
        assert_eq!(p.get("nonce"), Some("x"));
    }

    #[test]
    fn challenge_prints_and_parses_back() {
        let server = DigestServer::new(b"k", 300);
        let src: IpAddr = "192.0.2.10".parse().expect("ip");
        let c = server.challenge("switchboard", Algorithm::Sha256, 1_700_000_000, src, true);
        let text = c.to_string();
        assert!(text.starts_with("Digest realm=\"switchboard\""));
        assert!(text.contains("stale=true") && text.contains("qop=\"auth\""));
        assert_eq!(Challenge::parse(&text).expect("parses"), c);
        let md5 = server.challenge("switchboard", Algorithm::Md5, 1_700_000_000, src, false);
        let best = Challenge::best([md5.to_string().as_str(), text.as_str()]).expect("one");
        assert_eq!(best.algorithm, Algorithm::Sha256);
    }

    /// The registrar flow: challenge, answer, verify; then the nonce ages,
    /// moves address, or the password is wrong.
    #[test]
    fn server_verifies_stateless_nonces() {
        let server = DigestServer::new(b"0123456789abcdef0123456789abcdef", 300);
        let src: IpAddr = "2001:db8::7".parse().expect("ip");
        let other: IpAddr = "192.0.2.99".parse().expect("ip");
        let t0 = 1_700_000_000;
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let c = server.challenge("switchboard", alg, t0, src, false);
            let auth = authorization_for(
                &c,
                &Method::Register,
                "sip:switchboard",
                "alice",
                "pw",
                "xyz",
                1,
            )
            .expect("auth");
            let secret =
                |user: &str, _alg: Algorithm| (user == "alice").then_some(Secret::Password("pw"));
            let check = |now, from| {
                server
                    .verify(&auth, &Method::Register, "switchboard", now, from, secret)
                    .0
            };
            assert_eq!(check(t0 + 10, src), AuthOutcome::Authorized, "{alg}");
            assert_eq!(check(t0 + 300, src), AuthOutcome::Authorized);
            assert_eq!(check(t0 + 301, src), AuthOutcome::Stale);
            assert_eq!(
                check(t0 + 10, other),
                AuthOutcome::Rejected("nonce not issued to this address")
            );
            assert_eq!(
                check(t0 - 100, src),
                AuthOutcome::Rejected("nonce from the future")
            );
            let wrong = server
                .verify(&auth, &Method::Register, "switchboard", t0, src, |_, _| {
                    Some(Secret::Password("nope"))
                })
                .0;
            assert_eq!(wrong, AuthOutcome::Rejected("wrong password"));
            let unknown = server
                .verify(&auth, &Method::Register, "switchboard", t0, src, |_, _| {
                    None
                })
                .0;
            assert_eq!(unknown, AuthOutcome::Rejected("unknown user"));
            let realm = server
                .verify(&auth, &Method::Register, "elsewhere", t0, src, secret)
                .0;
            assert_eq!(realm, AuthOutcome::Rejected("wrong realm"));
        }
        // A nonce from another server key is forged.
        let foreign = DigestServer::new(b"other", 300).nonce(t0, src);
        assert!(server.check_nonce(&foreign, t0, src).is_err());
        assert!(server.check_nonce("zz", t0, src).is_err());
        // The legacy no-qop form is refused by our server.
        let mut c = server.challenge("switchboard", Algorithm::Md5, t0, src, false);
        c.qop.clear();
        let legacy =
            authorization_for(&c, &Method::Register, "sip:s", "alice", "pw", "x", 1).expect("ok");
        let out = server
            .verify(
                &legacy,
                &Method::Register,
                "switchboard",
                t0,
                src,
                |_, _| Some(Secret::Password("pw")),
            )
            .0;
        assert_eq!(out, AuthOutcome::Rejected("qop=auth required"));
    }
}
