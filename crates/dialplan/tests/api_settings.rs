//! `[api]`: defaults, values, positioned errors and warnings; and `Plan::sources`, the files a
//! reload watcher watches.

mod common;

use std::net::SocketAddr;

use common::{assert_errors, assert_warnings, BASE};
use dialplan::{load, load_str};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn api_defaults_to_loopback_8080_enabled() {
    let plan = load_str("t.toml", BASE).unwrap();
    assert!(plan.api().enabled);
    assert_eq!(plan.api().listen, addr("127.0.0.1:8080"));
    assert!(plan.api().default_listen);
}

#[test]
fn api_listen_and_enabled_are_read() {
    let text = format!("{BASE}\n[api]\nlisten = \"127.0.0.1:0\"\nenabled = false\n");
    let plan = load_str("t.toml", &text).unwrap();
    assert!(!plan.api().enabled);
    assert_eq!(plan.api().listen, addr("127.0.0.1:0"));
    assert!(!plan.api().default_listen);
}

#[test]
fn api_errors_have_positions() {
    // BASE has 11 lines; [api] is line 13.
    assert_errors(
        &format!("{BASE}\n[api]\nlisten = \"localhost:80\"\nenabld = true\nenabled = \"yes\"\n"),
        &[
            "t.toml:14:10: error: `localhost:80` is not an address and port (like 0.0.0.0:5060)",
            "t.toml:15:1: error: unknown key `enabld` in [api]\n  hint: did you mean `enabled`?",
            "t.toml:16:11: error: `enabled` must be true or false, found a string\n  hint: write true or false without quotes",
        ],
    );
}

#[test]
fn api_on_the_sip_port_is_an_error() {
    assert_errors(
        &format!("{BASE}\n[server]\nsip_listen = \"127.0.0.1:5070\"\n\n[api]\nlisten = \"127.0.0.1:5070\"\n"),
        &["t.toml:17:10: error: `listen` port 5070 is the SIP port\n  hint: SIP listens on TCP too; pick another port for the API, e.g. 8080"],
    );
}

#[test]
fn api_open_to_the_network_is_warned_about() {
    assert_warnings(
        &format!("{BASE}\n[api]\nlisten = \"0.0.0.0:8080\"\n"),
        &["t.toml:14:10: warning: the API on 0.0.0.0:8080 is reachable from the network and has no authentication\n  hint: listen on 127.0.0.1 and put a reverse proxy with authentication in front"],
    );
    // Disabled: nothing listens, nothing to warn about.
    assert_warnings(
        &format!("{BASE}\n[api]\nlisten = \"0.0.0.0:8080\"\nenabled = false\n"),
        &[],
    );
}

#[test]
fn sources_name_the_main_file_included_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("numbers")).unwrap();
    std::fs::write(
        d.join("main.toml"),
        "include = [\"people.toml\", \"numbers\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("people.toml"),
        "[[group]]\nname = \"sales\"\n\n[[operator]]\nusername = \"alice\"\npassword = \"correct-horse-1\"\ngroups = [\"sales\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("numbers/b.toml"),
        "[[number]]\nnumber = \"+74950000002\"\nring = { group = \"sales\" }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("numbers/a.toml"),
        "[[number]]\nnumber = \"+74950000001\"\nring = { group = \"sales\" }\n",
    )
    .unwrap();
    let plan = load(d.join("main.toml")).unwrap();
    assert_eq!(
        plan.sources(),
        [
            d.join("main.toml"),
            d.join("numbers"),
            d.join("people.toml"),
            d.join("numbers/a.toml"),
            d.join("numbers/b.toml"),
        ]
    );
}
