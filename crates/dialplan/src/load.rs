//! Reading a config from disk: the main file, the files its `include` names, and merging them into
//! one tree before it is read and compiled.
//!
//! `include = ["menus.toml", "numbers/"]` in the main file: paths relative to the main file's
//! directory; a directory means every `*.toml` in it, in name order. Arrays of tables
//! (`[[number]]`, `[[menu]]`, ...) from all files are concatenated; tables (`[server]`,
//! `[prompts]`) merge key by key, and a key set in two files is an error at the second.

use std::path::{Path, PathBuf};

use serde_spanned::Spanned;

use crate::diagnostic::{Problems, Severity};
use crate::node::{self, Node};
use crate::source::SourceMap;
use crate::{compile, read, Diagnostic, Plan};

/// Where relative paths in the config (`prompts_dir`) are looked up while checking prompt files.
pub(crate) struct Context<'a> {
    pub base_dir: &'a Path,
}

pub(crate) fn load_text(
    file: &str,
    text: String,
    base_dir: &Path,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut sources = SourceMap::default();
    let mut problems = Problems::default();
    let base = sources.add(file.to_owned(), text.clone());
    let mut root = match node::parse_document(&text, base) {
        Ok(root) => root,
        Err((span, message)) => {
            push_syntax(&mut problems, span.unwrap_or(base..base), &message);
            return Err(problems.into_diagnostics(&sources));
        }
    };
    let includes = take_key(&mut root, "include");
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut included = Vec::new();
    let mut sources_read = vec![PathBuf::from(file)];
    if let Some(list) = includes {
        for (path, span) in include_paths(&list, dir, &mut sources_read, &mut problems) {
            included.push((path, span));
        }
    }
    let mut failed_parse = false;
    for (path, span) in included {
        sources_read.push(path.clone());
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.error_hint(
                    span,
                    format!("cannot read included file {name}: {e}"),
                    "include paths are relative to the main config file's directory",
                );
                continue;
            }
        };
        let base = sources.add(name, text.clone());
        match node::parse_document(&text, base) {
            Ok(mut sub) => {
                if let Some(inc) = take_key(&mut sub, "include") {
                    problems.error_hint(
                        inc.span(),
                        "`include` is only allowed in the main config file",
                        "list every file in the main file's `include`",
                    );
                }
                merge(&mut root, sub, &sources, &mut problems);
            }
            Err((span, message)) => {
                push_syntax(&mut problems, span.unwrap_or(base..base), &message);
                failed_parse = true;
            }
        }
    }
    let config = read::read_config(&root, &mut problems);
    let ctx = Context { base_dir };
    let plan = compile::compile(config, file, &ctx, &mut problems);
    let failed = problems.has_errors() || failed_parse;
    let diagnostics = problems.into_diagnostics(&sources);
    match plan {
        Some(mut plan) if !failed => {
            plan.warnings = diagnostics;
            plan.sources = sources_read;
            Ok(plan)
        }
        _ => Err(diagnostics),
    }
}

fn push_syntax(problems: &mut Problems, span: std::ops::Range<usize>, raw: &str) {
    let (message, hint) = syntax_message(raw);
    problems.push(span, Severity::Error, message, hint);
}

/// toml's messages are multi-line ("invalid string\nexpected ..."); the first line is the message,
/// the rest becomes the hint, so the output keeps the one-line `file:line:column: error:` shape.
fn syntax_message(raw: &str) -> (String, Option<String>) {
    if raw.contains(node::DATETIME_FIELD) {
        return (
            "dates and times are not used in switchboard config".to_owned(),
            Some("put the value in double quotes if it is meant as text".to_owned()),
        );
    }
    let mut lines = raw.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines.next().unwrap_or("invalid TOML").to_owned();
    let rest: Vec<&str> = lines.collect();
    let hint = (!rest.is_empty()).then(|| rest.join("; "));
    (format!("TOML syntax: {message}"), hint)
}

/// Removes a top-level key, returning its value.
fn take_key(root: &mut Spanned<Node>, key: &str) -> Option<Spanned<Node>> {
    let Node::Table(entries) = root.get_mut() else {
        return None;
    };
    let i = entries.iter().position(|(k, _)| k.get_ref() == key)?;
    Some(entries.remove(i).1)
}

/// The files an `include` value names, directories expanded, each with the span of its entry.
fn include_paths(
    value: &Spanned<Node>,
    dir: &Path,
    dirs: &mut Vec<PathBuf>,
    p: &mut Problems,
) -> Vec<(PathBuf, std::ops::Range<usize>)> {
    let Node::Array(items) = value.get_ref() else {
        p.error_hint(
            value.span(),
            format!(
                "`include` must be an array of strings, found {}",
                value.get_ref().type_name()
            ),
            "e.g. include = [\"menus.toml\", \"numbers/\"]",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Node::String(s) = item.get_ref() else {
            p.error(
                item.span(),
                format!(
                    "`include` entries must be strings, found {}",
                    item.get_ref().type_name()
                ),
            );
            continue;
        };
        let path = dir.join(s);
        if path.is_dir() {
            dirs.push(path.clone());
            match std::fs::read_dir(&path) {
                Ok(entries) => {
                    let mut files: Vec<PathBuf> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|f| f.extension().is_some_and(|e| e == "toml") && f.is_file())
                        .collect();
                    files.sort();
                    if files.is_empty() {
                        p.warning_hint(
                            item.span(),
                            format!("included directory {} has no .toml files", path.display()),
                            "put config files ending in .toml there, or remove the entry",
                        );
                    }
                    out.extend(files.into_iter().map(|f| (f, item.span())));
                }
                Err(e) => p.error(
                    item.span(),
                    format!("cannot read included directory {}: {e}", path.display()),
                ),
            }
        } else {
            out.push((path, item.span()));
        }
    }
    out
}

/// Merges an included file's top level into the main one.
fn merge(root: &mut Spanned<Node>, sub: Spanned<Node>, sources: &SourceMap, p: &mut Problems) {
    let (Node::Table(into), Node::Table(from)) = (root.get_mut(), sub.into_inner()) else {
        return;
    };
    for (key, value) in from {
        let Some(i) = into.iter().position(|(k, _)| k.get_ref() == key.get_ref()) else {
            into.push((key, value));
            continue;
        };
        let first_span = into[i].0.span();
        let existing = into[i].1.get_mut();
        match (existing, value.into_inner()) {
            (Node::Array(a), Node::Array(b)) => a.extend(b),
            (Node::Table(a), Node::Table(b)) => {
                for (k, v) in b {
                    if a.iter().any(|(ak, _)| ak.get_ref() == k.get_ref()) {
                        let first = a.iter().find(|(ak, _)| ak.get_ref() == k.get_ref());
                        let first = first.map_or("", |(ak, _)| sources.file_of(ak.span().start));
                        p.error_hint(
                            k.span(),
                            format!(
                                "`{}.{}` is set in more than one file",
                                key.get_ref(),
                                k.get_ref()
                            ),
                            format!("it is already set in {first}; keep one"),
                        );
                    } else {
                        a.push((k, v));
                    }
                }
            }
            _ => {
                p.error_hint(
                    key.span(),
                    format!("`{}` is set in more than one file", key.get_ref()),
                    format!(
                        "it is already set in {}; keep one",
                        sources.file_of(first_span.start)
                    ),
                );
            }
        }
    }
}
