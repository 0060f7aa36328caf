//! A strict JSON reader that keeps spans and the text of numbers.
//!
//! serde_json forgets where values were, reads numbers as floats unless
//! told otherwise, and keeps the last of two equal keys; snapshot errors
//! need lines, amounts must stay exact, and a repeated key is an error.

use std::borrow::Cow;
use std::collections::HashSet;

use super::MAX_ITEMS;
use super::doc::{DocValue, FIT_AFTER_VALUES, LIST_START, Node, fitted};
use crate::span::Span;

/// Deepest nesting accepted in a snapshot document.
pub const MAX_DEPTH: usize = 64;

/// Most values (objects, arrays, strings, numbers, booleans and nulls,
/// counted as they are read) one JSON snapshot may hold. Enough for the
/// largest account tollgate accepts: [`MAX_ITEMS`] grants of seven values
/// each (the object and its six fields) and as many debts of five, then
/// four values for each field a policy may declare (the value and up to
/// three objects around it), and the root, `now`, `account` and the two
/// lists. Past it the snapshot is refused while it is read, so the tree is
/// never larger than this many values, whatever the text holds: 15 MB of
/// `{}` would otherwise be five million values.
pub const MAX_VALUES: usize =
    MAX_ITEMS * (1 + 6) + MAX_ITEMS * (1 + 4) + 4 * crate::check::MAX_DECLARATIONS + 5;

/// Keys of one object compared one by one for repeats; past this many, the
/// keys are hashed. Snapshot objects hold a handful of keys (a grant has
/// six), where a scan is faster than hashing; an object with 120,000 keys
/// took 20 s to scan.
const SCANNED_KEYS: usize = 16;

/// Why a document was refused: what went wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    pub span: Span,
    /// `None` for a syntax error; for a document past a size limit, the
    /// help that goes with it (the message is then complete, not a syntax
    /// error's).
    pub too_large: Option<&'static str>,
}

/// A UTF-8 byte-order mark, which some editors write at the start of a
/// file: skipped, as the TOML reader and the policy reader do.
const BOM: &str = "\u{feff}";

pub fn parse(text: &str) -> Result<Node<'_>, JsonError> {
    let mut p = Parser {
        text: text.as_bytes(),
        pos: if text.starts_with(BOM) { BOM.len() } else { 0 },
        src: text,
        values: 0,
        too_many_items: None,
    };
    p.skip_ws();
    let value = p.value(0, None).map_err(|e| *e)?;
    p.skip_ws();
    if p.pos < p.text.len() {
        return Err(*p.error("unexpected text after the document", 1));
    }
    // Only now, so that a syntax error anywhere comes first, as it would
    // if the list were counted after reading.
    if let Some(e) = p.too_many_items {
        return Err(e);
    }
    Ok(value)
}

/// A failed read, boxed so that every `Result` the reader returns is the
/// size of its value: errors are rare, values are returned millions of
/// times.
type Fail = Box<JsonError>;

/// An object's entry: its key, the key's span, and its value.
type Entry<'t> = (Cow<'t, str>, Span, Node<'t>);

struct Parser<'t> {
    text: &'t [u8],
    src: &'t str,
    pos: usize,
    /// Values read so far, at most [`MAX_VALUES`].
    values: usize,
    /// The first `grants` or `debts` list found longer than [`MAX_ITEMS`].
    too_many_items: Option<JsonError>,
}

impl<'t> Parser<'t> {
    fn error(&self, message: &str, len: usize) -> Fail {
        Box::new(JsonError {
            message: message.to_owned(),
            span: Span::new(self.pos, (self.pos + len).min(self.text.len())),
            too_large: None,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn require_byte(&mut self, byte: u8, what: &str) -> Result<(), Fail> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else if self.peek().is_none() {
            Err(self.error(&format!("the document ends where {what} was expected"), 0))
        } else {
            Err(self.error(&format!("expected {what}"), 1))
        }
    }

    /// Reads a value. `list` names a top-level `grants` or `debts`, whose
    /// items are counted against [`MAX_ITEMS`] as they are read.
    fn value(&mut self, depth: usize, list: Option<&'static str>) -> Result<Node<'t>, Fail> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_DEPTH} levels"), 1));
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            let mut e = self.error(
                &format!("the snapshot holds more than the limit of {MAX_VALUES} values"),
                1,
            );
            e.too_large = Some("a snapshot holds one account; check that this is the right file");
            return Err(e);
        }
        let start = self.pos;
        // Containers build their own node, so it is returned in place: a
        // `DocValue` returned, then moved into a `Node`, is written in
        // pieces and read back whole, a store-forwarding stall per value
        // (3-6% of a batch's CPU time).
        let value = match self.peek() {
            None => return Err(self.error("the document ends where a value was expected", 0)),
            Some(b'{') => return self.object(depth),
            Some(b'[') => return self.array(depth, list),
            Some(b'"') => DocValue::String(self.string()?),
            Some(b't') => self.word("true", DocValue::Bool(true))?,
            Some(b'f') => self.word("false", DocValue::Bool(false))?,
            Some(b'n') => self.word("null", DocValue::Null)?,
            Some(b'-' | b'0'..=b'9') => DocValue::Number(Cow::Borrowed(self.number()?)),
            Some(_) => return Err(self.error("expected a value", 1)),
        };
        Ok(Node {
            value,
            span: Span::new(start, self.pos),
        })
    }

