//! Writing an account back out in the snapshot schema.

use serde_json::{Map, Value};

use super::{Account, FieldValue};
use crate::compile::Program;
use crate::lang::{Base, EnumId, EnumRef};

/// The account as a snapshot document: `now`, `account`, the policy's
/// fields (those the snapshot gave), `grants`, `debts`. Amounts are
/// canonical strings and times RFC 3339 in UTC, so the output reads back
/// to the same account.
pub fn document(p: &Program, a: &Account) -> Value {
    let mut root = Map::new();
    root.insert("now".into(), Value::String(a.now.to_string()));
    if let Some(id) = &a.id {
        root.insert("account".into(), Value::String(id.clone()));
    }
    for (field, value) in p.fields.iter().zip(&a.fields) {
        let Some(v) = field_value(p, field.ty, value) else {
            continue;
        };
        insert_path(&mut root, &field.path, v);
    }
    let grants = a
        .grants
        .iter()
        .map(|g| {
            let mut m = Map::new();
            m.insert("id".into(), g.id.clone().into());
            m.insert(
                "kind".into(),
                p.credit_kinds
                    .get(g.kind as usize)
                    .cloned()
                    .unwrap_or_default()
                    .into(),
            );
            m.insert("amount".into(), crate::amount::format(g.amount).into());
            m.insert(
                "remaining".into(),
                crate::amount::format(g.remaining).into(),
            );
            m.insert("granted_at".into(), g.granted_at.to_string().into());
            if let Some(e) = g.expires_at {
                m.insert("expires_at".into(), e.to_string().into());
            }
            for (attr, value) in p.grant_attrs.iter().zip(&g.attrs) {
                if let (Some(name), Some(v)) = (attr.path.first(), field_value(p, attr.ty, value)) {
                    m.insert(name.clone(), v);
                }
            }
            Value::Object(m)
        })
        .collect();
    root.insert("grants".into(), Value::Array(grants));
    let debts = a
        .debts
        .iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("id".into(), d.id.clone().into());
            m.insert(
                "kind".into(),
                p.debt_kinds
                    .get(d.kind as usize)
                    .cloned()
                    .unwrap_or_default()
                    .into(),
            );
            m.insert("amount".into(), crate::amount::format(d.amount).into());
            m.insert("created_at".into(), d.created_at.to_string().into());
            Value::Object(m)
        })
        .collect();
    root.insert("debts".into(), Value::Array(debts));
    Value::Object(root)
}

pub(crate) fn field_value(p: &Program, ty: Base, value: &FieldValue) -> Option<Value> {
    Some(match value {
        FieldValue::Absent => return None,
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::Decimal(d) => Value::String(crate::amount::format(*d)),
        FieldValue::Time(t) => Value::String(t.to_string()),
        FieldValue::Duration(s) => Value::String(crate::decide::eval::format_duration(*s)),
        FieldValue::Text(s) => Value::String(s.clone()),
        FieldValue::Enum(i) => {
            let e = match ty {
                Base::Enum(e) => e,
                _ => EnumRef::User(EnumId::new(0)),
            };
            Value::String(p.enum_value_name(e, *i).to_owned())
        }
    })
}

fn insert_path(root: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for segment in parents {
        let entry = node
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(next) = entry else {
            return;
        };
        node = next;
    }
    node.insert(last.clone(), value);
}

/// The document as JSON text, indented, ending in a newline.
pub fn json(p: &Program, a: &Account) -> String {
    let mut text = serde_json::to_string_pretty(&document(p, a)).unwrap_or_default();
    text.push('\n');
    text
}

/// The document as TOML text.
pub fn toml(p: &Program, a: &Account) -> Result<String, String> {
    toml::to_string(&document(p, a)).map_err(|e| e.to_string())
}
