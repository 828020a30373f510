//! Text from a control plane, made safe to show on a terminal or in a CI log.
//!
//! A control plane's answers (image URIs, names, descriptions, error messages) are data, not
//! terminal input: an ESC would start an escape sequence (recolour, move the cursor, set the
//! window title), a newline or carriage return would forge a line of output (or a CI workflow
//! command), and a bidirectional override would make text read differently than it is. Every
//! human output goes through [`printable`], which shows such characters as visible escapes and
//! leaves everything else as it is. JSON output does not need it: serde escapes control
//! characters in strings.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with each control character shown as an escape: `\n`, `\r`, `\t`, `\0`, `\x1b` for
/// the other ASCII controls (and DEL), `\u{9b}` for C1 controls and the bidirectional
/// formatting characters (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069). Borrowed when there
/// is nothing to escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            '\0' => shown.push_str("\\0"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                let _ = write!(shown, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(shown, "\\u{{{:x}}}", c as u32);
            }
            c => shown.push(c),
        }
    }
    Cow::Owned(shown)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "registry.example.com/shop/api:1.4.2 → dev (règle ünïcode)";
        assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn ascii_controls_are_shown_as_escapes() {
        assert_eq!(
            printable("img\u{1b}[31mred\u{7}\nfake line\r\tx\0y\u{7f}"),
            "img\\x1b[31mred\\x07\\nfake line\\r\\tx\\0y\\x7f"
        );
    }

    #[test]
    fn c1_controls_and_bidi_overrides_are_shown_as_escapes() {
        assert_eq!(
            printable("a\u{9b}31mb\u{202e}cba\u{2066}"),
            "a\\u{9b}31mb\\u{202e}cba\\u{2066}"
        );
    }

    #[test]
    fn a_backslash_stays_a_backslash() {
        assert_eq!(printable("a\\x1b"), "a\\x1b");
    }
}
