//! Every diagnostic the checker reports, built in one place: checking code
//! says *what* went wrong, these functions say *how* it reads.

use crate::ast::{self, RuleKind};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// Most names a diagnostic lists ("the known names are ..."); the rest are
/// counted ("and 12 more"), so that one diagnostic stays a line, not a
/// page, however many names a policy declares.
pub const MAX_LISTED_NAMES: usize = 10;

/// `a`, `a or b`, `a, b or c`, in backticks; past [`MAX_LISTED_NAMES`],
/// `a, b, ... and N more`.
pub(super) fn list_words(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .take(MAX_LISTED_NAMES)
        .map(|s| format!("`{s}`"))
        .collect();
    let more = items.len().saturating_sub(MAX_LISTED_NAMES);
    match quoted.as_slice() {
        [] => "none".to_owned(),
        [one] if more == 0 => one.clone(),
        [init @ .., last] if more == 0 => format!("{} or {last}", init.join(", ")),
        all => format!("{} and {more} more", all.join(", ")),
    }
}

// ───────────── Declarations ─────────────

pub(super) fn defined_twice(what: &str, name: &ast::Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        name.span,
        format!("{what} `{}` is defined twice", name.name),
    )
    .label("defined again here")
    .related(first, "first defined here")
    .help(format!("remove one of them, or rename this {what}"))
}

pub(super) fn second_policy_name(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(Code::Duplicate, name.span, "a second `policy` name")
        .label("second name")
        .help("a file holds one policy; remove this line")
}

pub(super) fn enum_named_like_a_type(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ReservedName,
        name.span,
        format!("`{}` is a built-in type", name.name),
    )
    .label("built-in type")
    .help("give the enum another name")
}

pub(super) fn enum_value_twice(
    value: &ast::Ident,
    enum_name: &ast::Ident,
    first: Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        value.span,
        format!(
            "value `{}` is listed twice in `{}`",
            value.name, enum_name.name
        ),
    )
    .label("listed again")
    .related(first, "first listed here")
    .help("remove one of them")
}

pub(super) fn action_twice_in_category(
    action: &ast::Ident,
    category: &ast::Ident,
    first: Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        action.span,
        format!(
            "action `{}` is listed twice in `{}`",
            action.name, category.name
        ),
    )
    .label("listed again")
    .related(first, "first listed here")
    .help("remove one of them")
}

pub(super) fn action_in_two_categories(
    action: &ast::Ident,
    other: &str,
    category: &ast::Ident,
    first: Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::ActionInTwoCategories,
        action.span,
        format!(
            "action `{}` is in two categories, `{other}` and `{}`",
            action.name, category.name
        ),
    )
    .label(format!("also in `{other}`"))
    .related(first, format!("listed in `{other}` here"))
    .help("an action belongs to exactly one category; remove it from one of them")
}

/// `label` says which of the two `name` was declared as second.
pub(super) fn category_and_action(name: &ast::Ident, label: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        name.span,
        format!("`{}` names both a category and an action", name.name),
    )
    .label(label)
    .help("rename the action or the category: `on` and `permit` could not tell them apart")
}

pub(super) fn let_name_taken(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ReservedName,
        name.span,
        format!(
            "`{}` already names a built-in quantity or a field",
            name.name
        ),
    )
    .label("name taken")
    .help("choose another name for this `let`")
}

pub(super) fn reserved_field_root(root: &ast::Ident) -> Diagnostic {
    let (message, help) = if ["before", "charge", "grant", "refund"].contains(&&*root.name) {
        (
            format!(
                "`{}.` names what a ledger operation's rules read",
                root.name
            ),
            "`before.`, `charge.`, `grant.` and `refund.` are read in `on charge`, `on grant` and the like; put the field under a name of yours",
        )
    } else {
        (
            format!(
                "`{}` is part of the snapshot that tollgate itself reads",
                root.name
            ),
            "the engine knows `now`, `account`, `grants` and `debts`; other fields live under a name of yours",
        )
    };
    Diagnostic::new(Code::ReservedName, root.span, message)
        .label("reserved")
        .help(format!("{help}, such as `settings.{}`", root.name))
}

pub(super) fn reserved_debt_kind(kind: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ReservedName,
        kind.span,
        format!("`{}` cannot be a debt kind", kind.name),
    )
    .label("reserved")
    .help(format!(
        "`shortfall of charge is {}` means no debt at all; name the debt kind otherwise, such as `{}_debt`",
        kind.name, kind.name
    ))
}

