//! Permissions: which role may take which action.
//!
//! A category's actions have consecutive indices (they are declared
//! together), so every name in a `permit` stands for a range of actions and
//! a role's permissions are a set of ranges: the work is linear in the
//! policy however many roles and actions it declares. The table of bools
//! the compiler reads is filled once at the end, when it fits
//! [`super::MAX_TABLE_CELLS`].

use std::collections::BTreeMap;
use std::ops::Range;

use super::{ACTION, Checker, ROLE, errors};
use crate::ast::{self, PermitTargets};

/// Disjoint, non-adjacent ranges of action indices: start → end.
#[derive(Clone, Debug, Default)]
pub(super) struct ActionRanges(BTreeMap<usize, usize>);

impl ActionRanges {
    /// Adds `r`, merging it with the ranges it touches.
    pub(super) fn insert(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        let (mut start, mut end) = (r.start, r.end);
        // Each merged range leaves the map: the loop runs once per range
        // ever inserted, over the whole set's life.
        while let Some((&s, &e)) = self.0.range(..=end).next_back() {
            if e < start {
                break;
            }
            self.0.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        self.0.insert(start, end);
    }

    /// Takes `r` out, splitting the ranges it cuts.
    pub(super) fn remove(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        // As in `insert`: every range visited is removed or is the last.
        while let Some((&s, &e)) = self.0.range(..r.end).next_back() {
            if e <= r.start {
                break;
            }
            self.0.remove(&s);
            if e > r.end {
                self.0.insert(r.end, e);
            }
            if s < r.start {
                self.0.insert(s, r.start);
                break;
            }
        }
    }

    /// Whether any action of `r` is in the set.
    pub(super) fn overlaps(&self, r: &Range<usize>) -> bool {
        !r.is_empty()
            && self
                .0
                .range(..r.end)
                .next_back()
                .is_some_and(|(_, &e)| e > r.start)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.0.iter().map(|(&s, &e)| s..e)
    }

    /// `true` at every index in the set, for `n` actions.
    pub(super) fn to_table(&self, n: usize) -> Vec<bool> {
        let mut table = vec![false; n];
        for r in self.ranges() {
            if let Some(cells) = table.get_mut(r) {
                cells.fill(true);
            }
        }
        table
    }
}

impl Checker<'_> {
    pub(super) fn permit(&mut self, role: &ast::Ident, to: &PermitTargets, except: &[ast::Ident]) {
        let r = self.resolve(ROLE, role);
        let mut granted = ActionRanges::default();
        match to {
            PermitTargets::All(_) => granted.insert(0..self.out.actions.len()),
            PermitTargets::Names(names) => {
                for name in names {
                    let set = self.action_set(name);
                    granted.insert(set);
                }
            }
        }
        for name in except {
            let removed = self.action_set(name);
            if !removed.is_empty() && !granted.overlaps(&removed) {
                self.report(errors::useless_exception(name));
            }
            granted.remove(removed);
        }
        if let Some(row) = r.and_then(|r| self.permits.get_mut(r)) {
            for range in granted.ranges() {
                row.insert(range);
            }
        }
    }

    /// The actions a name stands for: a category's members or one action.
    pub(super) fn action_set(&mut self, name: &ast::Ident) -> Range<usize> {
        if let Some(&c) = self.names.categories.get(&*name.name) {
            self.used.categories.insert(c);
            // INVARIANT: a category's actions are declared together, so
            // their indices are consecutive.
            let members = self.out.categories.get(c).map(|c| c.actions.as_slice());
            return match members {
                Some([first, .., last]) => *first..*last + 1,
                Some([only]) => *only..*only + 1,
                _ => 0..0,
            };
        }
        match self.resolve(ACTION, name) {
            Some(a) => a..a + 1,
            None => 0..0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ActionRanges;

    fn ranges(set: &ActionRanges) -> Vec<(usize, usize)> {
        set.ranges().map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn ranges_merge_split_and_overlap() {
        let mut set = ActionRanges::default();
        set.insert(5..7);
        set.insert(0..2);
        set.insert(2..3);
        set.insert(10..12);
        assert_eq!(ranges(&set), [(0, 3), (5, 7), (10, 12)]);
        set.insert(6..10);
        assert_eq!(ranges(&set), [(0, 3), (5, 12)]);
        set.remove(7..9);
        assert_eq!(ranges(&set), [(0, 3), (5, 7), (9, 12)]);
        set.remove(1..11);
        assert_eq!(ranges(&set), [(0, 1), (11, 12)]);
        assert!(set.overlaps(&(0..5)));
        assert!(!set.overlaps(&(1..11)));
        assert!(set.overlaps(&(10..20)));
        assert!(!set.overlaps(&(3..3)));
        assert_eq!(set.to_table(13), {
            let mut t = vec![false; 13];
            t[0] = true;
            t[11] = true;
            t
        });
    }
}
