//! Whole-policy lints: unused and unreachable declarations, likely typos.

use std::collections::HashMap;

use super::ir::*;
use super::{ACTION, CREDIT, Checker, DEBT, FIELD, NAME, ROLE, STEP, TYPE, errors};
use crate::ast::{self, ItemKind};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// The comparisons the similar-names lint may make in one check, each of
/// at most one name's length (at most 128 bytes): about a tenth of a second.
/// Candidates are already narrowed to siblings of nearly the same length
/// sharing half their letters, so only policies built to defeat that (tens
/// of thousands of near-identical sibling names) reach it; past it the lint
/// stays silent for the remaining fields.
pub const MAX_SIMILAR_NAME_CHECKS: usize = 1 << 20;

/// Field path segments by parent path, length class and half, so that the
/// similar-names lint compares a new segment only with siblings that could
/// be one edit away.
///
/// Two names one edit apart whose shorter length is `m` share their first
/// `m / 2` letters or their last `m / 2` (the edit falls in one half), so
/// each segment is filed under both halves for the two length classes it can
/// pair in: `m = len` (partners as long or one longer) and `m = len - 1`.
pub(super) struct SiblingIndex {
    buckets: HashMap<String, Vec<(usize, usize)>>,
    /// Parent path and segment pairs already filed: the earliest field with
    /// a segment is the one a twin is reported against.
    filed: std::collections::HashSet<String>,
    checks_left: usize,
}

impl Default for SiblingIndex {
    fn default() -> SiblingIndex {
        SiblingIndex {
            buckets: HashMap::new(),
            filed: std::collections::HashSet::new(),
            checks_left: MAX_SIMILAR_NAME_CHECKS,
        }
    }
}

impl SiblingIndex {
    fn keys(parent: &str, segment: &str, m: usize) -> [String; 2] {
        let half = m / 2;
        let bytes = segment.as_bytes();
        let head = bytes.get(..half).unwrap_or(&[]);
        let tail = bytes.get(bytes.len().saturating_sub(half)..).unwrap_or(&[]);
        let key = |side: char, part: &[u8]| {
            format!("{parent}\0{m}{side}{}", String::from_utf8_lossy(part))
        };
        [key('<', head), key('>', tail)]
    }

    fn insert(&mut self, field: usize, path: &[String]) {
        let mut parent = String::new();
        for (depth, segment) in path.iter().enumerate() {
            if self.filed.insert(format!("{parent}\0{segment}")) {
                let len = segment.len();
                // Queries come from segments of four letters or more.
                for m in [len, len.saturating_sub(1)].into_iter().filter(|&m| m >= 3) {
                    for key in Self::keys(&parent, segment, m) {
                        self.buckets.entry(key).or_default().push((field, depth));
                    }
                }
            }
            parent.push_str(segment);
            parent.push('.');
        }
    }

