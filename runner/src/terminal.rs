//! Text a program wrote, made safe to show: a hostile bot's bytes must reach a screen as text,
//! never as control sequences (OSC 52 sets the clipboard, CSI moves the cursor and clears the
//! screen, a carriage return overwrites what a line showed, bidi overrides reorder it). The
//! runner escapes what it quotes in reports; the launcher escapes what it prints.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character may change how the terminal shows what follows: C0 and C1 controls and
/// DEL (but not newline and tab), and the invisible format characters that reorder or hide text
/// (bidi embeddings, overrides and isolates, zero-width characters, the byte-order mark,
/// interlinear annotations).
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `text` with every unsafe character written as an escape: `\x1b` for the C0 and C1 ranges
/// and DEL, `\u{202e}` for the rest; a backslash that would start such an escape is doubled,
/// so the escaped text reads back without ambiguity.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| unsafe_char(c) || c == '\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if unsafe_char(c) && u32::from(c) <= 0xFF => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}