pub(super) fn overlapping_fields(
    span: Span,
    dotted: &str,
    other_span: Span,
    other_path: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        span,
        format!("field `{dotted}` overlaps field `{other_path}`"),
    )
    .label("overlaps")
    .related(other_span, "the other field")
    .help("a path is either a value or a group of fields, not both")
}

pub(super) fn unknown_type(ty: &ast::Ident, guess: Option<&str>) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        ty.span,
        format!("unknown type `{}`", ty.name),
    )
    .label("not a type");
    match guess {
        Some(s) => d.did_you_mean(s),
        None => d.help(
            "a field is `decimal`, `bool`, `time`, `duration`, `text`, or an enum declared with `enum`",
        ),
    }
}

pub(super) fn default_of_wrong_type(span: Span, got: String, want: &str) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        span,
        format!("the default is {got}, but the field holds {want}"),
    )
    .label(got)
    .help(format!("give a default that is {want}"))
}

pub(super) fn default_not_constant(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        span,
        "a field's default must be a constant",
    )
    .label("not a constant")
    .help("write a literal value such as `0`, `false` or an enum value")
}

// ───────────── Names ─────────────

/// A name nothing in its namespace declares. `listed` holds the first known
/// names in order (at most one more than are shown), `known` how many there
/// are.
pub(super) fn unknown_name(
    what: &str,
    name: &ast::Ident,
    guess: Option<&str>,
    listed: &[&str],
    known: usize,
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        name.span,
        format!("unknown {what} `{}`", name.name),
    )
    .label(format!("no {what} has this name"));
    match guess {
        Some(s) => d.did_you_mean(s),
        None if known == 0 => d.help(format!("no {what} is declared yet")),
        None => d.help(format!(
            "the known names are {}",
            list_some_words(listed, known)
        )),
    }
}

/// An assertion's `deny CODE` (or `warn`, `effect`) that no rule gives:
/// the fact never holds.
pub(super) fn fact_never_holds(
    kind: &str,
    code: &ast::Ident,
    guess: Option<&str>,
    listed: &[&str],
    known: usize,
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::ConstantCondition,
        code.span,
        format!("no `{kind}` rule has the code `{}`", code.name),
    )
    .label("this fact never holds");
    match guess {
        Some(s) => d.did_you_mean(s),
        None if known == 0 => d.help(format!("the policy has no `{kind}` rule")),
        None => d.help(format!("the codes are {}", list_some_words(listed, known))),
    }
}

/// [`list_words`] when only the first names are at hand: `total` says how
/// many there are in all.
pub(super) fn list_some_words(first: &[&str], total: usize) -> String {
    let shown = first
        .get(..MAX_LISTED_NAMES.min(first.len()))
        .unwrap_or(first);
    if total <= shown.len() {
        return list_words(shown);
    }
    let quoted: Vec<String> = shown.iter().map(|s| format!("`{s}`")).collect();
    format!("{} and {} more", quoted.join(", "), total - shown.len())
}

// ───────────── Limits ─────────────

pub(super) fn too_many(span: Span, what: &str, n: usize, max: usize) -> Diagnostic {
    Diagnostic::new(
        Code::TooMany,
        span,
        format!("the policy declares {n} {what}, more than the limit of {max}"),
    )
    .label("past the limit")
    .help(format!(
        "a policy holds at most {max} {what}; merge some, or split the policy"
    ))
}

pub(super) fn table_too_large(span: Span, what: &str, n: usize, actions: usize) -> Diagnostic {
    let max = super::MAX_TABLE_CELLS;
    Diagnostic::new(
        Code::TooMany,
        span,
        format!("{n} {what} × {actions} actions make a table larger than the limit of {max} cells"),
    )
    .label("past the limit")
    .help("group actions into fewer, broader actions, or split the policy")
}

// ───────────── Ledger orders ─────────────

pub(super) fn lock_reads_balance(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        span,
        "a lock condition cannot read the balance it decides",
    )
    .label("reads `usable`, `locked`, `expired`, `settleable` or a grant's `status`")
    .help("base the lock on snapshot fields such as `subscription.status`")
}

pub(super) fn lock_without_message(span: Span) -> Diagnostic {
    Diagnostic::new(Code::MissingMessage, span, "this lock has no message")
        .label("no `message`")
        .help("add `{ message \"...\" }` saying why the credits are locked")
}

