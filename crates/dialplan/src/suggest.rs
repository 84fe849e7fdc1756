//! "Did you mean ...?" for misspelled keys and names.

/// The candidate closest to `word`, if it is close enough to be a likely typo: at most one edit
/// for short words, two for longer ones, or the same word in another case.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance with adjacent transpositions counted as one edit ("naem" -> "name"),
/// the commonest typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("name", "name"), 0);
        assert_eq!(edit_distance("naem", "name"), 1);
        assert_eq!(edit_distance("nam", "name"), 1);
        assert_eq!(edit_distance("ring_timout", "ring_timeout"), 1);
        assert_eq!(edit_distance("abc", "xyz"), 3);
    }

    #[test]
    fn closest_picks_near_words_only() {
        let keys = ["name", "addresses", "proxy"];
        assert_eq!(closest("adresses", keys), Some("addresses"));
        assert_eq!(closest("NAME", keys), Some("name"));
        assert_eq!(closest("colour", keys), None);
        // Short words allow only one edit: "prx" is two away from "proxy".
        assert_eq!(closest("prx", keys), None);
    }
}
