//! Diagnostics for syntax, unknown keys, types, [server] and [registrar], each with its exact
//! position, message and hint.

mod common;

use common::{assert_errors, assert_warnings, BASE};
use dialplan::{load_str, DigestAlgorithm};

#[test]
fn base_is_clean() {
    assert_warnings(BASE, &[]);
}

#[test]
fn syntax_error_has_its_position() {
    assert_errors(
        "[server]\nsip_listen = \"0.0.0.0:5060\nnode_id = \"x\"\n",
        // Column 27: the end of line 2, where the closing quote should be.
        &["t.toml:2:27: error: TOML syntax: invalid basic string"],
    );
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    assert_errors(
        "[server]\nnode_id = \"a\"\nnode_id = \"b\"\n",
        &["t.toml:3:1: error: TOML syntax: duplicate key `node_id` in table `server`"],
    );
}

#[test]
fn datetime_values_are_explained() {
    let text = format!("{BASE}[server]\nnode_id = 2024-01-01\n");
    assert_errors(
        &text,
        &["t.toml:13:11: error: dates and times are not used in switchboard config\n  hint: put the value in double quotes if it is meant as text"],
    );
}

#[test]
fn every_unknown_key_is_reported_with_did_you_mean() {
    let text = format!(
        "{BASE}[server]\nsip_lisen = \"0.0.0.0:5060\"\ncolour = \"red\"\nring_timeout = 1000\n\n[registar]\nrealm = \"x\"\n"
    );
    assert_errors(
        &text,
        &[
            "t.toml:13:1: error: unknown key `sip_lisen` in [server]\n  hint: did you mean `sip_listen`?",
            "t.toml:14:1: error: unknown key `colour` in [server]\n  hint: known keys here: data_dir, media_timeout, node_id, prompts_dir, public_address, record_calls, recording_notice, ring_timeout, rtp_ports, sip_listen",
            "t.toml:15:16: error: `ring_timeout` 1000 is out of range\n  hint: use a value from 5 to 300",
            "t.toml:17:2: error: unknown key `registar` in the top level\n  hint: did you mean `registrar`?",
        ],
    );
}

#[test]
fn unknown_keys_in_nested_tables() {
    let text = BASE.replace(
        "ring = { group = \"sales\" }",
        "ring = { grop = \"sales\" }\nlanding_pge = \"https://a.example/\"",
    );
    assert_errors(
        &text,
        &[
            "t.toml:11:8: error: `ring` says nobody to ring\n  hint: add `group = \"sales\"` or `operators = [\"alice\"]`",
            "t.toml:11:10: error: unknown key `grop` in `ring`\n  hint: did you mean `group`?",
            "t.toml:12:1: error: unknown key `landing_pge` in [[number]]\n  hint: did you mean `landing_page`?",
        ],
    );
}

#[test]
fn wrong_types_are_all_reported() {
    let text = format!(
        "{BASE}[server]\nring_timeout = \"30\"\nnode_id = 7\n\n[registrar]\nmin_expires = 1.5\n"
    );
    assert_errors(
        &text,
        &[
            "t.toml:13:16: error: `ring_timeout` must be an integer, found a string\n  hint: write the number without quotes",
            "t.toml:14:11: error: `node_id` must be a string, found an integer\n  hint: put the value in double quotes",
            "t.toml:17:15: error: `min_expires` must be an integer, found a float",
        ],
    );
}

#[test]
fn section_of_the_wrong_shape() {
    assert_errors(
        &format!("server = 5\n{BASE}"),
        &["t.toml:1:10: error: [server] must be a table, found an integer"],
    );
    assert_errors(
        &format!("operator = \"alice\"\n{}", BASE.replace("[[operator]]\nusername = \"alice\"\npassword = \"correct-horse-1\"\ngroups = [\"sales\"]\n", "")),
        &[
            "t.toml:1:12: error: `operator` must be an array of tables, found a string\n  hint: write each entry as its own `[[operator]]` section",
            // Warnings ride along with errors, in file order.
            "t.toml:2:1: warning: group `sales` has no operators\n  hint: add the group to some operator's `groups`, or remove it",
        ],
    );
}

#[test]
fn server_addresses() {
    let text =
        format!("{BASE}[server]\nsip_listen = \"0.0.0.0\"\npublic_address = \"localhost\"\n");
    assert_errors(
        &text,
        &[
            "t.toml:13:14: error: `0.0.0.0` is not an address and port (like 0.0.0.0:5060)",
            "t.toml:14:18: error: `localhost` is not an IP address",
        ],
    );
    let text =
        format!("{BASE}[server]\nsip_listen = \"127.0.0.1:0\"\npublic_address = \"0.0.0.0\"\n");
    assert_errors(
        &text,
        &[
            "t.toml:13:14: error: `sip_listen` needs a port\n  hint: SIP's usual port is 5060",
            "t.toml:14:18: error: `public_address` 0.0.0.0 is not an address peers can reach\n  hint: write the IP address softphones and the trunk send to, e.g. 127.0.0.1 on one machine",
        ],
    );
}

