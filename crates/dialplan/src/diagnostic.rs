//! Problems found in a config file, each pinned to a file, line and column.

use std::fmt;
use std::ops::Range;

use crate::source::SourceMap;

/// How bad a problem is. Errors stop a config from loading; warnings are printed and the config
/// still loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem in a config file, positioned at the offending key or value.
///
/// `line` and `column` are 1-based, the column counted in characters (not bytes). Both are 0 when the
/// problem has no position (the file could not be read); `Display` then prints only the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: error: message` then, when there is one, `\n  hint: ...`: the shape
    /// compilers use, so editors and terminals can jump to the spot.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}: {}", self.file, self.severity, self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}: {}",
                self.file, self.line, self.column, self.severity, self.message
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A problem found while reading or compiling, still positioned by byte offsets. It becomes a
/// [`Diagnostic`] once the source text is at hand to turn offsets into line:column.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub span: Range<usize>,
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
}

/// Collects problems while the config is read and compiled, so every one is reported at once.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, Severity::Error, message.into(), None);
    }

    pub fn error_hint(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, Severity::Error, message.into(), Some(hint.into()));
    }

    pub fn warning_hint(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, Severity::Warning, message.into(), Some(hint.into()));
    }

    pub fn push(
        &mut self,
        span: Range<usize>,
        severity: Severity,
        message: String,
        hint: Option<String>,
    ) {
        self.list.push(Problem {
            span,
            severity,
            message,
            hint,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
    }

    /// Turns byte spans into file:line:column, sorted by position so the output reads top to
    /// bottom, file by file.
    pub fn into_diagnostics(self, sources: &SourceMap) -> Vec<Diagnostic> {
        let mut out: Vec<(usize, Diagnostic)> = self
            .list
            .into_iter()
            .map(|p| {
                let (file, line, column) = sources.locate(p.span.start);
                let d = Diagnostic {
                    file: file.to_owned(),
                    line,
                    column,
                    severity: p.severity,
                    message: p.message,
                    hint: p.hint,
                };
                (p.span.start, d)
            })
            .collect();
        // Stable sort: problems at the same spot keep the order they were found in.
        out.sort_by_key(|(offset, _)| *offset);
        out.into_iter().map(|(_, d)| d).collect()
    }
}

/// Byte offset to 1-based line and character column.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        // Count characters, not bytes, so a column is right after a Cyrillic display name. toml
        // spans fall on character boundaries; `get` keeps a stray one from panicking.
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "ab\nжж = 1\n\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(1), (1, 2));
        assert_eq!(index.position(3), (2, 1));
        // "жж" is four bytes, two characters: the space after it is column 3.
        assert_eq!(index.position(7), (2, 3));
        assert_eq!(index.position(12), (3, 1));
        assert_eq!(index.position(13), (4, 1));
        assert_eq!(index.position(999), (4, 2));
    }

    #[test]
    fn display_has_position_and_hint() {
        let d = Diagnostic {
            file: "a.toml".into(),
            line: 3,
            column: 7,
            severity: Severity::Error,
            message: "unknown key `nmae`".into(),
            hint: Some("did you mean `name`?".into()),
        };
        assert_eq!(
            d.to_string(),
            "a.toml:3:7: error: unknown key `nmae`\n  hint: did you mean `name`?"
        );
        let d = Diagnostic {
            line: 0,
            column: 0,
            hint: None,
            severity: Severity::Warning,
            ..d
        };
        assert_eq!(d.to_string(), "a.toml: warning: unknown key `nmae`");
    }
}