    fn word(&mut self, word: &str, value: DocValue<'t>) -> Result<DocValue<'t>, Fail> {
        if self.text.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value (strings need double quotes)", 1))
        }
    }

    /// The node of a value that started at `start` and ends here.
    fn node(&self, start: usize, value: DocValue<'t>) -> Node<'t> {
        Node {
            value,
            span: Span::new(start, self.pos),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node<'t>, Fail> {
        let start = self.pos;
        self.pos += 1;
        let mut entries: Vec<Entry<'t>> = Vec::new();
        let mut seen: Option<HashSet<Cow<'t, str>>> = None;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(self.node(start, DocValue::Object(Vec::new())));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a key in double quotes", 1));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(key_start, self.pos);
            let repeated = match &mut seen {
                Some(seen) => !seen.insert(key.clone()),
                None => entries.iter().any(|(k, _, _)| *k == key),
            };
            if repeated {
                return Err(Box::new(JsonError {
                    message: format!("the key `{key}` appears twice in one object"),
                    span: key_span,
                    too_large: None,
                }));
            }
            self.skip_ws();
            self.require_byte(b':', "`:` after the key")?;
            self.skip_ws();
            let list = match (depth, key.as_ref()) {
                (0, "grants") => Some("grants"),
                (0, "debts") => Some("debts"),
                _ => None,
            };
            let value = self.value(depth + 1, list)?;
            if entries.capacity() == 0 {
                entries = Vec::with_capacity(LIST_START);
            }
            entries.push((key, key_span, value));
            if seen.is_none() && entries.len() >= SCANNED_KEYS {
                // Borrowed keys are copied as pointers, escaped ones cloned.
                seen = Some(entries.iter().map(|(k, _, _)| k.clone()).collect());
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    let large = self.values > FIT_AFTER_VALUES;
                    return Ok(self.node(start, DocValue::Object(fitted(entries, large))));
                }
                None => {
                    return Err(self.error("the document ends inside an object: `}` is missing", 0));
                }
                Some(_) => return Err(self.error("expected `,` or `}`", 1)),
            }
        }
    }

