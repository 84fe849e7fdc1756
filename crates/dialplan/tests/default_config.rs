//! The config the README runs must load cleanly: no errors and no warnings.

use std::net::IpAddr;
use std::time::Duration;

use dialplan::{Action, RingTarget};

const DEFAULT: &str = include_str!("../../../config/switchboard.toml");

fn default_plan() -> dialplan::Plan {
    match dialplan::load_str("config/switchboard.toml", DEFAULT) {
        Ok(plan) => plan,
        Err(diags) => panic!(
            "default config has errors:\n{}",
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

#[test]
fn default_config_loads_without_warnings() {
    let plan = default_plan();
    let warnings: Vec<String> = plan.warnings().iter().map(ToString::to_string).collect();
    assert!(warnings.is_empty(), "warnings: {warnings:#?}");
}

#[test]
fn default_config_from_disk_matches_embedded() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/switchboard.toml");
    let plan = dialplan::load(path).expect("loads from disk");
    assert!(plan.warnings().is_empty());
    assert_eq!(plan.file(), path);
}

#[test]
fn default_config_values() {
    let plan = default_plan();
    let server = plan.server();
    assert_eq!(server.sip_listen, "0.0.0.0:5060".parse().unwrap());
    assert_eq!(
        server.public_address,
        "127.0.0.1".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        (server.rtp_ports.first, server.rtp_ports.last),
        (20000, 29999)
    );
    assert_eq!(server.data_dir.to_str(), Some("var"));
    assert_eq!(server.prompts_dir.to_str(), Some("prompts"));
    assert_eq!(server.ring_timeout, Duration::from_secs(30));
    assert_eq!(server.media_timeout, Duration::from_secs(60));
    assert_eq!(server.node_id, "node1");

    let reg = plan.registrar();
    assert_eq!(reg.realm, "switchboard");
    assert_eq!(
        (reg.min_expires, reg.max_expires, reg.default_expires),
        (60, 3600, 600)
    );
    assert_eq!(reg.keepalive_interval, Some(Duration::from_secs(30)));
    assert_eq!(reg.keepalive_max_missed, 2);
    assert_eq!(reg.nonce_ttl, Duration::from_secs(300));

    let trunk = plan
        .trunk_for_source("127.0.0.1".parse().unwrap())
        .expect("demo trunk");
    assert_eq!(trunk.name, "demo");
    assert_eq!(
        trunk.proxy.as_ref().and_then(|p| p.socket_addr()),
        Some("127.0.0.1:5070".parse().unwrap())
    );
    assert_eq!(trunk.caller_id.as_deref(), Some("+74950000000"));
    assert!(plan
        .trunk_for_source("127.0.0.2".parse().unwrap())
        .is_none());
    assert!(plan
        .trunk_for_source("::ffff:127.0.0.1".parse().unwrap())
        .is_some());

    let alice = plan.operator("alice").expect("alice");
    assert!(alice.can_call_out);
    assert_eq!(alice.display_name, "Alice");
    assert!(!plan.operator("bob").expect("bob").can_call_out);
    assert!(
        plan.operator("Alice").is_none(),
        "usernames are case-sensitive"
    );

    let number = plan.number("+74950000001").expect("demo number");
    assert_eq!(number.name, "promo");
    assert_eq!(
        number.landing_page.as_deref(),
        Some("https://shop.example/promo")
    );
    assert_eq!(number.campaign.as_deref(), Some("spring-sale"));
    assert_eq!(number.utm.get("source").map(String::as_str), Some("google"));
    // Trunks that drop the '+' still reach it.
    assert_eq!(
        plan.number("74950000001").map(|n| n.name.as_str()),
        Some("promo")
    );
    assert!(plan.number("+74950000002").is_none());

    let Action::Ring(ring) = &number.action else {
        panic!("demo number should ring");
    };
    assert_eq!(ring.target, RingTarget::Group("sales".into()));
    assert_eq!(ring.timeout, Duration::from_secs(30));
    let rung: Vec<&str> = plan
        .ring_operators(ring)
        .iter()
        .map(|o| o.username.as_str())
        .collect();
    assert_eq!(rung, ["alice", "bob"]);

    assert!(plan.is_external_number("+79161234567"));
    assert!(plan.is_external_number("89161234567"));
    assert!(
        !plan.is_external_number("+19161234567"),
        "not an allowed prefix"
    );
    assert!(!plan.is_external_number("alice"), "operators are internal");
    assert!(
        !plan.is_external_number("+74950000001"),
        "our own number is internal"
    );
    assert_eq!(
        plan.outbound_trunk("+79161234567").map(|t| t.name.as_str()),
        Some("demo")
    );
}
