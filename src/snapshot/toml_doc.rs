//! TOML snapshots, read with spans into the same tree as JSON.

// The `toml` crate reads a document into a list of all its tokens, then a
// list of parser events, then its own tree, all held at once: about 100
// bytes per value, 104 MB for a 1 MiB array of small numbers. This reader
// takes `toml_parser`'s tokens one at a time as they are lexed and puts
// each value straight into the shared tree, so a TOML snapshot costs what
// the same account costs in JSON. It reads what `toml` reads and refuses
// what `toml` refuses, with the same first error: the grammar and its
// messages follow `toml_parser`'s parser, the table rules `toml`'s (see
// `tables.rs`), and strings, numbers, keys, comments and line ends are
// decoded by `toml_parser`'s own decoders. As in `toml`, a syntax error
// anywhere is reported before any other kind. `tests.rs` compares the two
// readers on the corpus, on hand-picked documents and on mutated ones.

mod tables;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::VecDeque;

use toml_parser::decoder::{Encoding, IntegerRadix, ScalarKind};
use toml_parser::lexer::{Lexer, Token, TokenKind};
use toml_parser::{Expected, ParseError, Raw, Source};

use super::doc::{DocValue, FIT_AFTER_VALUES, LIST_START, Node, fitted};
use crate::span::Span;
use tables::{Document, Header, Inline, Key};

/// A syntax error with where it is, when TOML says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlError {
    pub message: String,
    pub span: Option<Span>,
}

/// Most parts a dotted key or a table header may have, as `toml` reads
/// them; a key of more is refused at the key.
pub const MAX_KEY_PARTS: usize = 80;

/// Deepest nesting of arrays and inline tables, as `toml` reads them. It
/// bounds this reader's recursion.
const MAX_DEPTH: usize = 80;

pub fn parse(text: &str) -> Result<Node<'_>, TomlError> {
    let mut reader = Reader {
        text,
        lexer: Source::new(text).lex(),
        ahead: VecDeque::with_capacity(2),
        last: [toml_parser::Span::default(); 2],
        depth: 0,
        values: 0,
        first_error: None,
        document: Document::default(),
    };
    reader.document().map_err(|e| toml_error(&e))?;
    if let Some(e) = reader.first_error {
        return Err(e);
    }
    reader.document.finish().map_err(|e| toml_error(&e))
}

/// A syntax error: reading stops at the first.
type Read<T> = Result<T, Box<ParseError>>;

fn syntax<T>(
    description: &'static str,
    expected: &'static [Expected],
    unexpected: toml_parser::Span,
) -> Read<T> {
    Err(Box::new(
        ParseError::new(description)
            .with_expected(expected)
            .with_unexpected(unexpected),
    ))
}

/// The message `toml` gives for a parser error: the description, then what
/// was expected.
fn toml_error(e: &ParseError) -> TomlError {
    let mut message = e.description().to_owned();
    if let Some(expected) = e.expected() {
        message.push_str(", expected ");
        if expected.is_empty() {
            message.push_str("nothing");
        }
        for (i, what) in expected.iter().enumerate() {
            if i != 0 {
                message.push_str(", ");
            }
            match what {
                Expected::Literal("\n") => message.push_str("newline"),
                Expected::Literal("`") => message.push_str("'`'"),
                Expected::Literal(s) if s.chars().all(|c| c.is_ascii_control()) => {
                    message.push_str(&format!("`{}`", s.escape_debug()));
                }
                Expected::Literal(s) => message.push_str(&format!("`{s}`")),
                Expected::Description(s) => message.push_str(s),
                _ => message.push_str("etc"),
            }
        }
    }
    TomlError {
        message: message.trim().to_owned(),
        span: e.unexpected().map(|s| Span::new(s.start(), s.end())),
    }
}

/// A span as `toml_parser` writes it.
fn tspan(span: Span) -> toml_parser::Span {
    toml_parser::Span::new_unchecked(span.start as usize, span.end as usize)
}