    fn array(&mut self, depth: usize, list: Option<&'static str>) -> Result<Node<'t>, Fail> {
        let open = self.pos;
        self.pos += 1;
        let mut items: Vec<Node<'t>> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(self.node(open, DocValue::Array(Vec::new())));
        }
        // Items of a `grants` or `debts` list past [`MAX_ITEMS`] are read
        // (a syntax error in them is still one) and counted, not kept.
        let mut count = 0usize;
        loop {
            self.skip_ws();
            count += 1;
            if list.is_some() && count > MAX_ITEMS {
                let values = self.values;
                self.value(depth + 1, None)?;
                self.values = values;
            } else {
                let item = self.value(depth + 1, None)?;
                if items.capacity() == 0 {
                    items = Vec::with_capacity(LIST_START);
                }
                items.push(item);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    let items = fitted(items, self.values > FIT_AFTER_VALUES);
                    if let Some(name) = list.filter(|_| count > MAX_ITEMS) {
                        drop(items);
                        if self.too_many_items.is_none() {
                            self.too_many_items = Some(JsonError {
                                message: format!(
                                    "`{name}`: holds {count} items, more than the limit of {MAX_ITEMS}"
                                ),
                                span: Span::new(open, self.pos),
                                too_large: Some(
                                    "an account this large should be split or compacted before it is decided",
                                ),
                            });
                        }
                        return Ok(self.node(open, DocValue::Array(Vec::new())));
                    }
                    return Ok(self.node(open, DocValue::Array(items)));
                }
                None => {
                    return Err(self.error("the document ends inside an array: `]` is missing", 0));
                }
                Some(_) => return Err(self.error("expected `,` or `]`", 1)),
            }
        }
    }

    fn string(&mut self) -> Result<Cow<'t, str>, Fail> {
        let start = self.pos;
        self.pos += 1;
        // Most strings have no escapes: borrow them from the input.
        let plain_end = string_stop(self.text.get(self.pos..).unwrap_or(&[])).map(|n| self.pos + n);
        if let Some(end) = plain_end.filter(|&e| self.text.get(e) == Some(&b'"')) {
            let text = self.src.get(self.pos..end).unwrap_or("");
            self.pos = end + 1;
            return Ok(Cow::Borrowed(text));
        }
        let mut out = String::new();
        loop {
            let Some(b) = self.peek() else {
                self.pos = start;
                return Err(self.error("unterminated string", 1));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    self.pos += 1;
                    let escaped = self.peek();
                    self.pos += 1;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => out.push(self.unicode_escape()?),
                        _ => {
                            self.pos -= 2;
                            return Err(self.error("invalid escape in a string", 2));
                        }
                    }
                }
                0..=0x1f => return Err(self.error("control character in a string (escape it)", 1)),
                _ => {
                    // Copy a run of plain characters at once; the input is
                    // UTF-8, so the run ends on a character boundary.
                    let run_end = string_stop(self.text.get(self.pos..).unwrap_or(&[]))
                        .map_or(self.text.len(), |n| self.pos + n);
                    out.push_str(self.src.get(self.pos..run_end).unwrap_or(""));
                    self.pos = run_end;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Fail> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("`\\u` needs four hex digits", 1))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("`\\u` needs four hex digits", 1))
    }

    fn unicode_escape(&mut self) -> Result<char, Fail> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if self.text.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(self.error("a lone surrogate in a `\\u` escape", 1));
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("a lone surrogate in a `\\u` escape", 1));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("a lone surrogate in a `\\u` escape", 1))
    }

    fn number(&mut self) -> Result<&'t str, Fail> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        if digits(self) == 0 {
            return Err(self.error("expected digits", 1));
        }
        if self.text.get(int_start) == Some(&b'0') && self.pos - int_start > 1 {
            self.pos = int_start;
            return Err(self.error("numbers do not start with 0", 1));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("expected digits after the point", 1));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("expected digits in the exponent", 1));
            }
        }
        Ok(self.src.get(start..self.pos).unwrap_or(""))
    }
}