pub(super) fn unknown_operation(operation: &ast::Ident, guess: Option<&str>) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        operation.span,
        format!("unknown ledger operation `{}`", operation.name),
    )
    .label("not an operation");
    match guess {
        Some(s) => d.did_you_mean(s),
        None => d.help(
            "a shortfall is declared for `charge` (work that overran the balance) or `refund` (refunded credits already used)",
        ),
    }
}

pub(super) fn shortfall_unreachable(operation: &ast::Ident, always: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unreachable,
        operation.span,
        format!("this `shortfall of {}` line is never used", operation.name),
    )
    .label("never reached")
    .related(always, "this line always applies")
    .help("the first line that holds decides: put conditional lines before the one that always applies")
}

pub(super) fn shortfall_not_exhaustive(operation: &str, last: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ShortfallNotExhaustive,
        last,
        format!("no `shortfall of {operation}` line applies when none of the conditions hold"),
    )
    .label("the last line has a condition")
    .help(format!(
        "end with a line that always applies, such as `shortfall of {operation} is <debt kind> otherwise`"
    ))
}

pub(super) fn attr_default_out_of_range(span: Span, name: &str, why: &str) -> Diagnostic {
    Diagnostic::new(
        Code::ValueOutOfRange,
        span,
        format!("the default of grant attribute `{name}` is not a value a snapshot can hold: {why}"),
    )
    .label("out of range")
    .help("ledger output writes the default into every grant that leaves the attribute out; choose a default a snapshot could give")
}

pub(super) fn lifetime_not_positive(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ValueOutOfRange,
        span,
        "a lifetime must be longer than zero",
    )
    .label("not a positive duration")
    .help("write how long new credits last, such as `90d` or `1y`")
}

pub(super) fn lifetime_twice(kind: &ast::Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        kind.span,
        format!("credit kind `{}` is given a lifetime twice", kind.name),
    )
    .label("second lifetime")
    .related(first, "first lifetime")
    .help("keep one `expire ... after ...` line per credit kind")
}

pub(super) fn keyword_grant_attr(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ReservedName,
        name.span,
        format!("`{}` is a keyword and cannot name a grant attribute", name.name),
    )
    .label("keyword")
    .help(format!(
        "a grant attribute is read by its name in `where` filters and spend orders; choose another name, such as `{}_`",
        name.name
    ))
}

pub(super) fn reserved_grant_attr(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ReservedName,
        name.span,
        format!("every grant already has `{}`", name.name),
    )
    .label("built-in grant field")
    .help("grants have `id`, `kind`, `amount`, `remaining`, `granted_at`, `expires_at` and `status`; choose another name for the attribute")
}

pub(super) fn operation_named_like_action(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ReservedName,
        name.span,
        format!("`{}` is both a ledger operation and an action or category", name.name),
    )
    .label("ambiguous")
    .help(format!(
        "`on {}` governs the ledger operation; rename the action or category (`charge`, `settle`, `grant` and `refund` name operations in `on`)",
        name.name
    ))
}

/// Something written where it does not apply.
pub(super) fn out_of_place(span: Span, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::OutOfPlace, span, message)
        .label("not here")
        .help(help.to_owned())
}

/// A second `spend` or `settle` order (`which`).
pub(super) fn second_order(which: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(Code::Duplicate, span, format!("a second `{which}` order"))
        .label("second order")
        .related(first, "first order")
        .help(format!("a policy has one {which} order; merge them"))
}

pub(super) fn sources_twice(kind: &ast::Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        kind.span,
        format!("sources for `{}` are given twice", kind.name),
    )
    .label("again")
    .related(first, "first given here")
    .help("list every source on one line: `from usable, locked`")
}

pub(super) fn sources_outside_order(kind: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::MissingDeclaration,
        kind.span,
        format!(
            "`{}` has sources but no place in the settle order",
            kind.name
        ),
    )
    .label("not in the order")
    .help(format!("add `{}` to the kinds after `settle`", kind.name))
}

pub(super) fn unknown_source(from: &ast::Ident, guess: Option<&str>) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        from.span,
        format!("unknown settlement source `{}`", from.name),
    )
    .label("not a source");
    match guess {
        Some(s) => d.did_you_mean(s),
        None => d.help("debts are paid `from usable` credits, `locked` credits, or both in order"),
    }
}

pub(super) fn source_twice(from: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        from.span,
        format!("`{}` is listed twice", from.name),
    )
    .label("listed again")
    .help("remove one of them")
}