fn from_tspan(span: toml_parser::Span) -> Span {
    Span::new(span.start(), span.end())
}

/// What an inline table waits for next (`toml_parser`'s states).
#[derive(Clone, Copy)]
enum Wants {
    Key,
    Equals,
    Value,
    Comma,
}

impl Wants {
    fn expected(self) -> &'static [Expected] {
        match self {
            Wants::Key => &[Expected::Description("key")],
            Wants::Equals => &[Expected::Literal("=")],
            Wants::Value => &[Expected::Description("value")],
            Wants::Comma => &[Expected::Literal(",")],
        }
    }
}

fn is_string(kind: TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::LiteralString
            | TokenKind::BasicString
            | TokenKind::MlLiteralString
            | TokenKind::MlBasicString
    )
}

struct Reader<'t> {
    text: &'t str,
    lexer: Lexer<'t>,
    /// Tokens looked at but not read yet: at most two.
    ahead: VecDeque<Token>,
    /// The last two tokens read that are not white space, comments, line
    /// ends or the end, the latest second: an error at the end of a
    /// construct points just after the latest.
    last: [toml_parser::Span; 2],
    /// Arrays and inline tables open around the reader.
    depth: usize,
    /// Values read, to fit lists in a large document as JSON's are.
    values: usize,
    /// The first error that is not a syntax error. `toml` reports such
    /// errors (a bad escape, a duplicate key) after every syntax error, so
    /// reading goes on, building nothing more, in case there is one.
    first_error: Option<TomlError>,
    document: Document<'t>,
}

impl<'t> Reader<'t> {
    fn next(&mut self) -> Option<Token> {
        let token = match self.ahead.pop_front() {
            Some(t) => t,
            None => self.lexer.next()?,
        };
        if !matches!(
            token.kind(),
            TokenKind::Whitespace | TokenKind::Comment | TokenKind::Newline | TokenKind::Eof
        ) {
            self.last = [self.last[1], token.span()];
        }
        Some(token)
    }

    /// Puts back the token just read.
    fn back(&mut self, token: Token) {
        if self.last[1] == token.span() {
            self.last = [toml_parser::Span::default(), self.last[0]];
        }
        self.ahead.push_front(token);
    }

    /// The kind of the token `n` places ahead (0 or 1).
    fn peek(&mut self, n: usize) -> Option<TokenKind> {
        while self.ahead.len() <= n {
            let token = self.lexer.next()?;
            self.ahead.push_back(token);
        }
        self.ahead.get(n).map(Token::kind)
    }

    fn next_if(&mut self, kind: TokenKind) -> Option<Token> {
        if self.peek(0) == Some(kind) {
            self.next()
        } else {
            None
        }
    }

    fn skip_whitespace(&mut self) {
        self.next_if(TokenKind::Whitespace);
    }

    /// Where an error after the last token read points.
    fn after_last(&self) -> toml_parser::Span {
        self.last[1].after()
    }

    /// Records an error that is not a syntax error, if it is the first.
    fn fail(&mut self, e: &ParseError) {
        if self.first_error.is_none() {
            self.first_error = Some(toml_error(e));
        }
    }

    /// Whether the document is still being built: after its first error,
    /// only syntax errors can change what is reported.
    fn building(&self) -> bool {
        self.first_error.is_none()
    }

