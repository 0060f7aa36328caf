//! TOML's table rules, applied as the document is read.

// The rules are `toml`'s (its `de::parser::document` and
// `de::parser::inline_table`), with the same errors: a key is defined once,
// a table once, `[a]` may define a table that `[a.b]` made, an array of
// tables grows by `[[a]]`, dotted keys and headers do not mix, nothing
// extends an inline table or an array. One departure: a table that a
// header defines after `[a.b]` made it stays where it was made, where
// `toml` moved it to the end of its parent, a shift of every later key;
// 50,000 such headers took 13 s.

use std::borrow::Cow;
use std::collections::HashMap;

use smallvec::SmallVec;
use toml_parser::ParseError;

use super::super::doc::{DocValue, Node};
use super::{MAX_KEY_PARTS, tspan};
use crate::span::Span;

/// Keys of a table compared one by one; past this many, they are hashed
/// (as the JSON reader does for an object's keys).
const SCANNED_KEYS: usize = 16;

/// A key part, decoded, and where it was written.
type Part<'t> = (Cow<'t, str>, Span);

/// A key as written: its parts, each decoded, with where it was written.
/// Only the first [`MAX_KEY_PARTS`] + 1 parts are kept; a key of more is an
/// error, and its parts are only counted.
#[derive(Default)]
pub(super) struct Key<'t> {
    parts: SmallVec<[Part<'t>; 2]>,
    count: usize,
    span: Option<Span>,
}

impl<'t> Key<'t> {
    pub(super) fn push(&mut self, part: Cow<'t, str>, span: Span) {
        self.count += 1;
        self.span = Some(self.span.map_or(span, |s| s.to(span)));
        if self.parts.len() <= MAX_KEY_PARTS {
            self.parts.push((part, span));
        }
    }

    /// How many parts the key has.
    pub(super) fn count(&self) -> usize {
        self.count
    }

    /// From the first part to the last.
    pub(super) fn span(&self) -> Span {
        self.span.unwrap_or_default()
    }

    /// The parts before the last, and the last (`None` for a key with no
    /// part, which the grammar never gives).
    fn split(&self) -> Option<(&Part<'t>, &[Part<'t>])> {
        self.parts.split_last()
    }
}

/// A table header: its key and its span, `[` to `]`.
pub(super) struct Header<'t> {
    pub key: Key<'t>,
    pub span: Span,
    pub array: bool,
}

/// A table keys can still be added to.
#[derive(Default)]
struct Table<'t> {
    entries: Vec<Entry<'t>>,
    /// Where each key is, once the table has more than [`SCANNED_KEYS`].
    #[expect(
        clippy::box_collection,
        reason = "few tables have an index: boxed, it costs the others 8 bytes, not 48"
    )]
    index: Option<Box<HashMap<Cow<'t, str>, usize>>>,
    /// Made by a dotted key or a header's path, not defined by a header.
    implicit: bool,
    /// Made by a dotted key.
    dotted: bool,
}

struct Entry<'t> {
    key: Cow<'t, str>,
    key_span: Span,
    span: Span,
    value: Value<'t>,
}

enum Value<'t> {
    /// A value nothing can add to: a scalar, an array, an inline table.
    Done(DocValue<'t>),
    Table(Table<'t>),
    /// An array of tables, each with its header's span.
    Tables(Vec<(Span, Table<'t>)>),
    /// A table taken out to be filled under its header, put back when the
    /// header's section ends.
    Lent,
}

impl<'t> Table<'t> {
    fn find(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|e| e.key == key),
        }
    }

    fn push(&mut self, entry: Entry<'t>) -> usize {
        // Room for one key at first: a dotted key makes a table per part,
        // most of them with one key, and `Vec`'s first room is four.
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(1);
        }
        let at = self.entries.len();
        if let Some(index) = &mut self.index {
            index.insert(entry.key.clone(), at);
        }
        self.entries.push(entry);
        if self.index.is_none() && self.entries.len() > SCANNED_KEYS {
            let keys = self.entries.iter().enumerate();
            self.index = Some(Box::new(keys.map(|(i, e)| (e.key.clone(), i)).collect()));
        }
        at
    }

    fn entry(&mut self, at: usize) -> Result<&mut Entry<'t>, ParseError> {
        self.entries.get_mut(at).ok_or_else(internal)
    }

    /// The table as the document tree holds it. Lists are allocated at
    /// their size: tables are converted once, when they can no longer grow.
    fn into_doc(self) -> Result<DocValue<'t>, ParseError> {
        let mut entries = Vec::with_capacity(self.entries.len());
        for e in self.entries {
            let node = Node {
                value: e.value.into_doc()?,
                span: e.span,
            };
            entries.push((e.key, e.key_span, node));
        }
        Ok(DocValue::Object(entries))
    }
}

