//! `GET /v1/policies/{policy}`: what a client needs to build requests.

use serde_json::{Map, Value, json};

use crate::check::ir::{Base, EnumRef, Field};
use crate::compile::Program;
use crate::snapshot::FieldValue;

/// Roles, actions with their categories, the permission table, credit and
/// debt kinds, and the snapshot fields the policy declares.
pub fn policy(p: &Program) -> Map<String, Value> {
    let mut doc = Map::new();
    let roles: Vec<&str> = p.roles.iter().map(|r| r.name.as_str()).collect();
    doc.insert("roles".into(), json!(roles));
    let actions: Vec<Value> = p
        .actions
        .iter()
        .map(|a| {
            let category = p.categories.get(a.category.index());
            json!({ "name": a.name, "category": category })
        })
        .collect();
    doc.insert("actions".into(), Value::Array(actions));
    let mut permissions = Map::new();
    for role in &p.roles {
        let permitted: Vec<&str> = p
            .actions
            .iter()
            .filter(
                |a| match (p.role_by_name(&role.name), p.action_by_name(&a.name)) {
                    (Some(r), Some(a)) => p.permission(r, a).unwrap_or(false),
                    _ => false,
                },
            )
            .map(|a| a.name.as_str())
            .collect();
        permissions.insert(role.name.clone(), json!(permitted));
    }
    doc.insert("permissions".into(), Value::Object(permissions));
    doc.insert("credit_kinds".into(), json!(p.credit_kinds));
    doc.insert("debt_kinds".into(), json!(p.debt_kinds));
    let fields: Vec<Value> = p.fields.iter().map(|f| field(p, f)).collect();
    doc.insert("fields".into(), Value::Array(fields));
    let attrs: Vec<Value> = p.grant_attrs.iter().map(|f| field(p, f)).collect();
    doc.insert("grant_attributes".into(), Value::Array(attrs));
    doc
}

/// A declared field: its path, type (an enum with its values), whether it
/// may be left out, and its default as a snapshot would write it.
fn field(p: &Program, f: &Field) -> Value {
    let default = f
        .default
        .as_ref()
        .and_then(|d| crate::snapshot::write::field_value(p, f.ty, &FieldValue::from_literal(d)));
    json!({
        "path": f.dotted(),
        "type": type_name(p, f.ty),
        "optional": f.optional,
        "default": default,
    })
}

fn type_name(p: &Program, ty: Base) -> Value {
    let enum_of = |name: &str, values: Vec<&str>| json!({ "enum": name, "values": values });
    match ty {
        Base::Bool => json!("bool"),
        Base::Decimal => json!("decimal"),
        Base::Time => json!("time"),
        Base::Duration => json!("duration"),
        Base::Months => json!("months"),
        Base::Text => json!("text"),
        Base::Enum(EnumRef::User(i)) => match p.enums.get(i.index()) {
            Some(e) => enum_of(&e.name, e.values.iter().map(String::as_str).collect()),
            None => json!("enum"),
        },
        Base::Enum(EnumRef::CreditKind) => enum_of(
            "credit_kind",
            p.credit_kinds.iter().map(String::as_str).collect(),
        ),
        Base::Enum(EnumRef::DebtKind) => enum_of(
            "debt_kind",
            p.debt_kinds.iter().map(String::as_str).collect(),
        ),
        Base::Enum(EnumRef::Role) => {
            enum_of("role", p.roles.iter().map(|r| r.name.as_str()).collect())
        }
        Base::Enum(EnumRef::Action) => enum_of(
            "action",
            p.actions.iter().map(|a| a.name.as_str()).collect(),
        ),
        Base::Enum(EnumRef::GrantStatus) => {
            enum_of("grant_status", vec!["usable", "locked", "expired"])
        }
    }
}