    /// The earliest field with a sibling segment one edit from one of
    /// `path`'s (of four letters or more), and the depth of that segment.
    fn earliest_twin(&mut self, path: &[&str], fields: &[Field]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        let mut parent = String::new();
        for &mine in path {
            if mine.len() >= 4 {
                for m in [mine.len(), mine.len() - 1] {
                    for key in Self::keys(&parent, mine, m) {
                        for &(f, d) in self.buckets.get(&key).into_iter().flatten() {
                            if best.is_some_and(|(b, _)| b <= f) {
                                break; // buckets are in declaration order
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
            parent.push_str(mine);
            parent.push('.');
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


impl Checker<'_> {
    pub(super) fn finish(&mut self, policy: &ast::Policy) {
        if self.out.name.is_empty() {
            self.report(
                Diagnostic::new(
                    Code::MissingDeclaration,
                    Span::point(0),
                    "the policy has no name",
                )
                .label("no `policy` line")
                .help("start the file with `policy <name>`, for example `policy ampere`"),
            );
        }
        for (i, (ns, _, _)) in self.unknown.iter().enumerate() {
            self.unknown_groups.entry(ns.clone()).or_default().push(i);
        }
        for (r, role) in self.out.roles.iter().enumerate() {
            let any = self.permits.get(r).is_some_and(|p| !p.is_empty());
            if !any {
                let d = Diagnostic::new(
                    Code::RoleWithoutPermissions,
                    role.span,
                    format!("role `{}` may not take any action", role.name),
                )
                .label("no `permit` for this role")
                .help(format!(
                    "add `permit {} to <categories>`, or remove the role",
                    role.name
                ));
                self.diags.push(self.typo_hint(d, ROLE, &role.name));
            }
        }
        // Which credit kinds and debt kinds can ever move.
        let settles_from: Vec<usize> = self.out.settle.kinds.clone();
        for (k, kind) in self.out.credit_kinds.iter().enumerate() {
            if !self.out.spend.kinds.contains(&k) && !self.used.credit_kinds.contains(&k) {
                let d = Diagnostic::new(
                    Code::UnusedCreditKind,
                    kind.span,
                    format!("credit kind `{}` is never spent", kind.name),
                )
                .label("no `spend` order draws it and no rule mentions it")
                .help(format!(
                    "add `{}` to the `spend` order, or remove it",
                    kind.name
                ));
                self.diags.push(self.typo_hint(d, CREDIT, &kind.name));
            }
        }
        for (k, kind) in self.out.debt_kinds.iter().enumerate() {
            let has_source = self
                .out
                .settle
                .sources
                .get(k)
                .is_some_and(|s| !s.is_empty());
            if !settles_from.contains(&k) || !has_source {
                let d = Diagnostic::new(
                    Code::UnsettleableDebt,
                    kind.span,
                    format!("debt kind `{}` can never be settled", kind.name),
                )
                .label("no settlement source")
                .help(format!(
                    "add `{}` to the `settle` order with `{} from usable`",
                    kind.name, kind.name
                ));
                self.diags.push(self.typo_hint(d, DEBT, &kind.name));
            }
        }
        // Locked credits as a source need a lock that releases them.
        for (k, sources) in self.out.settle.sources.iter().enumerate() {
            if !sources.contains(&SourceKind::Locked) {
                continue;
            }
            let allowed = self.out.locks.iter().any(|l| l.may_settle.contains(&k));
            if !allowed && !self.out.locks.is_empty() {
                let kind = self
                    .out
                    .debt_kinds
                    .get(k)
                    .map_or("", |d| d.name.as_str())
                    .to_owned();
                let span = settle_source_span(policy, &kind)
                    .unwrap_or_else(|| self.out.settle.span.unwrap_or_default());
                self.diags.push(
                    Diagnostic::new(
                        Code::LockedSourceNotAllowed,
                        span,
                        format!("`{kind}` is settled from locked credits, but no lock allows it"),
                    )
                    .label("locked credits may not settle this")
                    .help(format!(
                        "add `may settle {kind}` to the lock, or remove `locked` from the sources"
                    )),
                );
            }
        }
        for lock in &self.out.locks {
            for &k in &lock.may_settle {
                let taken = self
                    .out
                    .settle
                    .sources
                    .get(k)
                    .is_some_and(|s| s.contains(&SourceKind::Locked));
                if !taken {
                    let kind = self.out.debt_kinds.get(k).map_or("", |d| d.name.as_str());
                    self.diags.push(
                        Diagnostic::new(Code::Unused, lock.span, format!("the lock lets locked credits settle `{kind}`, but `settle` never takes them"))
                            .label("never used")
                            .help(format!("add `locked` to the sources of `{kind}`: `{kind} from usable, locked`")),
                    );
                }
            }
        }
        let mut unused = Vec::new();
        for (i, l) in self.out.lets.iter().enumerate() {
            if !self.used.lets.contains(&i) {
                let d =
                    Diagnostic::new(Code::Unused, l.span, format!("`{}` is never used", l.name))
                        .label("never read")
                        .help("remove it, or use it in a state, rule or message");
                unused.push(self.typo_hint(d, NAME, &l.name));
            }
        }
        self.diags.extend(unused);
        for (i, s) in self.out.steps.iter().enumerate() {
            if !self.used.steps.contains(&i) {
                let d = Diagnostic::new(
                    Code::Unused,
                    s.span,
                    format!("step `{}` is never offered", s.name),
                )
                .label("no rule names it")
                .help("name it in a rule's `steps`, or remove it");
                self.diags.push(self.typo_hint(d, STEP, &s.name));
            }
        }
        self.unused_twins();
        for (i, e) in self.out.enums.iter().enumerate() {
            if !self.used.enums.contains(&i) {
                let d = Diagnostic::new(
                    Code::Unused,
                    e.span,
                    format!("enum `{}` is never used", e.name),
                )
                .label("no field has this type")
                .help("give a field this type, or remove it");
                let d = self.typo_hint(d, TYPE, &e.name);
                self.diags.push(d);
            }
        }
    }

    /// `subscriptio.plan` beside `subscription.status`: sibling path
    /// segments one letter apart are a typo, not two snapshot objects.
    /// Reports the earliest declared field that is such a twin.
    pub(super) fn similar_fields(&mut self, field: &ast::FieldDecl) {
        let segments: Vec<&str> = field
            .path
            .segments
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let twin = self.siblings.earliest_twin(&segments, &self.out.fields);
        let Some((f, depth)) = twin else {
            return;
        };
        let (Some(other), Some(mine)) = (self.out.fields.get(f), field.path.segments.get(depth))
        else {
            return;
        };
        let theirs = other.path.get(depth).map_or("", String::as_str);
        let d = errors::similar_names(mine, theirs, other.span, &other.dotted());
        self.report(d);
    }

    /// Records a declared field for [`Checker::similar_fields`].
    pub(super) fn note_sibling(&mut self, index: usize) {
        if let Some(field) = self.out.fields.get(index) {
            self.siblings.insert(index, &field.path);
        }
    }

    /// An unknown name close to `declared` in the same namespace, if any.
    /// Each unknown is looked at only from its own namespace, and the
    /// check's suggestion budget bounds the comparisons.
    pub(super) fn near_unknown(
        &self,
        namespace: &str,
        declared: &str,
    ) -> Option<&(String, String, Span)> {
        if !self.can_suggest() {
            return None;
        }
        self.unknown_groups
            .get(namespace)?
            .iter()
            .filter_map(|&i| self.unknown.get(i))
            .find(|(_, name, _)| self.suggest(declared, [name.as_str()]).is_some())
    }

    /// When an unused declaration is close to a name reported as unknown,
    /// one of the two is probably a typo: say so at the declaration too.
    pub(super) fn typo_hint(&self, d: Diagnostic, namespace: &str, declared: &str) -> Diagnostic {
        match self.near_unknown(namespace, declared) {
            Some((_, name, span)) => {
                let line = self.source.line_col(span.start).line;
                d.related(*span, format!("`{name}` is used here but never declared"))
                    .help(format!(
                        "`{name}` (line {line}) looks like a misspelling of `{declared}`: did you mean `{name}` here, or `{declared}` there?"
                    ))
            }
            None => d,
        }
    }

    /// Declarations nothing uses are normal for enum values and fields (the
    /// snapshot may hold them); they are reported only when they look like
    /// the misspelt twin of a name that is used.
    pub(super) fn unused_twins(&mut self) {
        let mut found = Vec::new();
        for (e, decl) in self.out.enums.iter().enumerate() {
            for (v, value) in decl.values.iter().enumerate() {
                if self.used.enum_values.contains(&(e, v)) {
                    continue;
                }
                let namespace = format!("enum {e}");
                if self.near_unknown(&namespace, value).is_some() {
                    let span = self
                        .enum_value_spans
                        .get(&(e, v))
                        .copied()
                        .unwrap_or(decl.span);
                    let d = Diagnostic::new(
                        Code::Unused,
                        span,
                        format!("value `{value}` of `{}` is never used", decl.name),
                    )
                    .label("never used");
                    found.push(self.typo_hint(d, &namespace, value));
                }
            }
        }
        for (a, action) in self.out.actions.iter().enumerate() {
            if !self.used.actions.contains(&a) && self.near_unknown(ACTION, &action.name).is_some()
            {
                let d = Diagnostic::new(
                    Code::Unused,
                    action.span,
                    format!("action `{}` is never named", action.name),
                )
                .label("never named");
                found.push(self.typo_hint(d, ACTION, &action.name));
            }
        }
        for (f, field) in self.out.fields.iter().enumerate() {
            let dotted = field.dotted();
            if !self.used.fields.contains(&f) && self.near_unknown(FIELD, &dotted).is_some() {
                let d = Diagnostic::new(
                    Code::Unused,
                    field.span,
                    format!("field `{dotted}` is never read"),
                )
                .label("never read");
                found.push(self.typo_hint(d, FIELD, &dotted));
            }
        }
        self.diags.extend(found);
    }
}

/// The span of `kind` in the settle block's sources, for diagnostics.
fn settle_source_span(policy: &ast::Policy, kind: &str) -> Option<Span> {
    policy.items.iter().find_map(|item| match &item.kind {
        ItemKind::Settle(s) => s
            .sources
            .iter()
            .find(|src| src.debt_kind.name == kind)
            .map(|src| src.debt_kind.span),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::one_edit_apart;

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
}
