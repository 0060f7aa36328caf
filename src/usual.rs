//! The usual layout of a decision request as JSON text,
//! `{"snapshot": S, "role": "r", "action": "a"}`, found from both ends
//! without reading S: `decide --batch` lines and the server's `decide`
//! bodies cost one pass, the snapshot's own parse. Anything else is read
//! the careful way by the caller.

/// JSON's white space.
const SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// `{"snapshot": S, "role": "r", "action": "a"}` (role and action in
/// either order, plain strings without escapes): S, the role and the
/// action. The snapshot is not looked at: its end is found
/// from the line's end, so the line costs one pass, the snapshot's parse.
/// When S then parses as a document, the line was exactly this object.
pub(crate) fn layout(text: &str) -> Option<(&str, &str, &str)> {
    let b = text.as_bytes();
    let open = skip_space(b, bom_len(text));
    let rest = text.get(open..)?.strip_prefix('{')?;
    let rest = rest
        .trim_start_matches(SPACE)
        .strip_prefix("\"snapshot\"")?;
    let rest = rest.trim_start_matches(SPACE).strip_prefix(':')?;
    let rest = rest.trim_start_matches(SPACE);
    let at = text.len() - rest.len();
    let mut end = text
        .trim_end_matches([' ', '\t', '\r', '\n'])
        .strip_suffix('}')?;
    let (mut role, mut action) = (None, None);
    for _ in 0..2 {
        let (before, key, value) = last_member(end)?;
        let slot = match key {
            "role" => &mut role,
            "action" => &mut action,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
        end = before;
    }
    let snapshot = text.get(at..end.len())?.trim_end_matches(SPACE);
    Some((snapshot, role?, action?))
}

/// The last `, "key": "value"` of `text` (plain strings only): the text
/// before it, the key and the value.
fn last_member(text: &str) -> Option<(&str, &str, &str)> {
    let (rest, value) = last_string(text.trim_end_matches(SPACE))?;
    let rest = rest.trim_end_matches(SPACE).strip_suffix(':')?;
    let (rest, key) = last_string(rest.trim_end_matches(SPACE))?;
    let rest = rest.trim_end_matches(SPACE).strip_suffix(',')?;
    Some((rest, key, value))
}

/// The string `"..."` that `text` ends with, if it holds no `\\` and no
/// control character: the text before it, and its content.
fn last_string(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_suffix('"')?;
    let open = inner.rfind('"')?;
    let content = inner.get(open + 1..)?;
    if content.bytes().any(|c| c == b'\\' || c < 0x20) {
        return None;
    }
    Some((inner.get(..open)?, content))
}

/// The length of the UTF-8 byte-order mark the line starts with, if any:
/// it is skipped, as in a snapshot file, and columns still count its
/// three bytes.
pub(crate) fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    }
}

pub(crate) fn skip_space(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SNAP: &str = r#"{"now":"2026-11-22T10:00:00Z"}"#;

    #[test]
    fn the_usual_layout_is_found_from_both_ends() {
        let line = format!(r#"{{"snapshot": {SNAP}, "role": "owner", "action":"run_tool"}}"#);
        assert_eq!(layout(&line), Some((SNAP, "owner", "run_tool")));
        let line = format!(r#" {{"snapshot":{SNAP},"action":"a","role":"r"}} "#);
        assert_eq!(layout(&line), Some((SNAP, "r", "a")));
        // Escapes, other keys and other orders take the careful way.
        for line in [
            format!(r#"{{"snapshot":{SNAP},"role":"o\"","action":"a"}}"#),
            format!(r#"{{"snapshot":{SNAP},"role":"r","role":"a"}}"#),
            format!(r#"{{"role":"r","snapshot":{SNAP},"action":"a"}}"#),
        ] {
            assert_eq!(layout(&line), None, "{line}");
        }
    }

    #[test]
    fn white_space_between_members_may_be_any_of_json_s() {
        let body = format!(
            "{{\n  \"snapshot\": {SNAP},\r\n  \"role\": \"owner\",\n\t\"action\": \"run_tool\"\n}}\n"
        );
        assert_eq!(layout(&body), Some((SNAP, "owner", "run_tool")));
    }
}
