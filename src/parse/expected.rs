//! Pest's view of a syntax error, turned into words a person reads.
//!
//! This is the one place that knows the grammar's rule names; everything a
//! user sees is phrased here.

use pest::error::Error;
use pest::error::{ErrorVariant, InputLocation};

use super::grammar::Rule;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// What an expression is called where one is expected.
const VALUE: &str = "a value or expression";

/// What [`VALUE`] covers: where an expression is expected, these are not
/// listed beside it.
const VALUES: &[&str] = &[
    "a name",
    "a number",
    "a duration such as `7d`",
    "a message in double quotes",
];

/// What one grammar rule means to a reader, or `None` for rules that only
/// glue others together and would add noise to "expected ...".
fn describe(r: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match r {
        ident | path | names => "a name",
        field_name => "a field name",
        number | digits => "a number",
        duration => "a duration such as `7d`",
        string | text | string_text => "a message in double quotes",
        sort_keys | sort_key => "a sort key such as `expires_at`",
        item | doc | policy_decl | role_decl | actions_decl | credits_decl | debts_decl
        | enum_decl | field_decl | permit_decl | lock_decl | spend_decl | settle_decl
        | let_decl | step_decl | state_decl | on_block | shortfall_decl | kw_shortfall
        | kw_policy | kw_role | kw_actions | kw_credits | kw_debts | kw_enum | kw_field
        | kw_permit | kw_lock | kw_spend | kw_let | kw_step | kw_state | kw_on => {
            "a declaration such as `role`, `state` or `on`"
        }
        rule | deny_rule | warn_rule | effect_rule | kw_deny | kw_warn | kw_effect => {
            "a rule (`deny`, `warn` or `effect`)"
        }
        message_clause | kw_message => "`message`",
        steps_clause | kw_steps => "`steps`",
        may_settle | kw_may => "`may settle`",
        settle_source => "a debt kind and its sources, such as `outstanding_usage from usable`",
        step_use => "a step name",
        effect_param => "a parameter such as `amount = ...`",
        audience => "`for`",
        expr | clause | arith | primary | aggregate | neg | kw_not | bad_not | kw_true
        | kw_false | kw_sum | kw_count | list => VALUE,
        cmp_op | bad_eq => "a comparison such as `==` or `<=`",
        in_op | kw_in => "`in`",
        in_set => "a list such as `[a, b]` or a category",
        add_op | mul_op | coalesce_op => "an operator",
        kw_and | bad_and => "`and`",
        kw_or | bad_or => "`or`",
        collection | kw_grants => "`grants` or `debts`",
        EOI => "the end of the declaration",
        kw_with => "`with`",
        kw_access => "`access`",
        kw_optional => "`optional`",
        kw_default => "`default`",
        kw_to => "`to`",
        kw_all => "`all`",
        kw_except => "`except`",
        kw_when => "`when`",
        kw_settle => "`settle`",
        kw_by => "`by`",
        kw_asc | kw_desc => "`asc` or `desc`",
        kw_from => "`from`",
        kw_otherwise => "`otherwise`",
        kw_forbidden => "`forbidden`",
        kw_for => "`for`",
        kw_others => "`others`",
        kw_of => "`of`",
        kw_where => "`where`",
        kw_is => "`is`",
        _ => return None,
    })
}

/// Turns a pest error on one item's text into a diagnostic on the file.
/// `text` is the item's text and `offset` where it starts in the file.
pub(super) fn syntax_error(err: &Error<Rule>, text: &str, offset: usize) -> Diagnostic {
    let mut pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let mut expected: Vec<&'static str> = Vec::new();
    let push = |what: &'static str, expected: &mut Vec<&'static str>| {
        if !expected.contains(&what) {
            expected.push(what);
        }
    };
    // pest's positives only name rules, so a missing `:` or `{` is reported
    // at the start of the item. The detailed attempts know the furthest
    // token it wanted: use them when they name punctuation further on.
    let attempts = err.parse_attempts();
    let further = attempts.as_ref().filter(|a| {
        a.max_position > pos
            && a.expected_tokens()
                .iter()
                .any(|t| punctuation(&t.to_string()).is_some())
    });
    if let Some(a) = further {
        pos = a.max_position;
        for token in a.expected_tokens() {
            let token = token.to_string();
            if let Some(words) = punctuation(&token).or_else(|| keyword_words(&token)) {
                push(words, &mut expected);
            }
        }
    } else {
        if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
            for words in positives.iter().filter_map(|&r| describe(r)) {
                push(words, &mut expected);
            }
        }
        let same_place = attempts.iter().filter(|a| a.max_position == pos);
        for token in same_place.flat_map(|a| a.expected_tokens()) {
            if let Some(words) = punctuation(&token.to_string()) {
                push(words, &mut expected);
            }
        }
    }

    let found = found_at(text, pos);
    let span = match &found {
        Found::Token(t) => Span::new(offset + pos, offset + pos + t.len()),
        Found::End => Span::point(offset + text.trim_end().len()),
    };
    let found_words = match &found {
        Found::Token(t) => format!("`{t}`"),
        Found::End => "the end of the declaration".to_owned(),
    };

    if let Found::Token(word) = &found {
        if crate::parse::is_keyword(word) && expected.contains(&"a name") {
            return Diagnostic::new(
                Code::Syntax,
                span,
                format!("`{word}` is a keyword and cannot be used as a name"),
            )
            .label("keyword used as a name")
            .help(format!("choose another name, such as `{word}_`"));
        }
        if ["==", "!=", "<=", ">=", "<", ">"].contains(&word.as_str())
            && expected.contains(&"`and`")
        {
            return Diagnostic::new(Code::Syntax, span, "comparisons cannot be chained")
                .label("a second comparison")
                .help("compare twice and join with `and`: `a < b and b <= c`");
        }
        if word.starts_with('"') && !string_closes(text.get(pos..).unwrap_or("")) {
            return Diagnostic::new(Code::Syntax, span, "unterminated string")
                .label("this string never ends")
                .help("close the string with `\"` on the same line; join lines by writing one string per line");
        }
    }

    // A list item tries a name or a literal before a whole expression
    // (the grammar's `list_item`), and each try is one of pest's
    // positives; "a value or expression" already says all of them.
    if expected.contains(&VALUE) {
        expected.retain(|w| !VALUES.contains(w));
    }
    let message = if expected.is_empty() {
        format!("unexpected {found_words}")
    } else {
        format!("expected {}, found {found_words}", one_of(&expected))
    };
    let mut diagnostic = Diagnostic::new(Code::Syntax, span, message).label(match &found {
        Found::Token(_) => "unexpected here",
        Found::End => "the declaration ends here",
    });
    let first_word = text
        .trim_start()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    let help = match first_word {
        // `spend` with nothing after it: say what the two parts are.
        "spend" | "settle" if expected.contains(&"`by`") && matches!(found, Found::End) => {
            Some(format!(
                "a {first_word} order names the kinds (`{first_word} a, b`), the order (`{first_word} by {key}, id`), or both; \
             without kinds, every kind takes part",
                key = if first_word == "spend" {
                    "expires_at"
                } else {
                    "created_at"
                },
            ))
        }
        _ => hint(&expected, &found),
    };
    if let Some(help) = help {
        diagnostic = diagnostic.help(help);
    }
    diagnostic
}