pub(super) fn kind_twice_in_order(what: &str, kind: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        kind.span,
        format!("{what} `{}` is listed twice", kind.name),
    )
    .label("listed again")
    .help("each kind has one place in the order")
}

pub(super) fn unknown_sort_key(
    field: &ast::Ident,
    guess: Option<&str>,
    keys: &[&str],
) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        field.span,
        format!("cannot order by `{}`", field.name),
    )
    .label("not a sort key");
    match guess {
        Some(s) => d.did_you_mean(s),
        None => d.help(format!("order by {}", list_words(keys))),
    }
}

pub(super) fn sort_key_twice(field: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        field.span,
        format!("`{}` is already a sort key", field.name),
    )
    .label("listed again")
    .help("a later key only breaks ties of earlier ones; remove this one")
}

// ───────────── Steps, states and rules ─────────────

pub(super) fn step_without_message(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::MissingMessage,
        name.span,
        format!("step `{}` has no message", name.name),
    )
    .label("no message")
    .help(format!("say what to do: `step {} \"...\"`", name.name))
}

pub(super) fn unreachable_state(name: &ast::Ident, catch_all: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unreachable,
        name.span,
        format!("state `{}` can never be reached", name.name),
    )
    .label("unreachable")
    .related(catch_all, "every account stops at this state")
    .help("states are tried in order and the first that holds wins; move this state above the catch-all")
}

pub(super) fn no_states() -> Diagnostic {
    Diagnostic::new(
        Code::MissingDeclaration,
        Span::point(0),
        "the policy declares no balance states",
    )
    .label("no `state`")
    .help("declare states in order, ending with a catch-all: `state ok otherwise`")
}

pub(super) fn states_not_exhaustive(last: Span) -> Diagnostic {
    Diagnostic::new(
        Code::StatesNotExhaustive,
        last,
        "the states do not cover every account",
    )
    .label("the last state has a condition")
    .help("end with a state that always matches, such as `state ok otherwise`")
}

pub(super) fn rule_twice(kind: RuleKind, code: &ast::Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        code.span,
        format!("{} rule `{}` is defined twice", kind.keyword(), code.name),
    )
    .label("defined again")
    .related(first, "first defined here")
    .help("a code names one rule; to apply a rule to more actions, list them after `on`")
}

pub(super) fn forbidden_warning(code: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::Unreachable,
        code.span,
        "a warning in `on forbidden` is never shown",
    )
    .label("never shown")
    .help("warnings accompany an allowed request, and forbidden requests are always denied; write `warn ... even if denied` to show it with a denial")
}

pub(super) fn rule_without_message(kind: RuleKind, code: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::MissingMessage,
        code.span,
        format!("{} rule `{}` has no message", kind.keyword(), code.name),
    )
    .label("no message")
    .help("add `{ message \"...\" }`: it is what the person sees")
}

pub(super) fn steps_not_on_deny(kind: RuleKind, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unreachable,
        span,
        format!("next steps on a `{}` rule are never shown", kind.keyword()),
    )
    .label("never shown")
    .help("next steps come with a denial; move them to a `deny` rule")
}

pub(super) fn steps_after_everyone(span: Span, everyone: Span) -> Diagnostic {
    Diagnostic::new(Code::Unreachable, span, "these steps are never used")
        .label("unreachable")
        .related(everyone, "this clause already covers every role")
        .help("the first `steps` clause that fits the role applies; move this one up")
}

pub(super) fn second_access_steps(span: Span, access: &ast::Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unreachable,
        span,
        format!("a second `steps for {} access`", access.name),
    )
    .label("never used")
    .related(first, "this clause comes first")
    .help("merge the two clauses")
}

pub(super) fn unknown_access_level(name: &ast::Ident, guess: Option<&str>) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownName,
        name.span,
        format!("unknown access level `{}`", name.name),
    )
    .label("no role has this access");
    match guess {
        Some(s) => d.did_you_mean(s),
        None => d.help("access levels come from roles: `role owner with billing access`"),
    }
}

pub(super) fn reserved_parameter(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ReservedName,
        name.span,
        format!("`{}` is reserved in an effect", name.name),
    )
    .label("reserved")
    .help("effects already report `code`, `rule`, `source` and `message`; choose another name")
}

pub(super) fn parameter_twice(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        name.span,
        format!("parameter `{}` is given twice", name.name),
    )
    .label("again")
    .help("remove one of them")
}

// ───────────── Permissions ─────────────

