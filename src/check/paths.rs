//! Declared field paths as a tree of segments, so that a new field is
//! compared only with the earlier fields it could clash with or be the
//! misspelt twin of, not with every one.

use std::collections::HashMap;

use super::ir::Field;

/// The comparisons the similar-names lint may make in one check, each of
/// at most one segment's length (128 bytes): about a tenth of a second.
/// Candidates are already narrowed to siblings of nearly the same length
/// sharing half their letters, so only policies built to defeat that (tens
/// of thousands of near-identical sibling names) reach it; past it the lint
/// stays silent for the remaining fields.
pub const MAX_SIMILAR_NAME_CHECKS: usize = 1 << 20;

/// Where sibling segments are filed: parent node, length class `m`,
/// whether the half is the suffix, and the half itself.
type SiblingKey = (usize, usize, bool, String);

/// The root of the tree: the parent of every first segment.
const ROOT: usize = 0;

#[derive(Default)]
struct Node {
    /// The first field whose path ends here.
    field: Option<usize>,
    /// The first field whose path runs through here to a longer one.
    first_below: Option<usize>,
}

/// Every declared field's path, segment by segment.
///
/// Sibling segments are also filed by length class and halves for the
/// similar-names lint: two names one edit apart whose shorter length is `m`
/// share their first `m / 2` letters or their last `m / 2` (the edit falls
/// in one half), so each segment is filed under both halves for the two
/// length classes it can pair in: `m = len` (partners as long or one
/// longer) and `m = len - 1`.
pub(super) struct FieldTree {
    children: HashMap<(usize, String), usize>,
    nodes: Vec<Node>,
    /// `(parent, m, suffix?, half)` → `(field, depth)` of the segments
    /// filed there, in declaration order.
    siblings: HashMap<SiblingKey, Vec<(usize, usize)>>,
    checks_left: usize,
}

impl Default for FieldTree {
    fn default() -> FieldTree {
        FieldTree {
            children: HashMap::new(),
            nodes: vec![Node::default()],
            siblings: HashMap::new(),
            checks_left: MAX_SIMILAR_NAME_CHECKS,
        }
    }
}

impl FieldTree {
    fn child(&self, parent: usize, segment: &str) -> Option<usize> {
        // A borrowed key would need a custom `Borrow`; segments are short.
        self.children.get(&(parent, segment.to_owned())).copied()
    }

    /// Whether some field's path starts with `name`.
    pub(super) fn has_root(&self, name: &str) -> bool {
        self.child(ROOT, name).is_some()
    }

    /// The first field whose path is a strict prefix of `path`, or has
    /// `path` as a strict prefix: `a.b` cannot be both a value and a group.
    pub(super) fn clash(&self, path: &[&str]) -> Option<usize> {
        let mut node = ROOT;
        let mut first: Option<usize> = None;
        let mut keep = |f: Option<usize>| {
            if let Some(f) = f {
                first = Some(first.map_or(f, |b: usize| b.min(f)));
            }
        };
        for (depth, segment) in path.iter().enumerate() {
            let Some(next) = self.child(node, segment) else {
                return first;
            };
            node = next;
            let here = self.nodes.get(node);
            if depth + 1 < path.len() {
                keep(here.and_then(|n| n.field));
            } else {
                keep(here.and_then(|n| n.first_below));
            }
        }
        first
    }

    /// Adds field `index`'s path.
    pub(super) fn insert(&mut self, index: usize, path: &[String]) {
        let mut node = ROOT;
        for (depth, segment) in path.iter().enumerate() {
            let parent = node;
            node = match self.child(parent, segment) {
                Some(n) => n,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.children.insert((parent, segment.clone()), n);
                    self.file_sibling(parent, segment, index, depth);
                    n
                }
            };
            if let Some(n) = self.nodes.get_mut(node) {
                if depth + 1 < path.len() {
                    n.first_below.get_or_insert(index);
                } else {
                    n.field.get_or_insert(index);
                }
            }
        }
    }

    fn keys(parent: usize, segment: &str, m: usize) -> [SiblingKey; 2] {
        let half = m / 2;
        let bytes = segment.as_bytes();
        let head = bytes.get(..half).unwrap_or(&[]);
        let tail = bytes.get(bytes.len().saturating_sub(half)..).unwrap_or(&[]);
        let text = |part: &[u8]| String::from_utf8_lossy(part).into_owned();
        [
            (parent, m, false, text(head)),
            (parent, m, true, text(tail)),
        ]
    }

    fn file_sibling(&mut self, parent: usize, segment: &str, field: usize, depth: usize) {
        let len = segment.len();
        // Queries come from segments of four letters or more.
        for m in [len, len.saturating_sub(1)].into_iter().filter(|&m| m >= 3) {
            for key in Self::keys(parent, segment, m) {
                self.siblings.entry(key).or_default().push((field, depth));
            }
        }
    }

    /// The earliest field with a sibling segment one edit from one of
    /// `path`'s (of four letters or more), and the depth of that segment.
    pub(super) fn twin(&mut self, path: &[&str], fields: &[Field]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        let mut parent = ROOT;
        for &mine in path {
            if mine.len() >= 4 {
                for m in [mine.len(), mine.len() - 1] {
                    for key in Self::keys(parent, mine, m) {
                        for &(f, d) in self.siblings.get(&key).into_iter().flatten() {
                            if best.is_some_and(|(b, _)| b <= f) {
                                break; // filed in declaration order
                            }
                            if self.checks_left == 0 {
                                return best;
                            }
                            self.checks_left -= 1;
                            let theirs = fields
                                .get(f)
                                .and_then(|x| x.path.get(d))
                                .map_or("", String::as_str);
                            if one_edit_apart(mine.as_bytes(), theirs.as_bytes()) {
                                best = Some((f, d));
                            }
                        }
                    }
                }
            }
            match self.child(parent, mine) {
                Some(next) => parent = next,
                None => break, // no earlier field goes deeper along this path
            }
        }
        best
    }
}

/// Whether one insertion, deletion or substitution turns `a` into `b`.
fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let same = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        0 => same < short.len() && short.get(same + 1..) == long.get(same + 1..),
        1 => short.get(same..) == long.get(same + 1..),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_is_exactly_one() {
        let one = |a: &str, b: &str| one_edit_apart(a.as_bytes(), b.as_bytes());
        assert!(one("status", "statu"));
        assert!(one("statu", "status"));
        assert!(one("status", "statvs"));
        assert!(one("status", "xstatus"));
        assert!(!one("status", "status"));
        assert!(!one("status", "sutats"));
        assert!(!one("status", "stat"));
        assert!(!one("ab", "ba"));
    }

    #[test]
    fn clashes_are_prefixes_either_way() {
        let mut tree = FieldTree::default();
        let path = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
        tree.insert(0, &path("a.b"));
        tree.insert(1, &path("c.d.e"));
        tree.insert(2, &path("c"));
        let clash = |t: &FieldTree, s: &str| t.clash(&s.split('.').collect::<Vec<_>>());
        assert_eq!(clash(&tree, "a.b.c"), Some(0));
        assert_eq!(clash(&tree, "a"), Some(0));
        assert_eq!(clash(&tree, "a.b"), None);
        assert_eq!(clash(&tree, "a.c"), None);
        assert_eq!(clash(&tree, "c.d"), Some(1));
        assert_eq!(clash(&tree, "c.x"), Some(2));
        assert!(tree.has_root("c") && !tree.has_root("b"));
    }
}