#[test]
fn rtp_port_ranges() {
    let cases = [
        ("\"20001-29999\"", "`rtp_ports` must start on an even port, not 20001\n  hint: RTP uses even ports (RTCP the odd one above): try \"20002-29999\""),
        ("\"29999-20000\"", "`rtp_ports` 29999-20000 is backwards\n  hint: write the lower port first: \"20000-29999\""),
        ("\"20000-20000\"", "`rtp_ports` 20000-20000 has no room for an RTP/RTCP port pair\n  hint: each call leg needs two ports; a range like \"20000-29999\" serves 2500 calls"),
        ("\"100-200\"", "`rtp_ports` starts at 100, a privileged port\n  hint: use ports from 1024 up, e.g. \"20000-29999\""),
        ("\"5000-6000\"", "`rtp_ports` 5000-6000 includes the SIP port 5060\n  hint: pick a range that leaves out `sip_listen`'s port"),
        ("\"20000-70000\"", "`20000-70000` is not a port range (like \"20000-29999\")"),
        ("\"20000\"", "`20000` is not a port range (like \"20000-29999\")"),
    ];
    for (value, message) in cases {
        let text = format!("{BASE}[server]\nrtp_ports = {value}\n");
        let expected = format!("t.toml:13:13: error: {message}");
        assert_errors(&text, &[expected.as_str()]);
    }
    assert_warnings(
        &format!("{BASE}[server]\nrtp_ports = \"40000-40001\"\n"),
        &[],
    );
}

#[test]
fn timeouts_out_of_range() {
    let text =
        format!("{BASE}[server]\nring_timeout = 0\nmedia_timeout = 99999\nnode_id = \"bad id\"\n");
    assert_errors(
        &text,
        &[
            "t.toml:13:16: error: `ring_timeout` 0 is out of range\n  hint: use a value from 5 to 300",
            "t.toml:14:17: error: `media_timeout` 99999 is out of range\n  hint: use a value from 5 to 3600",
            "t.toml:15:11: error: node_id `bad id` is not a valid name\n  hint: use 1 to 64 letters, digits, '_', '-' or '.'",
        ],
    );
    let text = BASE.replace(
        "ring = { group = \"sales\" }",
        "ring = { group = \"sales\", timeout = 301 }",
    );
    assert_errors(
        &text,
        &["t.toml:11:37: error: `timeout` 301 is out of range\n  hint: use a value from 5 to 300"],
    );
}

#[test]
fn registrar_bounds() {
    let text = format!("{BASE}[registrar]\nmin_expires = 600\nmax_expires = 300\n");
    assert_errors(
        &text,
        &["t.toml:14:15: error: `max_expires` (300) is below `min_expires` (600)\n  hint: max_expires must be at least min_expires"],
    );
    let text = format!("{BASE}[registrar]\nmax_expires = 300\ndefault_expires = 900\nkeepalive_max_missed = 0\nnonce_ttl = 5\nrealm = \"a\\\"b\"\n");
    assert_errors(
        &text,
        &[
            "t.toml:14:19: error: `default_expires` 900 is outside min_expires..max_expires (60..300)\n  hint: pick a value from 60 to 300",
            "t.toml:15:24: error: `keepalive_max_missed` 0 is out of range\n  hint: use a value from 1 to 100",
            "t.toml:16:13: error: `nonce_ttl` 5 is out of range\n  hint: use a value from 10 to 86400",
            "t.toml:17:9: error: `realm` must be non-empty and free of quotes, backslashes and control characters\n  hint: it is sent inside a quoted digest parameter; a plain name like \"switchboard\" works",
        ],
    );
}

#[test]
fn digest_algorithms_are_checked_and_ordered() {
    let plan = load_str("t.toml", BASE).expect("loads");
    assert_eq!(
        plan.registrar().digest_algorithms,
        vec![DigestAlgorithm::Md5]
    );
    let text = format!("{BASE}[registrar]\ndigest_algorithms = [\"SHA-256\", \"md5\"]\n");
    let plan = load_str("t.toml", &text).expect("loads");
    assert_eq!(
        plan.registrar().digest_algorithms,
        vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5]
    );
    assert_errors(
        &format!("{BASE}[registrar]\ndigest_algorithms = [\"SHA-512\", \"MD5\", \"MD5\"]\n"),
        &[
            "t.toml:13:22: error: unknown digest algorithm `SHA-512`\n  hint: use \"MD5\" or \"SHA-256\"",
            "t.toml:13:40: error: `MD5` is listed twice\n  hint: list each algorithm once, in the order to offer them",
        ],
    );
    assert_errors(
        &format!("{BASE}[registrar]\ndigest_algorithms = []\n"),
        &["t.toml:13:21: error: `digest_algorithms` is empty\n  hint: list at least one of \"MD5\", \"SHA-256\""],
    );
}

#[test]
fn registrar_defaults_follow_bounds_and_keepalive_can_be_off() {
    let text = format!("{BASE}[registrar]\nmax_expires = 300\nkeepalive_interval = 0\n");
    let plan = load_str("t.toml", &text).expect("loads");
    assert_eq!(plan.registrar().default_expires, 300);
    assert_eq!(plan.registrar().keepalive_interval, None);
    assert_errors(
        &format!("{BASE}[registrar]\nkeepalive_interval = 4\n"),
        &["t.toml:13:22: error: `keepalive_interval` 4 is out of range\n  hint: use a value from 5 to 3600"],
    );
}
