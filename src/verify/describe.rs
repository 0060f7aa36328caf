//! Compiled expressions written back as policy text, for describing the
//! accounts a difference affects (`usable > 0 and subscription.status ==
//! past_due`).

use crate::compile::{Const, Node, NodeId, NumOperand, Program, Total};
use crate::decide::eval::{ReadKey, format_duration, format_months, read_name};
use crate::lang::{AggregateOp, Base, BinaryOp, Builtin, Collection, EnumRef, ItemField};

/// Deepest expression written out in full; deeper parts are `…`. Atoms are
/// comparisons, a few levels deep.
const MAX_DEPTH: usize = 24;

/// The policy text of node `id`; with `inline`, each `let` is written as
/// its expression (two policies may define one name differently).
pub fn node(p: &Program, id: NodeId, inline: bool) -> String {
    write(
        p,
        id,
        None,
        0,
        Mode {
            inline,
            debts: false,
        },
    )
}

/// How to write: `let`s written out or by name, and whether a `where`
/// filter being written looks at debts (its `kind` is a debt kind).
#[derive(Clone, Copy)]
struct Mode {
    inline: bool,
    debts: bool,
}

/// The negation of an atom's text, as a reader would write it.
pub fn negated(p: &Program, id: NodeId, inline: bool) -> String {
    let mode = Mode {
        inline,
        debts: false,
    };
    let flip = |op: BinaryOp| match op {
        BinaryOp::Eq => Some(BinaryOp::Ne),
        BinaryOp::Ne => Some(BinaryOp::Eq),
        BinaryOp::Lt => Some(BinaryOp::Ge),
        BinaryOp::Le => Some(BinaryOp::Gt),
        BinaryOp::Gt => Some(BinaryOp::Le),
        BinaryOp::Ge => Some(BinaryOp::Lt),
        _ => None,
    };
    match p.node(id) {
        Some(Node::CmpTotal { op, total, micros }) => {
            if let Some(op) = flip(*op) {
                return format!(
                    "{} {} {}",
                    total_name(p, *total),
                    op.symbol(),
                    micros_text(*micros)
                );
            }
        }
        Some(Node::CmpNum { op, a, b }) => {
            if let Some(op) = flip(*op) {
                return format!(
                    "{} {} {}",
                    num(p, *a, 0, mode),
                    op.symbol(),
                    num(p, *b, 0, mode)
                );
            }
        }
        Some(Node::Binary(op, a, b)) => {
            if let Some(op) = flip(*op) {
                return format!(
                    "{} {} {}",
                    write(p, *a, None, 1, mode),
                    op.symbol(),
                    write(p, *b, None, 1, mode)
                );
            }
        }
        Some(Node::EnumTest {
            slot,
            default: _,
            mask,
        }) => {
            if let Some(f) = p.field(*slot) {
                if let Base::Enum(EnumRef::User(e)) = f.ty {
                    if let Some(e) = p.enums.get(e.index()) {
                        let values: Vec<&str> = e
                            .values
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i >= 64 || mask & (1u64 << i) == 0)
                            .map(|(_, v)| v.as_str())
                            .collect();
                        return enum_set(&f.dotted(), &values);
                    }
                }
            }
        }
        Some(Node::In {
            value,
            items,
            negated,
        }) => return in_list(p, (*value, *items, !*negated), 0, mode),
        Some(Node::Field { .. } | Node::Let { .. }) if !inline => {
            return format!("not {}", node(p, id, inline));
        }
        _ => {}
    }
    format!("not ({})", node(p, id, inline))
}

fn enum_set(name: &str, values: &[&str]) -> String {
    match values {
        [one] => format!("{name} == {one}"),
        _ => format!("{name} in [{}]", values.join(", ")),
    }
}

fn total_name(p: &Program, t: Total) -> String {
    read_name(p, ReadKey::Builtin(t.builtin())).unwrap_or_else(|_| "?".to_owned())
}

fn micros_text(m: i64) -> String {
    rust_decimal::Decimal::try_from_i128_with_scale(i128::from(m), 6)
        .map(crate::amount::format)
        .unwrap_or_else(|_| m.to_string())
}

fn enum_hint(p: &Program, id: NodeId, debts: bool) -> Option<EnumRef> {
    match p.node(id)? {
        Node::Item(ItemField::Status) => Some(EnumRef::GrantStatus),
        Node::Item(ItemField::Kind) if debts => Some(EnumRef::DebtKind),
        Node::Item(ItemField::Kind) => Some(EnumRef::CreditKind),
        Node::Field { slot, .. } => match p.field(*slot)?.ty {
            Base::Enum(e) => Some(e),
            _ => None,
        },
        Node::Builtin(Builtin::Role) => Some(EnumRef::Role),
        Node::Builtin(Builtin::Action) => Some(EnumRef::Action),
        Node::Let { root, .. } => enum_hint(p, *root, debts),
        Node::Default(a, _) => enum_hint(p, *a, debts),
        _ => None,
    }
}

/// `value in [items]`, or `not in` when `negated`.
fn in_list(
    p: &Program,
    (value, items, negated): (NodeId, crate::compile::ListRange, bool),
    depth: usize,
    mode: Mode,
) -> String {
    let hint = enum_hint(p, value, mode.debts);
    let items: Vec<String> = p
        .list(items)
        .unwrap_or(&[])
        .iter()
        .map(|&i| write(p, i, hint, depth + 1, mode))
        .collect();
    let not = if negated { "not " } else { "" };
    format!(
        "{} {not}in [{}]",
        write(p, value, None, depth + 1, mode),
        items.join(", ")
    )
}