    /// The whole document.
    fn document(&mut self) -> Read<()> {
        while let Some(token) = self.next() {
            match token.kind() {
                TokenKind::LeftSquareBracket => self.table(token)?,
                TokenKind::RightSquareBracket => {
                    return syntax(
                        "missing table open",
                        &[Expected::Literal("[")],
                        token.span().before(),
                    );
                }
                TokenKind::Atom
                | TokenKind::LiteralString
                | TokenKind::BasicString
                | TokenKind::MlLiteralString
                | TokenKind::MlBasicString => {
                    let mut key = Key::default();
                    self.key_part(&mut key, token);
                    self.dotted_parts(&mut key)?;
                    self.skip_whitespace();
                    self.key_value_rest(key, "key with no value")?;
                }
                TokenKind::Dot => {
                    let mut key = Key::default();
                    self.empty_part(&mut key, token.span().before());
                    self.back(token);
                    self.dotted_parts(&mut key)?;
                    self.skip_whitespace();
                    self.key_value_rest(key, "missing value for key")?;
                }
                TokenKind::Equals => {
                    let mut key = Key::default();
                    self.empty_part(&mut key, token.span().before());
                    self.back(token);
                    self.key_value_rest(key, "key with no value")?;
                }
                TokenKind::Comma | TokenKind::LeftCurlyBracket | TokenKind::RightCurlyBracket => {
                    return syntax(
                        "invalid key-value pair",
                        &[Expected::Description("key")],
                        token.span().before(),
                    );
                }
                TokenKind::Whitespace => {}
                TokenKind::Newline => self.newline(token)?,
                TokenKind::Comment => self.comment(token)?,
                TokenKind::Eof => break,
            }
        }
        Ok(())
    }

    /// `= value` and the end of the line, after a key; `missing` says what
    /// is wrong when there is no `=`.
    fn key_value_rest(&mut self, key: Key<'t>, missing: &'static str) -> Read<()> {
        if self.next_if(TokenKind::Equals).is_none() {
            let at = self.peek_span().before();
            return syntax(missing, &[Expected::Literal("=")], at);
        }
        self.check_key(&key);
        self.skip_whitespace();
        let value = self.value()?;
        if self.building() {
            if let Err(e) = self.document.key_value(&key, value) {
                self.fail(&e);
            }
        }
        self.end_of_line()
    }

    fn peek_span(&mut self) -> toml_parser::Span {
        self.peek(0);
        self.ahead
            .front()
            .map_or_else(|| self.after_last(), Token::span)
    }

    /// A key past [`MAX_KEY_PARTS`] parts is refused at the key.
    fn check_key(&mut self, key: &Key<'t>) {
        if key.count() > MAX_KEY_PARTS && self.first_error.is_none() {
            self.first_error = Some(TomlError {
                message: format!(
                    "this key has {} parts, more than the limit of {MAX_KEY_PARTS}",
                    key.count()
                ),
                span: Some(key.span()),
            });
        }
    }

    /// A key part as written: decoded, its errors recorded.
    fn key_part(&mut self, key: &mut Key<'t>, token: Token) {
        let at = token.span();
        let raw = Raw::new_unchecked(
            self.text.get(at.start()..at.end()).unwrap_or(""),
            token.kind().encoding(),
            at,
        );
        let mut decoded = Cow::Borrowed("");
        let mut error = None;
        raw.decode_key(&mut decoded, &mut error);
        if let Some(e) = error {
            self.fail(&e);
        }
        key.push(decoded, from_tspan(at));
    }

    /// A part missing where the grammar wants one (`a..b`, `= 1`): `toml`
    /// reads it as an empty bare key, which its decoder refuses.
    fn empty_part(&mut self, key: &mut Key<'t>, at: toml_parser::Span) {
        let mut error = None;
        let mut decoded = Cow::Borrowed("");
        Raw::new_unchecked("", None, at).decode_key(&mut decoded, &mut error);
        if let Some(e) = error {
            self.fail(&e);
        }
        key.push(decoded, from_tspan(at));
    }