pub(super) fn useless_exception(name: &ast::Ident) -> Diagnostic {
    Diagnostic::new(
        Code::UselessException,
        name.span,
        format!(
            "`{}` is not granted by this permit, so excepting it changes nothing",
            name.name
        ),
    )
    .label("never granted here")
    .help("remove it from `except`")
}

// ───────────── Lints ─────────────

pub(super) fn no_policy_name() -> Diagnostic {
    Diagnostic::new(
        Code::MissingDeclaration,
        Span::point(0),
        "the policy has no name",
    )
    .label("no `policy` line")
    .help("start the file with `policy <name>`, for example `policy ampere`")
}

pub(super) fn role_without_permissions(role: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::RoleWithoutPermissions,
        span,
        format!("role `{role}` may not take any action"),
    )
    .label("no `permit` for this role")
    .help(format!(
        "add `permit {role} to <categories>`, or remove the role"
    ))
}

pub(super) fn unused_credit_kind(kind: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnusedCreditKind,
        span,
        format!("credit kind `{kind}` is never spent"),
    )
    .label("no `spend` order draws it and no rule mentions it")
    .help(format!("add `{kind}` to the `spend` order, or remove it"))
}

pub(super) fn unsettleable_debt(kind: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnsettleableDebt,
        span,
        format!("debt kind `{kind}` can never be settled"),
    )
    .label("no settlement source")
    .help(format!(
        "add `{kind}` to the `settle` order with `{kind} from usable`"
    ))
}

pub(super) fn locked_source_not_allowed(kind: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::LockedSourceNotAllowed,
        span,
        format!("`{kind}` is settled from locked credits, but no lock allows it"),
    )
    .label("locked credits may not settle this")
    .help(format!(
        "add `may settle {kind}` to the lock, or remove `locked` from the sources"
    ))
}

pub(super) fn unused_lock_release(kind: &str, lock: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unused,
        lock,
        format!("the lock lets locked credits settle `{kind}`, but `settle` never takes them"),
    )
    .label("never used")
    .help(format!(
        "add `locked` to the sources of `{kind}`: `{kind} from usable, locked`"
    ))
}

pub(super) fn unused_let(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(Code::Unused, span, format!("`{name}` is never used"))
        .label("never read")
        .help("remove it, or use it in a state, rule or message")
}

pub(super) fn unused_access_level(name: &str, span: Span, guess: Option<&str>) -> Diagnostic {
    let d = Diagnostic::new(
        Code::Unused,
        span,
        format!("access level `{name}` is never used"),
    )
    .label("no `steps for` names it");
    match guess {
        Some(s) => d.did_you_mean(s),
        None => d.help(format!(
            "give its roles next steps with `steps for {name} access {{ ... }}`, or remove it"
        )),
    }
}

pub(super) fn unused_step(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unused,
        span,
        format!("step `{name}` is never offered"),
    )
    .label("no rule names it")
    .help("name it in a rule's `steps`, or remove it")
}

pub(super) fn unused_enum(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(Code::Unused, span, format!("enum `{name}` is never used"))
        .label("no field has this type")
        .help("give a field this type, or remove it")
}

pub(super) fn unused_enum_value(value: &str, enum_name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unused,
        span,
        format!("value `{value}` of `{enum_name}` is never used"),
    )
    .label("never used")
}

pub(super) fn unused_action(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unused,
        span,
        format!("action `{name}` is never named"),
    )
    .label("never named")
}

pub(super) fn unused_field(dotted: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unused,
        span,
        format!("field `{dotted}` is never read"),
    )
    .label("never read")
}

/// Adds to an unused declaration's diagnostic the unknown name `name`
/// (at `span`, on `line`) that looks like its misspelling.
pub(super) fn misspelt_twin(
    d: Diagnostic,
    name: &str,
    span: Span,
    line: u32,
    declared: &str,
) -> Diagnostic {
    d.related(span, format!("`{name}` is used here but never declared"))
        .help(format!(
            "`{name}` (line {line}) looks like a misspelling of `{declared}`: did you mean `{name}` here, or `{declared}` there?"
        ))
}

pub(super) fn similar_names(
    mine: &ast::Ident,
    theirs: &str,
    other_span: Span,
    other_path: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::SimilarNames,
        mine.span,
        format!("`{}` is one letter away from `{theirs}`", mine.name),
    )
    .label("probably a typo")
    .related(other_span, format!("`{other_path}` is declared here"))
    .help(format!(
        "did you mean `{theirs}`? If both names are intended, make them differ by more than a letter"
    ))
}