/// Where a string's plain run stops: the index of the first `"`, `\\` or
/// control character in `bytes`. Eight bytes are tested at a time (the
/// strings of a snapshot are mostly ids and timestamps of 10 to 30 bytes):
/// a byte-at-a-time loop was a quarter of reading a snapshot.
fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // `x - ONES & !x & HIGH` marks the zero bytes of `x`, and only marks a
    // byte wrongly above a true mark (a borrow comes from a lower zero),
    // so the lowest mark is always right. Likewise for bytes below 0x20.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let marks = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if marks != 0 {
            return Some(at + (marks.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn string_stop_finds_what_a_byte_loop_finds(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x22, 0x5bu8..0x5e, any::<u8>()],
                0..40,
            ),
            filler in 0usize..20,
        ) {
            // Long plain runs first, so the stop lands in every position of a word.
            let mut input = vec![b'a'; filler];
            input.extend(&bytes);
            let expected = input.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            prop_assert_eq!(string_stop(&input), expected);
        }
    }

    #[test]
    fn reads_values_with_spans() {
        let doc =
            parse(r#"{"a": [1, -2.5e3, "x\u00e9\ud83d\ude00"], "b": {"c": null, "d": true}}"#)
                .unwrap();
        let DocValue::Object(entries) = &doc.value else {
            panic!()
        };
        assert_eq!(entries[0].0, "a");
        let DocValue::Array(items) = &entries[0].2.value else {
            panic!()
        };
        assert_eq!(items[1].value, DocValue::Number("-2.5e3".into()));
        assert_eq!(items[2].value, DocValue::String("xé😀".into()));
        // Start and end compared one by one: `Span`'s equality may ignore
        // places (the AST compares shapes), so it cannot test one.
        assert_eq!((items[0].span.start, items[0].span.end), (7, 8));
        assert_eq!((items[2].span.start, items[2].span.end), (18, 39));
        assert_eq!((entries[1].1.start, entries[1].1.end), (42, 45));
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_places_count_its_bytes() {
        let doc = parse("\u{feff}{\"a\": 1}").unwrap();
        assert_eq!((doc.span.start, doc.span.end), (3, 11));
        let e = parse("\u{feff} {\"a\": }").unwrap_err();
        assert_eq!((e.span.start, e.span.end), (10, 11));
        // Only at the start.
        assert!(parse("{\"a\": \u{feff}1}").is_err());
    }

    #[test]
    fn lists_hold_bounded_spare_room() {
        // The bound on memory: at most `MAX_VALUES` values, each a `Node`
        // in an array or an entry in an object (40 and 72 bytes on 64-bit
        // targets). An empty list allocates nothing; a list has room for
        // `LIST_START` items, given back in a large document when it is
        // mostly empty, so no document holds more than twice its values
        // plus the spare room of its first `FIT_AFTER_VALUES` values' lists.
        assert!(std::mem::size_of::<Node>() <= 40);
        assert!(std::mem::size_of::<Entry>() <= 72);
        fn room(n: &Node, total: &mut (usize, usize)) {
            match &n.value {
                DocValue::Array(items) => {
                    *total = (total.0 + items.capacity(), total.1 + items.len());
                    items.iter().for_each(|i| room(i, total));
                }
                DocValue::Object(entries) => {
                    *total = (total.0 + entries.capacity(), total.1 + entries.len());
                    entries.iter().for_each(|(_, _, v)| room(v, total));
                }
                _ => {}
            }
        }
        let small = parse(r#"[[], {}, [1], {"a": [1, 2, 3]}, [[[]]]]"#).unwrap();
        let mut total = (0, 0);
        room(&small, &mut total);
        assert!(total.0 <= 6 * LIST_START, "{total:?}");
        let DocValue::Array(items) = &small.value else {
            panic!()
        };
        assert!(matches!(&items[0].value, DocValue::Array(a) if a.capacity() == 0));
        assert!(matches!(&items[1].value, DocValue::Object(o) if o.capacity() == 0));
        // A million one-item lists, the shape that cost eight slots each.
        let n = 100_000;
        let text = format!("[{}]", vec!["[1]"; n].join(","));
        let mut total = (0, 0);
        room(&parse(&text).unwrap(), &mut total);
        assert!(
            total.0 <= 2 * total.1 + FIT_AFTER_VALUES * LIST_START,
            "{total:?}"
        );
    }

    #[test]
    fn values_are_counted_as_they_are_read() {
        let at_cap = format!("[{}]", vec!["0"; MAX_VALUES - 1].join(","));
        assert!(parse(&at_cap).is_ok());
        let past = format!("[{}]", vec!["{}"; MAX_VALUES].join(","));
        let e = parse(&past).unwrap_err();
        assert!(e.too_large.is_some());
        assert_eq!(
            e.message,
            format!("the snapshot holds more than the limit of {MAX_VALUES} values")
        );
        assert_eq!(e.span.start as usize, 1 + 3 * (MAX_VALUES - 1));
    }

    #[test]
    fn grants_past_their_cap_are_counted_not_kept() {
        let list = vec!["{}"; MAX_ITEMS + 2].join(",");
        let e = parse(&format!("{{\"debts\": [], \"grants\": [{list}]}}")).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "`grants`: holds {} items, more than the limit of {MAX_ITEMS}",
                MAX_ITEMS + 2
            )
        );
        assert_eq!(
            (e.span.start, e.span.end as usize),
            (24, 24 + list.len() + 2)
        );
        // A syntax error after it still comes first, as it did.
        let e = parse(&format!("{{\"grants\": [{list}], \"x\": }}")).unwrap_err();
        assert!(e.too_large.is_none(), "{e:?}");
        // Not counted below the top, and up to the cap, kept.
        assert!(parse(&format!("{{\"x\": {{\"grants\": [{list}]}}}}")).is_ok());
        let list = vec!["{}"; MAX_ITEMS].join(",");
        assert!(parse(&format!("{{\"grants\": [{list}]}}")).is_ok());
    }

    #[test]
    fn a_repeated_key_is_found_among_many_with_its_span() {
        for n in [1, SCANNED_KEYS - 1, SCANNED_KEYS, 5_000] {
            let mut text: String = (0..n).map(|i| format!("\"k{i}\": {i}, ")).collect();
            let at = text.len() + 1;
            // Written with an escape: the key is compared as read.
            text = format!("{{{text}\"\\u006b0\": 1}}");
            let e = parse(&text).unwrap_err();
            assert_eq!(e.message, "the key `k0` appears twice in one object", "{n}");
            assert_eq!(
                (e.span.start, e.span.end),
                (at as u32, at as u32 + 9),
                "{n}"
            );
        }
        let distinct: String = (0..5_000)
            .map(|i| format!("\"k{i}\": {i}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(parse(&format!("{{{distinct}}}")).is_ok());
    }

    #[test]
    fn refuses_what_json_forbids() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{'a':1}",
            "01",
            "1.",
            "-",
            "+1",
            "NaN",
            "{\"a\" 1}",
            "\"\\x\"",
            "\"a\nb\"",
            "[1] 2",
            "{\"a\":1,\"a\":2}",
            "\"\\ud800\"",
            "tru",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).unwrap_err().message.contains("deeper"));
    }
}
