//! Checking: AST → checked policy, with every problem as a diagnostic.
//!
//! The checker resolves every name, types every expression, and lints the
//! policy as a whole (unused kinds, unreachable states). It reports all it
//! finds in one run; the checked policy exists only when there is no error.

mod assertions;
mod cost;
mod declare;
mod errors;
mod expr;
pub mod ir;
mod ledger;
mod limits;
mod lints;
mod paths;
mod permit;
mod rules;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

pub use cost::{MAX_AGGREGATE_WORK, MAX_DECISION_NODES, MAX_EVAL_NODES};
use expr::Deps;
pub use expr::MAX_EVAL_DEPTH;
pub use ir::Checked;
use ir::*;
pub use limits::{MAX_DECLARATIONS, MAX_GRANT_ATTRS, MAX_KINDS, MAX_TABLE_CELLS};

use crate::ast::{self, ItemKind, RuleKind};
use crate::diagnostic::{Code, Diagnostic, SuggestBudget, suggest_within};
use crate::span::{Source, Span};

/// The work all did-you-mean suggestions of one check may do together, in
/// the units of [`crate::diagnostic::SUGGEST_CALL_WORK`] (32 calls' worth,
/// at most about 0.3 s): a policy with thousands of unknown names gets
/// suggestions for the first ones and plain help for the rest.
pub const CHECK_SUGGEST_WORK: u64 = 32 * crate::diagnostic::SUGGEST_CALL_WORK;

/// Most diagnostics one check keeps; later ones are only counted. A text
/// that repeats one slip a million times (an unknown name in every item of
/// long lists, half a million unused `let`s) got a million diagnostics,
/// 1.7 GB of them for an 8 MB policy; the first thousand found say what
/// is wrong as well.
pub const MAX_CHECK_DIAGNOSTICS: usize = 1_000;

/// The checked policy (when there are no errors) and every diagnostic
/// kept, with how many more errors and warnings were found.
#[derive(Clone, Debug)]
pub struct CheckOutput {
    pub checked: Option<Checked>,
    pub diagnostics: Vec<Diagnostic>,
    pub omitted_errors: usize,
    pub omitted_warnings: usize,
}

/// Checks a parsed policy. The tree is used up: each `let` and `on` block
/// is freed once it is checked, so that the checked policy grows into the
/// memory the tree gave back rather than beside the whole tree.
pub fn check(source: &Source, mut policy: ast::Policy) -> CheckOutput {
    let mut checker = Checker::new(source);
    checker.run(&mut policy);
    drop(policy);
    let has_errors = checker.omitted_errors > 0 || checker.diags.iter().any(Diagnostic::is_error);
    CheckOutput {
        checked: (!has_errors).then_some(checker.out),
        diagnostics: checker.diags,
        omitted_errors: checker.omitted_errors,
        omitted_warnings: checker.omitted_warnings,
    }
}

/// Name → index, one map per namespace.
#[derive(Default)]
struct Names {
    roles: HashMap<String, usize>,
    access: HashMap<String, usize>,
    categories: HashMap<String, usize>,
    actions: HashMap<String, usize>,
    credit_kinds: HashMap<String, usize>,
    debt_kinds: HashMap<String, usize>,
    enums: HashMap<String, usize>,
    fields: HashMap<String, usize>,
    grant_attrs: HashMap<String, usize>,
    lets: HashMap<String, usize>,
    steps: HashMap<String, usize>,
    states: HashMap<String, usize>,
}

/// What the policy mentions, for the "never used" lints.
#[derive(Default)]
struct Used {
    lets: HashSet<usize>,
    steps: HashSet<usize>,
    enums: HashSet<usize>,
    categories: HashSet<usize>,
    credit_kinds: HashSet<usize>,
    debt_kinds: HashSet<usize>,
    /// `(enum, value)` pairs that some expression names.
    enum_values: HashSet<(usize, usize)>,
    fields: HashSet<usize>,
    actions: HashSet<usize>,
    /// Access levels some `steps for ... access` names.
    access: HashSet<usize>,
}

