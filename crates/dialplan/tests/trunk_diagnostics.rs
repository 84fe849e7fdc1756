//! Diagnostics for [[trunk]] sections, and trunk lookups in the compiled plan.

mod common;

use common::{assert_errors, assert_warnings, BASE};
use dialplan::load_str;

#[test]
fn trunk_problems_are_all_reported() {
    let text = format!(
        r#"{BASE}[[trunk]]
name = "t1"
addresses = ["10.0.0.0/33", "bad", "0.0.0.0/0", "10.1.2.3/8"]
proxy = "proxy:99999"
caller_id = "not-a-number"

[[trunk]]
name = "t1"
addresses = ["192.0.2.1"]
[trunk.outbound]
prefixes = ["+7", "x"]
min_digits = 12
max_digits = 11
"#
    );
    assert_errors(
        &text,
        &[
            "t.toml:14:14: error: prefix length /33 is too long for IPv4 (at most /32)",
            "t.toml:14:29: error: `bad` is not an IP address or CIDR block (like 203.0.113.7 or 203.0.113.0/24)",
            "t.toml:14:36: warning: trunk `t1` accepts INVITEs from any address (0.0.0.0/0)\n  hint: list the provider's signalling addresses, so strangers cannot place calls as the trunk",
            "t.toml:14:49: warning: `10.1.2.3/8` has host bits set beyond the /8 prefix\n  hint: did you mean the network address? the host bits are ignored",
            "t.toml:15:9: error: `proxy:99999` is not host:port (like 198.51.100.10:5060 or sip.provider.example:5060)",
            "t.toml:16:13: error: `caller_id` `not-a-number` is not a phone number\n  hint: write digits with an optional leading +, e.g. \"+74950000001\"",
            "t.toml:19:8: error: duplicate trunk name `t1`\n  hint: each [[trunk]] needs its own name",
            "t.toml:21:1: error: trunk `t1` sends calls out but has no `proxy`\n  hint: add `proxy = \"host:port\"`: where the provider takes outbound INVITEs",
            "t.toml:21:1: error: trunk `t1` sends calls out but has no `caller_id`\n  hint: add `caller_id = \"+7...\"`: the store's number customers see",
            "t.toml:22:19: error: outbound prefix `x` is not a number prefix\n  hint: use digits with an optional leading +, e.g. \"+7\" or \"8\"",
            "t.toml:24:14: error: `max_digits` (11) is below `min_digits` (12)\n  hint: max_digits must be at least min_digits",
        ],
    );
}

#[test]
fn trunk_missing_keys() {
    let text = format!(
        r#"{BASE}[[trunk]]
addresses = []
[trunk.register]
username = "u"
"#
    );
    assert_errors(
        &text,
        &[
            "t.toml:12:1: error: [[trunk]] is missing required key `name`",
            "t.toml:12:1: error: trunk #1 has no `addresses` and no [trunk.outbound]: it can carry no calls\n  hint: list the provider's IP addresses in `addresses`",
            "t.toml:14:1: error: [trunk.register] is missing required key `password`",
            "t.toml:14:1: error: [trunk.register] has no `registrar` and the trunk has no `proxy` to use instead\n  hint: add `registrar = \"host:port\"`",
        ],
    );
    assert_errors(
        &format!("{BASE}[[trunk]]\nname = \"x\"\n"),
        &["t.toml:12:1: error: trunk `x` has no `addresses` and no [trunk.outbound]: it can carry no calls\n  hint: list the provider's IP addresses in `addresses`"],
    );
}

#[test]
fn trunk_register_out_of_range_and_unknown_key() {
    let text = format!(
        r#"{BASE}[[trunk]]
name = "p"
addresses = ["198.51.100.0/28"]
proxy = "sip.provider.example"
[trunk.register]
username = "store"
password = "secret"
expires = 30
relm = "x"
"#
    );
    assert_errors(
        &text,
        &[
            "t.toml:19:11: error: `expires` 30 is out of range\n  hint: use a value from 60 to 86400",
            "t.toml:20:1: error: unknown key `relm` in [trunk.register]\n  hint: did you mean `realm`?",
        ],
    );
}

#[test]
fn trunk_lookup_by_source_first_listed_wins() {
    let text = format!(
        r#"{BASE}[[trunk]]
name = "a"
addresses = ["203.0.113.0/24"]

[[trunk]]
name = "b"
addresses = ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"]
proxy = "sip.provider.example"
caller_id = "+74950000000"
[trunk.outbound]
prefixes = ["+"]
[trunk.register]
username = "store"
password = "provider-pass"
"#
    );
    assert_warnings(
        &text,
        &["t.toml:18:14: warning: address 203.0.113.0/24 is also listed by trunk `a`\n  hint: the first trunk in the file that lists it gets its calls"],
    );
    let plan = load_str("t.toml", &text).expect("loads");
    let name = |ip: &str| {
        plan.trunk_for_source(ip.parse().unwrap())
            .map(|t| t.name.clone())
    };
    assert_eq!(name("203.0.113.77").as_deref(), Some("a"));
    assert_eq!(name("2001:db8:5::1").as_deref(), Some("b"));
    assert_eq!(name("198.51.100.7").as_deref(), Some("b"));
    assert_eq!(name("198.51.100.8"), None);

    let b = plan.trunk("b").expect("trunk b");
    let reg = b.register.as_ref().expect("registration");
    assert_eq!(
        reg.registrar.to_string(),
        "sip.provider.example:5060",
        "defaults to the proxy"
    );
    assert_eq!(reg.expires, 3600);
    assert_eq!(reg.realm, None);
    let out = b.outbound.as_ref().expect("outbound");
    assert_eq!((out.min_digits, out.max_digits), (7, 15));
    // "+" allows any E.164 number out through b; a has no outbound rule.
    assert_eq!(
        plan.outbound_trunk("+1 555 123 4567")
            .map(|t| t.name.as_str()),
        Some("b")
    );
    assert!(!plan.is_external_number("123456"), "too short");
    assert!(!plan.is_external_number("5551234567"), "no + prefix");
}
