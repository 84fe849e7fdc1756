//! The files a config was read from, sharing one byte-offset space.
//!
//! Each file is parsed with its spans shifted by the file's base offset, so a span alone says which
//! file (and where in it) a problem is. Bases are spaced one past each file's end, so no offset
//! belongs to two files.

use crate::diagnostic::LineIndex;

#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Debug)]
struct SourceFile {
    name: String,
    text: String,
    base: usize,
}

impl SourceMap {
    /// Adds a file and returns its base offset.
    pub fn add(&mut self, name: String, text: String) -> usize {
        let base = self.files.last().map_or(0, |f| f.base + f.text.len() + 1);
        self.files.push(SourceFile { name, text, base });
        base
    }

    /// The file name, 1-based line and character column of a global offset.
    pub fn locate(&self, offset: usize) -> (&str, usize, usize) {
        let i = self
            .files
            .partition_point(|f| f.base <= offset)
            .saturating_sub(1);
        match self.files.get(i) {
            Some(f) => {
                let (line, column) = LineIndex::new(&f.text).position(offset - f.base);
                (&f.name, line, column)
            }
            None => ("<config>", 0, 0),
        }
    }

    /// The name of the file holding `offset`.
    pub fn file_of(&self, offset: usize) -> &str {
        self.locate(offset).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_their_file() {
        let mut map = SourceMap::default();
        assert_eq!(map.add("a.toml".into(), "ab\ncd".into()), 0);
        assert_eq!(map.add("b.toml".into(), "x\ny".into()), 6);
        assert_eq!(map.locate(4), ("a.toml", 2, 2));
        assert_eq!(map.locate(6), ("b.toml", 1, 1));
        assert_eq!(map.locate(8), ("b.toml", 2, 1));
    }
}