struct Checker<'s> {
    source: &'s Source,
    /// At most [`MAX_CHECK_DIAGNOSTICS`].
    diags: Vec<Diagnostic>,
    /// Found past the cap, counted only.
    omitted_errors: usize,
    omitted_warnings: usize,
    names: Names,
    used: Used,
    out: Checked,
    let_spans: Vec<Span>,
    /// Where each access level is first given to a role.
    access_spans: Vec<Span>,
    let_deps: Vec<Deps>,
    /// Fields and lets whose declaration failed: uses stay silent, since
    /// the declaration's own diagnostic says what is wrong.
    poisoned: HashSet<String>,
    /// Names that `unknown` diagnostics were reported for, by namespace, so
    /// an unused declaration close to one can point at the likely typo.
    unknown: Vec<(String, String, Span)>,
    /// Indices into `unknown` by namespace, filled when the lints start.
    unknown_groups: HashMap<String, Vec<usize>>,
    /// Where each rule code was first defined.
    rule_codes: HashMap<(RuleKind, std::sync::Arc<str>), Span>,
    /// Where each enum value is declared.
    enum_value_spans: HashMap<(usize, usize), Span>,
    /// Each enum's values by name.
    enum_value_index: Vec<HashMap<String, usize>>,
    /// What every role is permitted, as ranges of actions; the table in
    /// `out.permitted` is filled from it at the end.
    permits: Vec<permit::ActionRanges>,
    /// Whether the roles × actions and blocks × actions tables fit
    /// [`MAX_TABLE_CELLS`]; when not, they are not built.
    tables_fit: bool,
    /// Shared by every suggestion of this check.
    suggest_budget: SuggestBudget,
    /// The sorted names of a namespace, for suggestions and help, built on
    /// first use and dropped whenever the namespace gains a name.
    known_names: HashMap<&'static str, Rc<[String]>>,
    /// Declared field paths, for clashes and the similar-names lint.
    paths: paths::FieldTree,
    /// What one decision can evaluate, summed as expressions are typed.
    work: cost::Work,
    /// Where each credit kind's lifetime was declared.
    lifetime_spans: HashMap<usize, Span>,
    /// Steps offered by the rules of a ledger operation, and where: their
    /// messages must not read `role` or `action`, which operations lack.
    operation_steps: Vec<(usize, Span, ir::Operation)>,
}

/// Words for a namespace, as messages use them.
const ROLE: &str = "role";
const ACCESS: &str = "access level";
const ACTION: &str = "action or category";
const CREDIT: &str = "credit kind";
const DEBT: &str = "debt kind";
const STEP: &str = "step";
const STATE: &str = "state";
const FIELD: &str = "field";
const NAME: &str = "name";
const TYPE: &str = "type";

