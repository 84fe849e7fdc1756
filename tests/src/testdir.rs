//! A temporary directory for one peer's config, logs and recordings, kept
//! (and its path printed) when the test fails so the files can be inspected.

use std::path::Path;

use anyhow::Result;

pub struct TestDir {
    dir: Option<tempfile::TempDir>,
    kept: Option<std::path::PathBuf>,
}

impl TestDir {
    pub fn new(prefix: &str) -> Result<TestDir> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("switchboard-{prefix}-"))
            .tempdir()?;
        Ok(TestDir {
            dir: Some(dir),
            kept: None,
        })
    }

    /// Keeps the directory after drop (a start-up failure the caller is
    /// about to report) and says where it is.
    pub fn keep(&mut self) {
        if let Some(d) = self.dir.take() {
            let path = d.keep();
            eprintln!("(kept test files in {})", path.display());
            self.kept = Some(path);
        }
    }

    pub fn path(&self) -> &Path {
        if let Some(p) = &self.kept {
            return p;
        }
        self.dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("."))
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() || keep_requested() {
            if let Some(d) = self.dir.take() {
                eprintln!("(kept test files in {})", d.keep().display());
            }
        }
    }
}

/// `SWITCHBOARD_TEST_KEEP=1` keeps every test directory, failing or not.
fn keep_requested() -> bool {
    std::env::var_os("SWITCHBOARD_TEST_KEEP").is_some_and(|v| v != "0")
}