fn item_name(p: &Program, f: ItemField) -> String {
    match f {
        ItemField::Id => "id".to_owned(),
        ItemField::Kind => "kind".to_owned(),
        ItemField::Amount => "amount".to_owned(),
        ItemField::Remaining => "remaining".to_owned(),
        ItemField::GrantedAt => "granted_at".to_owned(),
        ItemField::ExpiresAt => "expires_at".to_owned(),
        ItemField::CreatedAt => "created_at".to_owned(),
        ItemField::Status => "status".to_owned(),
        ItemField::Attr(i) => p
            .grant_attrs
            .get(i)
            .and_then(|a| a.path.first())
            .cloned()
            .unwrap_or_else(|| "…".to_owned()),
    }
}

fn enum_name(p: &Program, e: Option<EnumRef>, i: u32) -> String {
    let name = match e {
        Some(e) => p.enum_value(e, i).map(str::to_owned),
        None => None,
    };
    name.unwrap_or_else(|| format!("#{i}"))
}

fn num(p: &Program, o: NumOperand, depth: usize, inline: Mode) -> String {
    match o {
        NumOperand::Const(d) => crate::amount::format(d),
        NumOperand::Builtin(b) => read_name(p, ReadKey::Builtin(b)).unwrap_or_default(),
        NumOperand::Field { slot, .. } => read_name(p, ReadKey::Field(slot)).unwrap_or_default(),
        NumOperand::Node(id) => write(p, id, None, depth + 1, inline),
    }
}

fn write(p: &Program, id: NodeId, hint: Option<EnumRef>, depth: usize, inline: Mode) -> String {
    if depth > MAX_DEPTH {
        return "…".to_owned();
    }
    let Some(n) = p.node(id) else {
        return "?".to_owned();
    };
    let sub = |x: NodeId| write(p, x, None, depth + 1, inline);
    let paren = |x: NodeId| {
        let text = sub(x);
        match p.node(x) {
            Some(Node::And(..) | Node::Or(..)) => format!("({text})"),
            _ => text,
        }
    };
    match n {
        Node::Const(c) => match c {
            Const::Bool(b) => b.to_string(),
            Const::Decimal(d) => crate::amount::format(*d),
            Const::Time(t) => t.to_string(),
            Const::Duration(s) => format_duration(*s),
            Const::Months(m) => format_months(*m),
            Const::Text(s) => format!("{s:?}"),
            Const::Enum(i) => enum_name(p, hint, *i),
        },
        Node::Field { slot, .. } => read_name(p, ReadKey::Field(*slot)).unwrap_or_default(),
        Node::Let { root, .. } if inline.inline => match p.node(*root) {
            Some(
                Node::Field { .. } | Node::Builtin(_) | Node::Const(_) | Node::Aggregate { .. },
            ) => sub(*root),
            _ => format!("({})", sub(*root)),
        },
        Node::Let { index, .. } => read_name(p, ReadKey::Let(*index)).unwrap_or_default(),
        Node::Builtin(b) => read_name(p, ReadKey::Builtin(*b)).unwrap_or_default(),
        Node::Item(f) => item_name(p, *f),
        Node::OpGrant(_) | Node::Before(_) => "…".to_owned(),
        Node::Not(a) => format!("not {}", paren(*a)),
        Node::Neg(a) => format!("-{}", sub(*a)),
        Node::And(a, b) => format!("{} and {}", paren(*a), paren(*b)),
        Node::Or(a, b) => format!("{} or {}", sub(*a), sub(*b)),
        Node::Default(a, b) => format!("{} ?? {}", sub(*a), sub(*b)),
        Node::Binary(op, a, b) => {
            let hint = enum_hint(p, *a, inline.debts).or_else(|| enum_hint(p, *b, inline.debts));
            format!(
                "{} {} {}",
                write(p, *a, hint, depth + 1, inline),
                op.symbol(),
                write(p, *b, hint, depth + 1, inline)
            )
        }
        Node::In {
            value,
            items,
            negated,
        } => in_list(p, (*value, *items, *negated), depth, inline),
        Node::InCategory {
            value,
            category,
            negated,
        } => {
            let not = if *negated { "not " } else { "" };
            let cat = p
                .categories
                .get(category.index())
                .cloned()
                .unwrap_or_default();
            format!("{} {not}in {cat}", sub(*value))
        }
        Node::Aggregate { op, of, filter } => {
            let head = match op {
                AggregateOp::Count => format!("count of {}", of.keyword()),
                AggregateOp::Sum(f) => format!("sum {} of {}", item_name(p, *f), of.keyword()),
            };
            match filter {
                None => head,
                Some(f) => {
                    let mode = Mode {
                        debts: *of == Collection::Debts,
                        ..inline
                    };
                    format!("({head} where {})", write(p, *f, None, depth + 1, mode))
                }
            }
        }
        Node::CmpNum { op, a, b } => {
            format!(
                "{} {} {}",
                num(p, *a, depth, inline),
                op.symbol(),
                num(p, *b, depth, inline)
            )
        }
        Node::CmpTotal { op, total, micros } => {
            format!(
                "{} {} {}",
                total_name(p, *total),
                op.symbol(),
                micros_text(*micros)
            )
        }
        Node::EnumTest { slot, mask, .. } => {
            let Some(f) = p.field(*slot) else {
                return "?".to_owned();
            };
            let values: Vec<&str> = match f.ty {
                Base::Enum(EnumRef::User(e)) => p
                    .enums
                    .get(e.index())
                    .map(|e| {
                        e.values
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i < 64 && mask & (1u64 << i) != 0)
                            .map(|(_, v)| v.as_str())
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            enum_set(&f.dotted(), &values)
        }
    }
}