impl<'s> Checker<'s> {
    fn new(source: &'s Source) -> Checker<'s> {
        Checker {
            source,
            diags: Vec::new(),
            omitted_errors: 0,
            omitted_warnings: 0,
            names: Names::default(),
            used: Used::default(),
            out: Checked {
                source: source.clone(),
                name: String::new(),
                docs: Vec::new(),
                roles: Vec::new(),
                access_levels: Vec::new(),
                categories: Vec::new(),
                actions: Vec::new(),
                permitted: Vec::new(),
                credit_kinds: Vec::new(),
                debt_kinds: Vec::new(),
                enums: Vec::new(),
                fields: Vec::new(),
                grant_attrs: Vec::new(),
                lifetimes: Vec::new(),
                locks: Vec::new(),
                spend: Spend::default(),
                settle: Settle::default(),
                lets: Vec::new(),
                steps: Vec::new(),
                states: Vec::new(),
                blocks: Vec::new(),
                charge_shortfall: Vec::new(),
                refund_shortfall: Vec::new(),
                assertions: Vec::new(),
            },
            let_spans: Vec::new(),
            access_spans: Vec::new(),
            let_deps: Vec::new(),
            poisoned: HashSet::new(),
            unknown: Vec::new(),
            unknown_groups: HashMap::new(),
            rule_codes: HashMap::new(),
            enum_value_spans: HashMap::new(),
            enum_value_index: Vec::new(),
            permits: Vec::new(),
            tables_fit: true,
            suggest_budget: SuggestBudget::new(CHECK_SUGGEST_WORK),
            known_names: HashMap::new(),
            paths: paths::FieldTree::default(),
            work: cost::Work::default(),
            lifetime_spans: HashMap::new(),
            operation_steps: Vec::new(),
        }
    }

    /// Keeps `diagnostic`, or counts it once [`MAX_CHECK_DIAGNOSTICS`] are
    /// kept.
    fn report(&mut self, diagnostic: Diagnostic) {
        if !self.full(diagnostic.code) {
            self.diags.push(diagnostic);
        }
    }

    /// Records a name reported as unknown, for the typo hints of unused
    /// declarations: at most as many as diagnostics are kept.
    fn note_unknown(&mut self, namespace: String, name: String, span: Span) {
        if self.unknown.len() < MAX_CHECK_DIAGNOSTICS {
            self.unknown.push((namespace, name, span));
        }
    }

    /// Keeps each of `found`, as [`Checker::report`] does.
    fn report_all(&mut self, found: Vec<Diagnostic>) {
        for d in found {
            self.report(d);
        }
    }

    /// Whether the diagnostics are full; if so, one of `code` is counted
    /// as omitted. Where a slip can repeat without bound, callers ask
    /// before building the diagnostic.
    fn full(&mut self, code: Code) -> bool {
        if self.diags.len() < MAX_CHECK_DIAGNOSTICS {
            return false;
        }
        if code.severity() == crate::diagnostic::Severity::Error {
            self.omitted_errors += 1;
        } else {
            self.omitted_warnings += 1;
        }
        true
    }

    /// The known name closest to `wrong`, from this check's shared budget.
    fn suggest<'a>(
        &self,
        wrong: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Option<&'a str> {
        suggest_within(&self.suggest_budget, wrong, known)
    }

    /// Whether suggestions may still be looked for: callers skip gathering
    /// candidates when not.
    fn can_suggest(&self) -> bool {
        !self.suggest_budget.is_spent()
    }

    fn run(&mut self, policy: &mut ast::Policy) {
        // Declarations first, so that uses can come in any order.
        for item in &policy.items {
            self.declare(item);
        }
        for item in &policy.items {
            self.declare_dependent(item);
        }
        self.limits(policy);
        self.permits = vec![permit::ActionRanges::default(); self.out.roles.len()];
        for item in &policy.items {
            if let ItemKind::Permit { role, to, except } = &item.kind {
                self.permit(role, to, except);
            }
        }
        if self.tables_fit {
            let actions = self.out.actions.len();
            self.out.permitted = self.permits.iter().map(|p| p.to_table(actions)).collect();
        }
        self.lets(policy);
        // No pass after this one reads a block's rules: they go as soon as
        // they are checked, and the checked rules reuse their memory.
        for item in &mut policy.items {
            match &mut item.kind {
                ItemKind::On(block) => {
                    self.on_block(block, item.span);
                    drop(std::mem::take(&mut block.rules));
                }
                _ => self.item(item),
            }
        }
        self.states(policy);
        self.shortfalls(policy);
        // After every state and rule: claims name them.
        self.assertions(policy);
        self.operation_step_messages();
        self.report_work();
        self.finish(policy);
    }

    fn item(&mut self, item: &ast::Item) {
        match &item.kind {
            ItemKind::Lock(lock) => self.lock(lock, item),
            ItemKind::Spend { kinds, order } => self.spend(kinds, order, item.span),
            ItemKind::Settle(settle) => self.settle(settle, item.span),
            ItemKind::Step { name, message } => self.step(name, message.as_ref()),
            ItemKind::Expire { kinds, after } => self.expire(kinds, after),
            _ => {}
        }
    }
}

fn span_of<T>(items: &[T], i: usize, f: impl Fn(&T) -> Span) -> Span {
    items.get(i).map(f).unwrap_or_default()
}

#[cfg(test)]
mod tests;