/// Keywords the grammar expected, from pest's token attempts.
fn keyword_words(token: &str) -> Option<&'static str> {
    Some(match token {
        "when" => "`when`",
        "otherwise" => "`otherwise`",
        "message" => "`message`",
        "steps" => "`steps`",
        "to" => "`to`",
        "from" => "`from`",
        "of" => "`of`",
        _ => return None,
    })
}

/// Punctuation the grammar expected, in backticks; words are covered by rules.
fn punctuation(token: &str) -> Option<&'static str> {
    Some(match token {
        "{" => "`{`",
        "}" => "`}`",
        "(" => "`(`",
        ")" => "`)`",
        "[" => "`[`",
        "]" => "`]`",
        ":" => "`:`",
        "=" => "`=`",
        "," => "`,`",
        "??" => "`??`",
        _ => return None,
    })
}

fn hint(expected: &[&str], found: &Found) -> Option<String> {
    let expects = |w: &str| expected.contains(&w);
    if expects("`}`") && matches!(found, Found::End) {
        return Some(
            "every `{` needs a matching `}`: close the block before the next declaration".into(),
        );
    }
    if expects("`}`") {
        return Some("if the block above is complete, a `}` is missing before this".into());
    }
    if expects("`)`") {
        return Some("every `(` needs a matching `)`".into());
    }
    if expects("the end of the declaration") {
        return Some(
            "each declaration starts on its own line with a keyword such as `role`, `state` or `on`; \
             separate list items with commas"
                .into(),
        );
    }
    if expects("a declaration such as `role`, `state` or `on`") {
        return Some(
            "a policy is a list of declarations, each starting with a keyword: \
             `policy`, `role`, `actions`, `credits`, `debts`, `enum`, `field`, `permit`, \
             `lock`, `spend`, `settle`, `shortfall`, `expire`, `let`, `step`, `state` or `on`"
                .into(),
        );
    }
    if expects("a message in double quotes") {
        return Some("write the text in double quotes: `\"...\"`".into());
    }
    None
}

fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

enum Found {
    Token(String),
    End,
}

/// The token at `pos`: a word, a number, a string start, or one character.
fn found_at(text: &str, pos: usize) -> Found {
    let rest = text.get(pos..).unwrap_or("");
    if only_trivia(rest) {
        return Found::End;
    }
    let mut chars = rest.chars();
    let Some(first) = chars.next() else {
        return Found::End;
    };
    let token: String = if first.is_alphanumeric() || first == '_' {
        rest.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .take(40)
            .collect()
    } else if first == '"' {
        // Up to the line end, which a lone CR is too, as in the grammar.
        let line = rest.split(['\n', '\r']).next().unwrap_or("");
        line.chars().take(40).collect()
    } else {
        let two: String = rest.chars().take(2).collect();
        if ["==", "!=", "<=", ">=", "&&", "||", "??", "//"].contains(&two.as_str()) {
            two
        } else {
            first.to_string()
        }
    };
    Found::Token(token)
}

/// Whether the string starting `rest` closes on its line (LF, CRLF or a
/// lone CR ends it, as `NEWLINE` in the grammar).
fn string_closes(rest: &str) -> bool {
    let mut escaped = false;
    for c in rest.chars().skip(1) {
        match c {
            '\n' | '\r' => return false,
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return true,
            _ => {}
        }
    }
    false
}

/// Whether `text` holds nothing but blanks and comments.
fn only_trivia(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with("//") && !line.starts_with("///")
    })
}