impl<'t> Value<'t> {
    fn into_doc(self) -> Result<DocValue<'t>, ParseError> {
        Ok(match self {
            Value::Done(v) => v,
            Value::Table(t) => t.into_doc()?,
            Value::Tables(tables) => {
                let mut items = Vec::with_capacity(tables.len());
                for (span, t) in tables {
                    items.push(Node {
                        value: t.into_doc()?,
                        span,
                    });
                }
                DocValue::Array(items)
            }
            // INVARIANT: `finish_table` puts back what `start_table` took,
            // and every section is finished; a table still lent here would
            // be lost, so the document is refused instead.
            Value::Lent => return Err(internal()),
        })
    }

    /// What `toml` calls this kind of value in "cannot extend value of type
    /// …".
    fn type_name(&self) -> &'static str {
        match self {
            Value::Done(DocValue::String(_)) => "string",
            Value::Done(DocValue::Number(n)) if is_float(n) => "float",
            Value::Done(DocValue::Number(_)) => "integer",
            Value::Done(DocValue::Bool(_)) => "boolean",
            Value::Done(DocValue::Datetime(_)) => "datetime",
            Value::Done(DocValue::Array(_)) | Value::Tables(_) => "array",
            Value::Done(DocValue::Object(_)) => "inline table",
            Value::Done(DocValue::Null) | Value::Table(_) | Value::Lent => "table",
        }
    }
}

/// Whether a TOML number, as the reader keeps it, is a float: `1.5`,
/// `1e3`, `inf`, `nan`, but not `0xbeef`.
fn is_float(number: &str) -> bool {
    let digits = number.trim_start_matches(['+', '-']);
    !digits.starts_with("0x")
        && !digits.starts_with("0o")
        && !digits.starts_with("0b")
        && digits.contains(['.', 'e', 'E', 'i', 'n'])
}

fn error(description: impl Into<Cow<'static, str>>, at: Span) -> ParseError {
    ParseError::new(description).with_unexpected(tspan(at))
}

fn duplicate(at: Span) -> ParseError {
    error("duplicate key", at)
}

/// A state the rules never reach, refused rather than guessed at.
fn internal() -> ParseError {
    ParseError::new("internal error: the TOML reader lost a table")
}

/// Where `path` leads from `table`, making the tables it names that do
/// not exist yet: `toml`'s `descend_path` for the document (`dotted` for a
/// key-value's dotted key, not for a header's path).
fn descend<'a, 't>(
    mut table: &'a mut Table<'t>,
    path: &[Part<'t>],
    dotted: bool,
) -> Result<&'a mut Table<'t>, ParseError> {
    for (part, span) in path {
        let at = match table.find(part) {
            Some(at) => at,
            None => table.push(Entry {
                key: part.clone(),
                key_span: *span,
                span: *span,
                value: Value::Table(Table {
                    implicit: true,
                    dotted,
                    ..Table::default()
                }),
            }),
        };
        let entry = table.entry(at)?;
        table = match &mut entry.value {
            Value::Tables(tables) => match tables.last_mut() {
                Some((_, t)) => t,
                None => return Err(internal()),
            },
            Value::Lent => return Err(internal()),
            Value::Table(t) => {
                if dotted && t.implicit {
                    t.dotted = true;
                }
                if dotted && !t.implicit {
                    return Err(duplicate(*span));
                }
                t
            }
            other => {
                let what = other.type_name();
                return Err(error(
                    format!("cannot extend value of type {what} with a dotted key"),
                    *span,
                ));
            }
        };
    }
    Ok(table)
}

/// The document being read: its root, and the table the current header's
/// key-values go to, held apart until the next header (as `toml` does, so
/// that errors come in its order).
#[derive(Default)]
pub(super) struct Document<'t> {
    root: Table<'t>,
    current: Table<'t>,
    header: Option<Header<'t>>,
}

impl<'t> Document<'t> {
    /// `key = value` in the current table.
    pub(super) fn key_value(&mut self, key: &Key<'t>, value: Node<'t>) -> Result<(), ParseError> {
        let ((name, key_span), path) = key.split().ok_or_else(internal)?;
        let dotted = !path.is_empty();
        let parent = descend(&mut self.current, path, dotted)?;
        if dotted && !parent.implicit {
            return Err(duplicate(*key_span));
        }
        if parent.find(name).is_some() {
            return Err(duplicate(*key_span));
        }
        parent.push(Entry {
            key: name.clone(),
            key_span: *key_span,
            span: value.span,
            value: Value::Done(value.value),
        });
        Ok(())
    }

