//! Where things are: the workspace, the SIPp scenarios, SIPp's sample pcaps.

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// `tests/sipp/<name>`: a SIPp scenario shipped with the tests.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sipp")
        .join(name)
}

/// The directory holding SIPp's sample RTP captures (`g711a.pcap`,
/// `dtmf_2833_*.pcap`). Debian's `sip-tester` puts them in
/// `/usr/share/sip-tester`; `SIPP_PCAP_DIR` overrides.
pub fn pcap_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIPP_PCAP_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from("/usr/share/sip-tester")
}

/// The target directory cargo builds into (`CARGO_TARGET_DIR` or
/// `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}
