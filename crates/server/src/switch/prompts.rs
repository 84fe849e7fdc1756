//! Prompt clips by path, each loaded from disk once on first use (on the
//! signalling task at call setup, never on the media path) and shared
//! between calls after that.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use media::player::Clip;

#[derive(Default)]
pub(super) struct Prompts {
    /// `None` remembers a file that could not be loaded, so a broken prompt
    /// is reported once rather than on every call.
    clips: HashMap<PathBuf, Option<Clip>>,
}

impl Prompts {
    pub fn clip(&mut self, path: &Path) -> Option<Clip> {
        if let Some(c) = self.clips.get(path) {
            return c.clone();
        }
        let clip = match Clip::load_wav(path) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("prompt not playable: {e}");
                None
            }
        };
        self.clips.insert(path.to_owned(), clip.clone());
        clip
    }

    /// The clips that load, in order, and how long they play together.
    pub fn playlist(&mut self, paths: &[PathBuf]) -> (Vec<Clip>, Duration) {
        let clips: Vec<Clip> = paths.iter().filter_map(|p| self.clip(p)).collect();
        let total = clips.iter().map(Clip::duration).sum();
        (clips, total)
    }
}
