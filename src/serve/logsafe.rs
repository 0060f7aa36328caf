//! Text from outside the server made safe for the operational log: a
//! client's role or action quoted in a refusal, a policy name taken from a
//! path, a file's path. Written as sent, a line break would forge a whole
//! log line, and a terminal or a log viewer would act on the other
//! characters this escapes (a right-to-left override reverses what
//! follows it). Every value that did not come from the server's own words
//! goes through [`escaped`] before it reaches `tracing`, in both the human
//! and the JSON format (JSON escapes line breaks, but not DEL, C1 controls
//! or bidi controls).

use std::borrow::Cow;

/// Whether `c` is written escaped: the control characters (C0, DEL, C1),
/// the line and paragraph separators (U+2028, U+2029) and the bidi
/// controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `text` with every [`hidden`] character written as Rust writes it in a
/// literal (`\n`, `\u{0}`, `\u{202e}`); the rest as it is. Borrowed when
/// nothing needed escaping, as nearly always.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path as [`escaped`] writes it (not UTF-8: lossily).
pub fn escaped_path(path: &std::path::Path) -> String {
    escaped(&path.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_separators_and_bidi_controls_are_escaped() {
        assert_eq!(escaped("owner"), "owner");
        assert!(matches!(escaped("rôle ✓"), Cow::Borrowed(_)));
        assert_eq!(
            escaped("x\n2026 INFO forged\r\t\u{0}\u{1b}\u{7f}\u{85}\u{9f}"),
            "x\\n2026 INFO forged\\r\\t\\u{0}\\u{1b}\\u{7f}\\u{85}\\u{9f}"
        );
        for c in [
            '\u{2028}', '\u{2029}', '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}',
            '\u{2066}', '\u{2069}',
        ] {
            let text = format!("a{c}b");
            assert_eq!(escaped(&text), format!("a\\u{{{:x}}}b", u32::from(c)));
        }
        // Neighbours that are not controls stay.
        assert_eq!(
            escaped("\u{2027}\u{202f}\u{2065}\u{206a}"),
            "\u{2027}\u{202f}\u{2065}\u{206a}"
        );
    }
}
