//! Text from logs, made safe to print on a terminal, and measured the way
//! a terminal draws it.
//!
//! Metric names, run names, notes and folder names come from files other
//! programs wrote. Printed raw, an ESC or C1 byte starts a terminal command
//! (set the window title, write the clipboard, move the cursor), a newline
//! forges output lines and a bidi override reverses what follows.
//! [`printable`] writes every such character as a visible escape instead;
//! every path that prints log-derived text on a terminal goes through it
//! (the dashboard draws through ratatui, which drops them itself: see
//! `tests/hostile.rs`).

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

/// Whether `c` must not reach a terminal as is: C0 and C1 controls, DEL,
/// the bidirectional formatting characters, and the line and paragraph
/// separators.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `s` with every [unsafe](is_unsafe) character written as a visible escape:
/// `\n`, `\t`, `\r`, `\x1b` for the other C0 controls and DEL, `\u{9b}` for
/// the rest. Borrowed when there is nothing to replace.
pub fn printable(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(is_unsafe) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c <= '\u{7f}' && is_unsafe(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Columns `s` takes on a terminal (wide CJK and emoji count two).
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// The longest prefix of `s` that fits in `columns` terminal columns.
pub fn truncate_to_width(s: &str, columns: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > columns {
            return &s[..i];
        }
        used += w;
    }
    s
}

/// Appends `s` to `out`, padded with spaces to `columns` terminal columns
/// (left-aligned, or right-aligned with `right`). Unlike `format!`'s
/// `{:<w$}`, this counts columns rather than characters and takes any width.
pub fn pad(out: &mut String, s: &str, columns: usize, right: bool) {
    let fill = columns.saturating_sub(width(s));
    if right {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    } else {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible_escapes() {
        assert_eq!(printable("train/loss"), "train/loss");
        assert!(matches!(printable("größe/√x 学习"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a\x1b]0;pwned\x07b"),
            "a\\x1b]0;pwned\\x07b",
            "OSC 0 title"
        );
        assert_eq!(printable("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(
            printable("\u{7f}\u{2066}\u{2029}"),
            "\\x7f\\u{2066}\\u{2029}"
        );
        for c in printable("\x1b\u{85}\u{9b}\u{202e}\u{2069}\u{61c}").chars() {
            assert!(!is_unsafe(c), "{c:?}");
        }
        // Emoji sequences keep their joiners.
        assert_eq!(printable("👩\u{200d}🔬"), "👩\u{200d}🔬");
    }

    #[test]
    fn widths_count_terminal_columns() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("学习率"), 6);
        assert_eq!(truncate_to_width("学习率", 5), "学习");
        assert_eq!(truncate_to_width("ab", 5), "ab");
        let mut s = String::new();
        pad(&mut s, "学习", 6, false);
        pad(&mut s, "x", 3, true);
        assert_eq!(s, "学习    x");
        // Any width: no formatting-argument limit.
        let mut long = String::new();
        pad(&mut long, "x", 70_000, false);
        assert_eq!(long.len(), 70_000);
    }
}