// ───────────── Expressions ─────────────

/// `d`, about an operand of `left` or about the default of `left ?? …`,
/// with help for the likely slip: `??` binds looser than arithmetic, so
/// `now - since ?? now` defaults `now - since`. `meant` is `left` with the
/// default moved onto `operand`. The texts are expressions as `fmt` writes
/// them.
pub(super) fn default_binds_loosely(
    d: Diagnostic,
    default: &str,
    left: &str,
    operand: &str,
    meant: &str,
) -> Diagnostic {
    d.help(format!(
        "`??` binds looser than `+`, `-` and `*`, so `{default}` is the default of `{left}`, not of `{operand}`; write `{meant}`"
    ))
}

// ───────────── Evaluation work ─────────────

const AGGREGATE_HELP: &str = "each `sum` or `count`, and each read of a `let` that holds one, walks every grant or debt again and evaluates its `where` filter on each; use fewer aggregates, or read aggregate `let`s in fewer places";

/// "1 aggregate", "2 aggregates".
fn aggregates(n: usize) -> String {
    if n == 1 {
        "1 aggregate".to_owned()
    } else {
        format!("{n} aggregates")
    }
}

/// An expression nesting past [`super::expr::MAX_EVAL_DEPTH`] through the
/// `let`s it reads.
pub(super) fn deep_through_lets(span: Span, what: &str, depth: usize) -> Diagnostic {
    let max = super::expr::MAX_EVAL_DEPTH;
    Diagnostic::new(
        Code::TooDeep,
        span,
        format!("`{what}` nests {depth} levels deep counting the `let`s it reads; the limit is {max}"),
    )
    .label("too deep from here")
    .help("a `let` that reads a `let` that reads a `let`... nests like one long expression; read fewer levels of `let`s, or write the value more directly")
}

/// An expression evaluating more than [`super::cost::MAX_EVAL_NODES`] nodes.
pub(super) fn expression_too_large(span: Span, what: &str, nodes: usize) -> Diagnostic {
    let max = super::cost::MAX_EVAL_NODES;
    Diagnostic::new(
        Code::TooExpensive,
        span,
        format!("`{what}` evaluates {nodes} nodes counting each `let` it reads in full; the limit is {max}"),
    )
    .label("too large from here")
    .help("a `let` is evaluated again at every read, so a `let` that reads another twice is twice its size; read large `let`s in fewer places, or write the value more directly")
}

/// An expression whose aggregates evaluate more than
/// [`super::cost::MAX_AGGREGATE_WORK`] nodes per grant or debt.
pub(super) fn expression_aggregates_too_much(
    span: Span,
    what: &str,
    item_nodes: usize,
    walks: usize,
) -> Diagnostic {
    let max = super::cost::MAX_AGGREGATE_WORK;
    Diagnostic::new(
        Code::TooExpensive,
        span,
        format!(
            "`{what}` evaluates {item_nodes} nodes for each grant or debt ({}, counting the `let`s it reads); the limit is {max}",
            aggregates(walks)
        ),
    )
    .label("too many aggregates from here")
    .help(AGGREGATE_HELP)
}

/// A policy whose one decision can evaluate more than
/// [`super::cost::MAX_DECISION_NODES`] nodes.
pub(super) fn decision_too_large(span: Span, nodes: usize) -> Diagnostic {
    let max = super::cost::MAX_DECISION_NODES;
    Diagnostic::new(
        Code::TooExpensive,
        span,
        format!("one decision can evaluate {nodes} nodes, counting each `let` read in full; the limit is {max}"),
    )
    .label("the limit is passed here")
    .help("the conditions of locks, states, rules and steps, effect parameters and message values all count, and a `let` at each read; read large `let`s in fewer places, or split the policy")
}

/// A policy whose one decision's aggregates evaluate more than
/// [`super::cost::MAX_AGGREGATE_WORK`] nodes per grant or debt.
pub(super) fn decision_aggregates_too_much(
    span: Span,
    item_nodes: usize,
    walks: usize,
) -> Diagnostic {
    let max = super::cost::MAX_AGGREGATE_WORK;
    Diagnostic::new(
        Code::TooExpensive,
        span,
        format!(
            "one decision can evaluate {item_nodes} nodes for each grant or debt ({}, counting each `let` read); the limit is {max}",
            aggregates(walks)
        ),
    )
    .label("the limit is passed here")
    .help(AGGREGATE_HELP)
}