    /// The current header's section ends: its table goes where the header
    /// says.
    pub(super) fn finish_table(&mut self) -> Result<(), ParseError> {
        let table = std::mem::take(&mut self.current);
        let Some(header) = self.header.take() else {
            self.root = table;
            return Ok(());
        };
        let ((name, key_span), path) = header.key.split().ok_or_else(internal)?;
        let parent = descend(&mut self.root, path, false)?;
        let found = parent.find(name);
        if header.array {
            let Some(at) = found else {
                parent.push(Entry {
                    key: name.clone(),
                    key_span: *key_span,
                    span: header.span,
                    value: Value::Tables(vec![(header.span, table)]),
                });
                return Ok(());
            };
            match &mut parent.entry(at)?.value {
                Value::Tables(tables) => tables.push((header.span, table)),
                _ => return Err(duplicate(*key_span)),
            }
            return Ok(());
        }
        let entry = Entry {
            key: name.clone(),
            key_span: *key_span,
            span: header.span,
            value: Value::Table(table),
        };
        match found {
            // Taken out by `start_table`; nothing else can be there.
            Some(at) => {
                let slot = parent.entry(at)?;
                if !matches!(slot.value, Value::Lent) {
                    return Err(internal());
                }
                *slot = entry;
            }
            None => {
                parent.push(entry);
            }
        }
        Ok(())
    }

    /// A header's section begins. `[a]` may define a table that a header's
    /// path made (`[a.b]` before it), never one defined or made by a
    /// dotted key.
    pub(super) fn start_table(&mut self, header: Header<'t>) -> Result<(), ParseError> {
        if !header.array {
            let ((name, key_span), path) = header.key.split().ok_or_else(internal)?;
            let parent = descend(&mut self.root, path, false)?;
            if let Some(at) = parent.find(name) {
                let entry = parent.entry(at)?;
                match std::mem::replace(&mut entry.value, Value::Lent) {
                    Value::Table(t) if t.implicit && !t.dotted => self.current = t,
                    other => {
                        entry.value = other;
                        return Err(duplicate(*key_span));
                    }
                }
            }
        }
        self.current.implicit = false;
        self.current.dotted = false;
        self.header = Some(header);
        Ok(())
    }

    /// The document, read to its end, as the shared tree (its span is
    /// empty, as `toml`'s is).
    pub(super) fn finish(mut self) -> Result<Node<'t>, ParseError> {
        self.finish_table()?;
        Ok(Node {
            value: self.root.into_doc()?,
            span: Span::default(),
        })
    }
}

/// An inline table being read: `toml`'s `de::parser::inline_table`.
#[derive(Default)]
pub(super) struct Inline<'t>(Table<'t>);

impl<'t> Inline<'t> {
    pub(super) fn key_value(&mut self, key: &Key<'t>, value: Node<'t>) -> Result<(), ParseError> {
        let ((name, key_span), path) = key.split().ok_or_else(internal)?;
        let mut table = &mut self.0;
        for (part, span) in path {
            let at = match table.find(part) {
                Some(at) => at,
                None => table.push(Entry {
                    key: part.clone(),
                    key_span: *span,
                    span: *span,
                    value: Value::Table(Table {
                        implicit: true,
                        dotted: true,
                        ..Table::default()
                    }),
                }),
            };
            table = match &mut table.entry(at)?.value {
                Value::Table(t) => t,
                Value::Done(DocValue::Object(_)) => return Err(duplicate(*span)),
                Value::Lent => return Err(internal()),
                other => {
                    let what = other.type_name();
                    return Err(error(
                        format!("cannot extend value of type {what} with a dotted key"),
                        *span,
                    ));
                }
            };
        }
        // `toml` refuses a key whose table's dottedness is not the key's;
        // every table an inline table's dotted key reaches was made by one.
        if table.dotted == path.is_empty() {
            return Err(duplicate(*key_span));
        }
        if table.find(name).is_some() {
            return Err(duplicate(*key_span));
        }
        table.push(Entry {
            key: name.clone(),
            key_span: *key_span,
            span: value.span,
            value: Value::Done(value.value),
        });
        Ok(())
    }

    pub(super) fn into_doc(self) -> Result<DocValue<'t>, ParseError> {
        self.0.into_doc()
    }
}
