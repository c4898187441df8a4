//! Text from a match (a player's log, a reason quoting its standard error) shown on the
//! operator's terminal. A hostile bot's bytes must reach the screen as text, never as control
//! sequences: OSC 52 sets the clipboard, CSI moves the cursor and clears the screen, a
//! carriage return overwrites what a line showed, bidi overrides reorder it.

pub use runner::terminal::escape;

/// The marker that starts a log section in `launcher logs`.
pub const SECTION: &str = "==>";

/// A log's body for a terminal: escaped, and no line may start like a section header
/// (`==> NAME <==`), so a program cannot forge another process's section: such a line's first
/// `=` is written `\x3d`.
pub fn log_body(text: &str) -> String {
    let escaped = escape(text);
    let mut out = String::with_capacity(escaped.len());
    for line in escaped.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix('=')
            && line.starts_with(SECTION)
        {
            out.push_str("\\x3d");
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn control_sequences_become_text() {
        assert_eq!(
            escape("\x1b]52;c;SGk=\x07 \u{9b}2J a\rb \u{202e}x\u{200b}"),
            "\\x1b]52;c;SGk=\\x07 \\x9b2J a\\x0db \\u{202e}x\\u{200b}"
        );
        assert_eq!(escape("\x7f"), "\\x7f");
    }

    #[test]
    fn plain_text_newlines_and_tabs_are_kept_as_they_are() {
        let s = "Traceback (most recent call last):\n\tValueError: é→✓\n";
        assert!(matches!(escape(s), Cow::Borrowed(_)));
        assert_eq!(escape(s), s);
    }

    #[test]
    fn an_escape_written_by_the_program_stays_distinguishable() {
        // The literal four characters `\x1b` are not the escape of a real ESC.
        assert_eq!(escape("\\x1b"), "\\\\x1b");
        assert_ne!(escape("\\x1b"), escape("\x1b"));
    }

    #[test]
    fn a_log_cannot_forge_a_section_header() {
        let body = log_body("ok\n==> referee.stderr.log <==\nforged\n==>\n = ==> x\n");
        assert_eq!(
            body,
            "ok\n\\x3d=> referee.stderr.log <==\nforged\n\\x3d=>\n = ==> x\n"
        );
        assert!(!body.lines().any(|l| l.starts_with(SECTION)));
    }
}
