//! Making text from Redis safe to print: records may be written by other programs, and a
//! name holding an escape sequence must never reach the terminal.

/// Replaces control characters (C0, DEL, C1), line and paragraph separators and bidi
/// overrides with `?`, so the text prints as one inert line.
pub fn line(s: &str) -> String {
    s.chars()
        .map(|c| if is_unsafe(c) { '?' } else { c })
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_newlines_are_neutralised() {
        assert_eq!(line("ok\x1b[31mred\x07\n\r\t"), "ok?[31mred????");
        assert_eq!(line("a\u{9b}b\u{202e}c"), "a?b?c");
        assert_eq!(line("ünïcødé ✓"), "ünïcødé ✓");
    }
}
