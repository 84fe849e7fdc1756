//! Whatever the file holds, loading reports problems and never panics. The config is edited by
//! hand and reloaded into a running switch, so a bad edit must not take the switch down.

use proptest::prelude::*;

const DEFAULT: &str = include_str!("../../../config/switchboard.toml");

/// Every diagnostic must point inside the text (or be position-less).
fn check(text: &str) {
    let diags = match dialplan::load_str("p.toml", text) {
        Ok(plan) => plan.warnings().to_vec(),
        Err(diags) => {
            assert!(diags.iter().any(|d| d.is_error()), "Err without an error");
            diags
        }
    };
    let lines = text.split('\n').count();
    for d in diags {
        assert!(d.line >= 1 && d.line <= lines, "{d} outside {lines} lines");
        assert!(d.column >= 1, "{d}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn toml_like_text(text in "(\\[{1,2}[a-z._]{1,10}\\]{1,2}\n|[a-z_]{1,12} = (\"[^\"\n]{0,12}\"|[0-9-]{1,6}|true|\\[\\]|\\{ ?[a-z]{1,5} = \"x\" ?\\})\n){0,20}") {
        check(&text);
    }

    /// The default config with one byte range deleted or a line duplicated: realistic edit slips.
    #[test]
    fn mangled_default(start in 0..DEFAULT.len(), len in 0usize..40, dup_line in 0usize..80) {
        let end = (start + len).min(DEFAULT.len());
        if DEFAULT.is_char_boundary(start) && DEFAULT.is_char_boundary(end) {
            check(&format!("{}{}", &DEFAULT[..start], &DEFAULT[end..]));
        }
        let mut lines: Vec<&str> = DEFAULT.lines().collect();
        if dup_line < lines.len() {
            lines.insert(dup_line, lines[dup_line]);
        }
        check(&lines.join("\n"));
    }
}

#[test]
fn odd_but_valid_shapes() {
    // Dotted keys and inline tables for whole sections load like their [section] forms.
    let text = "server.node_id = \"n2\"\nregistrar = { realm = \"r\" }\n\
                [[group]]\nname = \"g\"\n[[operator]]\nusername = \"a\"\npassword = \"long-enough-1\"\ngroups = [\"g\"]\n";
    let plan = dialplan::load_str("p.toml", text).expect("loads");
    assert_eq!(plan.server().node_id, "n2");
    assert_eq!(plan.registrar().realm, "r");
}

#[test]
fn plan_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<dialplan::Plan>();
    assert_send_sync::<dialplan::Diagnostic>();
}

#[test]
fn dotted_keys_are_positioned() {
    // `server` is a table made implicitly by the dotted key; problems still point at the key.
    let text = "server.nod_id = \"x\"\nserver.ring_timeout = 0\n\n[[group]]\nname = \"g\"\n";
    let diags: Vec<String> = dialplan::load_str("p.toml", text)
        .expect_err("invalid")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        diags,
        [
            "p.toml:1:8: error: unknown key `nod_id` in [server]\n  hint: did you mean `node_id`?",
            "p.toml:2:23: error: `ring_timeout` 0 is out of range\n  hint: use a value from 5 to 300",
            "p.toml:4:1: warning: group `g` has no operators\n  hint: add the group to some operator's `groups`, or remove it",
        ]
    );
}