    /// `.part` after a key's first part, as many as there are; white space
    /// after the key is read too. False when a part is missing.
    fn dotted_parts(&mut self, key: &mut Key<'t>) -> Read<bool> {
        self.skip_whitespace();
        while let Some(dot) = self.next_if(TokenKind::Dot) {
            loop {
                let Some(token) = self.next() else {
                    self.empty_part(key, dot.span().after());
                    return Ok(false);
                };
                match token.kind() {
                    TokenKind::Whitespace => {}
                    TokenKind::Dot => self.empty_part(key, token.span().before()),
                    TokenKind::Atom
                    | TokenKind::LiteralString
                    | TokenKind::BasicString
                    | TokenKind::MlLiteralString
                    | TokenKind::MlBasicString => {
                        self.key_part(key, token);
                        self.skip_whitespace();
                        break;
                    }
                    _ => {
                        self.empty_part(key, token.span().before());
                        self.back(token);
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// `[header]` or `[[header]]`, and the end of its line.
    fn table(&mut self, open: Token) -> Read<()> {
        if self.building() {
            if let Err(e) = self.document.finish_table() {
                self.fail(&e);
            }
        }
        let second = self.next_if(TokenKind::LeftSquareBracket);
        let array = second.is_some();
        let mut header_span = second.map_or(open.span(), |s| open.span().append(s.span()));
        self.skip_whitespace();
        let mut key = Key::default();
        let valid_key = self.header_key(&mut key)?;
        self.skip_whitespace();
        let mut closed = false;
        if let Some(close) = self.next_if(TokenKind::RightSquareBracket) {
            if !array {
                header_span = header_span.append(close.span());
                closed = true;
            } else if let Some(close2) = self.next_if(TokenKind::RightSquareBracket) {
                header_span = header_span.append(close2.span());
                closed = true;
            } else {
                return syntax(
                    "unclosed array table",
                    &[Expected::Literal("]")],
                    close.span().after(),
                );
            }
        } else if valid_key {
            let at = self.after_last();
            return if array {
                syntax("unclosed array table", &[Expected::Literal("]]")], at)
            } else {
                syntax("unclosed table", &[Expected::Literal("]")], at)
            };
        }
        self.check_key(&key);
        if self.building() {
            let header = Header {
                key,
                span: from_tspan(header_span),
                array,
            };
            if let Err(e) = self.document.start_table(header) {
                self.fail(&e);
            }
        }
        if closed {
            self.end_of_line()
        } else {
            self.skip_line()
        }
    }

    /// A header's key: false when a part is missing.
    fn header_key(&mut self, key: &mut Key<'t>) -> Read<bool> {
        while let Some(token) = self.next() {
            match token.kind() {
                TokenKind::Whitespace => {}
                TokenKind::Dot => self.empty_part(key, token.span().before()),
                TokenKind::Atom
                | TokenKind::LiteralString
                | TokenKind::BasicString
                | TokenKind::MlLiteralString
                | TokenKind::MlBasicString => {
                    self.key_part(key, token);
                    return self.dotted_parts(key);
                }
                _ => {
                    self.empty_part(key, token.span().before());
                    self.back(token);
                    return Ok(false);
                }
            }
        }
        Ok(false)
    }

    /// A value: a scalar, an array or an inline table.
    fn value(&mut self) -> Read<Node<'t>> {
        let Some(token) = self.next() else {
            return syntax(
                "missing value",
                &[Expected::Description("value")],
                self.after_last(),
            );
        };
        self.values += 1;
        match token.kind() {
            TokenKind::Equals => syntax("extra `=`", &[], token.span()),
            TokenKind::Comment
            | TokenKind::Comma
            | TokenKind::Newline
            | TokenKind::Eof
            | TokenKind::Whitespace => {
                self.back(token);
                Ok(self.scalar(token.span().before(), None))
            }
            TokenKind::LeftCurlyBracket => self.inline_table(token),
            TokenKind::RightCurlyBracket => syntax(
                "missing inline table opening",
                &[Expected::Literal("{")],
                token.span().before(),
            ),
            TokenKind::LeftSquareBracket => self.array(token),
            TokenKind::RightSquareBracket => syntax(
                "missing array opening",
                &[Expected::Literal("[")],
                token.span().before(),
            ),
            TokenKind::Atom
            | TokenKind::Dot
            | TokenKind::LiteralString
            | TokenKind::BasicString
            | TokenKind::MlLiteralString
            | TokenKind::MlBasicString => Ok(self.scalar_from(token)),
        }
    }

    /// A scalar starting at `token`: a string, or the atoms and dots of a
    /// number, a boolean or a date-time (whose date and time may be apart:
    /// `2026-11-22 10:00:00Z`).
    fn scalar_from(&mut self, token: Token) -> Node<'t> {
        let kind = token.kind();
        if is_string(kind) {
            return self.scalar(token.span(), kind.encoding());
        }
        let mut at = token.span();
        loop {
            match self.peek(0) {
                Some(TokenKind::Dot | TokenKind::Atom) => {
                    if let Some(t) = self.next() {
                        at = at.append(t.span());
                    }
                }
                Some(TokenKind::Whitespace) if self.peek(1) == Some(TokenKind::Atom) => {
                    self.next();
                    if let Some(t) = self.next() {
                        at = at.append(t.span());
                    }
                }
                _ => break,
            }
        }
        self.scalar(at, None)
    }

    /// The scalar written at `at`, decoded; its errors are recorded.
    fn scalar(&mut self, at: toml_parser::Span, encoding: Option<Encoding>) -> Node<'t> {
        let text = self.text.get(at.start()..at.end()).unwrap_or("");
        let raw = Raw::new_unchecked(text, encoding, at);
        let mut decoded = Cow::Borrowed("");
        let mut error = None;
        let kind = raw.decode_scalar(&mut decoded, &mut error);
        if let Some(e) = error {
            self.fail(&e);
        }
        let value = match kind {
            ScalarKind::String => DocValue::String(decoded),
            ScalarKind::Boolean(b) => DocValue::Bool(b),
            ScalarKind::Integer(IntegerRadix::Dec) | ScalarKind::Float => DocValue::Number(decoded),
            // As `toml` prints it; amounts refuse it.
            ScalarKind::Integer(radix) => {
                let prefix = match radix {
                    IntegerRadix::Hex => "0x",
                    IntegerRadix::Oct => "0o",
                    IntegerRadix::Bin => "0b",
                    _ => "",
                };
                DocValue::Number(Cow::Owned(format!("{prefix}{decoded}")))
            }
            // As written, not as `toml` reads it: `toml` keeps any number
            // of fractional digits (dropping those past 9), so its text
            // would pass what the JSON form refuses. One rule,
            // `Timestamp::parse`, for both; `toml_datetime` only says
            // whether it is a TOML date-time at all.
            ScalarKind::DateTime => {
                if let Err(e) = decoded.parse::<toml_datetime::Datetime>() {
                    self.fail(&ParseError::new(e.to_string()).with_unexpected(at));
                }
                DocValue::Datetime(text.to_owned())
            }
        };
        Node {
            value,
            span: from_tspan(at),
        }
    }

    /// One more array or inline table open, at most [`MAX_DEPTH`].
    fn enter(&mut self, open: Token) -> Read<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Box::new(
                ParseError::new("cannot recurse further; max recursion depth met")
                    .with_unexpected(open.span()),
            ));
        }
        Ok(())
    }

    /// `[a, b, …]`, from after its `[`.
    fn array(&mut self, open: Token) -> Read<Node<'t>> {
        self.enter(open)?;
        let mut items: Vec<Node<'t>> = Vec::new();
        let mut wants_value = true;
        let missing_comma = |token: Token, wants_value: bool| {
            if wants_value {
                Ok(())
            } else {
                syntax(
                    "missing comma between array elements",
                    &[Expected::Literal(",")],
                    token.span().before(),
                )
            }
        };
        while let Some(token) = self.next() {
            let item = match token.kind() {
                TokenKind::Comment => {
                    self.comment(token)?;
                    continue;
                }
                TokenKind::Whitespace => continue,
                TokenKind::Newline => {
                    self.newline(token)?;
                    continue;
                }
                TokenKind::Eof => break,
                TokenKind::Comma if wants_value => {
                    return syntax(
                        "extra comma in array",
                        &[Expected::Description("value")],
                        token.span(),
                    );
                }
                TokenKind::Comma => {
                    wants_value = true;
                    continue;
                }
                TokenKind::Equals => {
                    return syntax(
                        "unexpected `=` in array",
                        &[Expected::Description("value"), Expected::Literal("]")],
                        token.span(),
                    );
                }
                TokenKind::RightSquareBracket => {
                    self.depth -= 1;
                    let large = self.values > FIT_AFTER_VALUES;
                    return Ok(Node {
                        value: DocValue::Array(fitted(items, large)),
                        span: from_tspan(open.span().append(token.span())),
                    });
                }
                TokenKind::RightCurlyBracket => {
                    missing_comma(token, wants_value)?;
                    return syntax(
                        "missing inline table opening",
                        &[Expected::Literal("{")],
                        token.span().before(),
                    );
                }
                TokenKind::LeftCurlyBracket => {
                    missing_comma(token, wants_value)?;
                    self.values += 1;
                    self.inline_table(token)?
                }
                TokenKind::LeftSquareBracket => {
                    missing_comma(token, wants_value)?;
                    self.values += 1;
                    self.array(token)?
                }
                TokenKind::Atom
                | TokenKind::Dot
                | TokenKind::LiteralString
                | TokenKind::BasicString
                | TokenKind::MlLiteralString
                | TokenKind::MlBasicString => {
                    missing_comma(token, wants_value)?;
                    self.values += 1;
                    self.scalar_from(token)
                }
            };
            wants_value = false;
            if items.capacity() == 0 {
                items = Vec::with_capacity(LIST_START);
            }
            items.push(item);
        }
        syntax(
            "unclosed array",
            &[Expected::Literal("]")],
            self.after_last(),
        )
    }

    /// `{ k = v, … }`, from after its `{`.
    fn inline_table(&mut self, open: Token) -> Read<Node<'t>> {
        self.enter(open)?;
        let mut table = Inline::default();
        let mut wants = Wants::Key;
        let mut key = Key::default();
        let misplaced = |description: &'static str, wants: Wants, token: Token| {
            syntax(description, wants.expected(), token.span().before())
        };
        while let Some(token) = self.next() {
            let value = match (token.kind(), wants) {
                (TokenKind::Comment, _) => {
                    self.comment(token)?;
                    continue;
                }
                (TokenKind::Whitespace, _) => continue,
                (TokenKind::Newline, _) => {
                    self.newline(token)?;
                    continue;
                }
                (TokenKind::Eof, _) => break,
                (TokenKind::Comma, Wants::Comma) => {
                    wants = Wants::Key;
                    continue;
                }
                (TokenKind::Comma, _) => {
                    return misplaced("extra comma in inline table", wants, token);
                }
                (TokenKind::Equals, Wants::Key) => {
                    key = Key::default();
                    self.empty_part(&mut key, token.span().before());
                    self.check_key(&key);
                    wants = Wants::Value;
                    continue;
                }
                (TokenKind::Equals, Wants::Equals) => {
                    wants = Wants::Value;
                    continue;
                }
                (TokenKind::Equals, _) => {
                    return misplaced("extra assignment between key-value pairs", wants, token);
                }
                (TokenKind::RightCurlyBracket, _) => {
                    if let Wants::Equals | Wants::Value = wants {
                        // `toml_parser` reads `{ a }` and `{ a = }` as an
                        // empty literal string, which its decoder refuses.
                        let missing =
                            self.scalar(token.span().before(), Some(Encoding::LiteralString));
                        self.inline_key_value(&mut table, &key, missing);
                    }
                    self.depth -= 1;
                    let value = match table.into_doc() {
                        Ok(v) => v,
                        Err(e) => {
                            self.fail(&e);
                            DocValue::Object(Vec::new())
                        }
                    };
                    return Ok(Node {
                        value,
                        span: from_tspan(open.span().append(token.span())),
                    });
                }
                (
                    TokenKind::LeftCurlyBracket | TokenKind::LeftSquareBracket,
                    Wants::Key | Wants::Comma,
                ) => {
                    return misplaced("missing key for inline table element", wants, token);
                }
                (TokenKind::LeftCurlyBracket | TokenKind::LeftSquareBracket, Wants::Equals) => {
                    return misplaced("missing assignment between key-value pairs", wants, token);
                }
                (TokenKind::LeftCurlyBracket, Wants::Value) => {
                    self.values += 1;
                    self.inline_table(token)?
                }
                (TokenKind::LeftSquareBracket, Wants::Value) => {
                    self.values += 1;
                    self.array(token)?
                }
                (TokenKind::RightSquareBracket, Wants::Value) => {
                    return syntax(
                        "missing array opening",
                        &[Expected::Literal("[")],
                        token.span().before(),
                    );
                }
                (TokenKind::RightSquareBracket, _) => {
                    return misplaced("invalid inline table element", wants, token);
                }
                (_, Wants::Key) => {
                    key = Key::default();
                    if token.kind() == TokenKind::Dot {
                        self.empty_part(&mut key, token.span().before());
                        self.back(token);
                    } else {
                        self.key_part(&mut key, token);
                    }
                    self.dotted_parts(&mut key)?;
                    self.check_key(&key);
                    wants = Wants::Equals;
                    continue;
                }
                (_, Wants::Equals) => {
                    return misplaced("missing assignment between key-value pairs", wants, token);
                }
                (_, Wants::Comma) => {
                    return misplaced("missing comma between key-value pairs", wants, token);
                }
                (_, Wants::Value) => {
                    self.values += 1;
                    self.scalar_from(token)
                }
            };
            self.inline_key_value(&mut table, &key, value);
            wants = Wants::Comma;
        }
        syntax(
            "unclosed inline table",
            &[Expected::Literal("}")],
            self.after_last(),
        )
    }

    fn inline_key_value(&mut self, table: &mut Inline<'t>, key: &Key<'t>, value: Node<'t>) {
        if self.building() {
            if let Err(e) = table.key_value(key, value) {
                self.fail(&e);
            }
        }
    }

    /// White space and a comment to the end of the line, or the end.
    fn end_of_line(&mut self) -> Read<()> {
        while let Some(token) = self.next() {
            match token.kind() {
                TokenKind::Whitespace => {}
                TokenKind::Comment => return self.comment(token),
                TokenKind::Newline => return self.newline(token),
                TokenKind::Eof => break,
                _ => {
                    return syntax(
                        "unexpected key or value",
                        &[Expected::Literal("\n"), Expected::Literal("#")],
                        token.span().before(),
                    );
                }
            }
        }
        Ok(())
    }

    /// The rest of a line whose header is broken (its error is the empty
    /// key's).
    fn skip_line(&mut self) -> Read<()> {
        while let Some(token) = self.next() {
            match token.kind() {
                TokenKind::Comment => return self.comment(token),
                TokenKind::Newline => return self.newline(token),
                TokenKind::Eof => break,
                _ => {}
            }
        }
        Ok(())
    }

    /// A comment: printable characters, then the end of its line.
    fn comment(&mut self, token: Token) -> Read<()> {
        self.check_trivia(token, Raw::decode_comment)?;
        match self.next() {
            Some(t) if t.kind() == TokenKind::Newline => self.newline(t),
            Some(t) if t.kind() != TokenKind::Eof => syntax(
                "unexpected content between comment and newline",
                &[Expected::Literal("\n")],
                t.span().before(),
            ),
            _ => Ok(()),
        }
    }

    /// A line end: LF or CRLF, not a lone CR.
    fn newline(&mut self, token: Token) -> Read<()> {
        self.check_trivia(token, Raw::decode_newline)
    }

    fn check_trivia(
        &mut self,
        token: Token,
        decode: fn(&Raw<'t>, &mut dyn toml_parser::ErrorSink),
    ) -> Read<()> {
        let at = token.span();
        let raw = Raw::new_unchecked(self.text.get(at.start()..at.end()).unwrap_or(""), None, at);
        let mut error = None;
        decode(&raw, &mut error);
        match error {
            Some(e) => Err(Box::new(e)),
            None => Ok(()),
        }
    }
}
