//! `[prompts]`: names, and the files behind them, checked on disk.
//!
//! The media engine plays 16-bit PCM WAV. 8 kHz mono is what it sends; other rates and stereo are
//! converted when it loads the file, so they are fine here. Anything else (8-bit, float, A-law,
//! not a WAV at all) is an error naming the file.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_spanned::Spanned;

use super::*;
use crate::plan_flow::Prompt;

pub(super) fn compile_prompts(
    entries: &[(Spanned<String>, Spanned<String>)],
    prompts_dir: &Path,
    base_dir: &Path,
    p: &mut Problems,
) -> HashMap<String, Prompt> {
    let mut out = HashMap::new();
    for (name, file) in entries {
        if !is_name(name.get_ref()) {
            name_error(name, "prompt name", p);
            continue;
        }
        let path = prompts_dir.join(file.get_ref());
        let on_disk = if path.is_absolute() {
            path.clone()
        } else {
            base_dir.join(&path)
        };
        let Some(duration) = check_wav(&on_disk, &path, file, p) else {
            continue;
        };
        out.insert(
            name.get_ref().clone(),
            Prompt {
                name: name.get_ref().clone(),
                path,
                duration,
            },
        );
    }
    out
}

/// Reads the WAV header; reports and returns `None` when the file cannot be played.
fn check_wav(
    on_disk: &Path,
    shown: &Path,
    file: &Spanned<String>,
    p: &mut Problems,
) -> Option<Duration> {
    if !on_disk.is_file() {
        p.error_hint(
            file.span(),
            format!("prompt file {} not found", shown.display()),
            "prompt files are relative to `prompts_dir` in [server]",
        );
        return None;
    }
    let reader = match hound::WavReader::open(on_disk) {
        Ok(r) => r,
        Err(e) => {
            p.error_hint(
                file.span(),
                format!("prompt file {} is not a playable WAV: {e}", shown.display()),
                "convert it: sox in.mp3 -r 8000 -c 1 -b 16 out.wav",
            );
            return None;
        }
    };
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int
        || spec.bits_per_sample != 16
        || spec.sample_rate == 0
        || spec.channels == 0
    {
        p.error_hint(
            file.span(),
            format!(
                "prompt file {} is {}-bit {}; prompts must be 16-bit PCM",
                shown.display(),
                spec.bits_per_sample,
                match spec.sample_format {
                    hound::SampleFormat::Int => "integer PCM",
                    hound::SampleFormat::Float => "float",
                }
            ),
            "convert it: sox in.wav -r 8000 -c 1 -b 16 out.wav",
        );
        return None;
    }
    // `duration()` is in frames (samples per channel).
    let millis = u64::from(reader.duration()) * 1000 / u64::from(spec.sample_rate);
    Some(Duration::from_millis(millis))
}

/// A prompt name used somewhere; reports unknown names. `None` when absent or unknown.
pub(super) fn prompt_ref(
    name: &Option<Spanned<String>>,
    prompts: &HashMap<String, Prompt>,
    known: &[String],
    p: &mut Problems,
) -> Option<String> {
    let name = name.as_ref()?;
    if prompts.contains_key(name.get_ref()) {
        return Some(name.get_ref().clone());
    }
    // Names whose files were bad are defined but not compiled: no second error for them.
    if !known.contains(name.get_ref()) {
        unknown_reference(name, "prompt", known.iter().map(String::as_str), p);
    }
    None
}
