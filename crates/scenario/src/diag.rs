//! Diagnostics for scenario files: a message tied to a source span, rendered
//! rustc-style with the offending line, a caret underline and an optional hint.
//!
//! Rendering is plain text (no colours) so the exact output can be asserted in
//! tests and pasted into bug reports; callers that want colour can wrap it.

use std::borrow::Cow;
use std::fmt;

use crate::yaml::Span;

/// One problem found in a scenario file, located by a [`Span`].
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The headline, e.g. "unknown key `sleeep` in step".
    pub message: String,
    /// Where in the source the problem is.
    pub span: Span,
    /// Short text printed right after the caret underline.
    pub label: Option<String>,
    /// Advice printed as a final `= hint:` line.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with just a message and a location.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic { message: message.into(), span, label: None, hint: None }
    }

    /// Sets the text shown after the caret underline.
    #[must_use]
    pub fn with_label(mut self, l: impl Into<String>) -> Self {
        self.label = Some(l.into());
        self
    }

    /// Sets the `= hint:` line.
    #[must_use]
    pub fn with_hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }

    /// Renders the diagnostic against the source it points into.
    ///
    /// `file` is only used for the `-->` line, so pass whatever path the user
    /// typed. The result always ends with a newline.
    pub fn render(&self, file: &str, source: &str) -> String {
        // Positions come from outside (parser, plugins); treat 0 as "start" so a
        // sloppy span still renders instead of underflowing.
        let line_no = self.span.line.max(1) as usize;
        let col_no = self.span.column.max(1) as usize;

        let lines: Vec<&str> = source.lines().collect();
        // An end-of-file error can point one line past the last one; show the last
        // real line with the caret just after its end, which is where input stopped.
        let (shown_no, text, caret_col, carets) = match lines.get(line_no - 1) {
            Some(text) => {
                let chars: Vec<char> = text.chars().collect();
                let start = (col_no - 1).min(chars.len());
                (line_no, *text, start, caret_count(&chars[start..], self.span.len))
            }
            None => {
                let shown = lines.len().max(1);
                let text = lines.last().copied().unwrap_or("");
                (shown, text, text.chars().count(), 1)
            }
        };

        // Control characters in the source would drive the terminal rather than
        // show up; swap each for one visible char so caret columns still match.
        let chars: Vec<char> = text.chars().map(|c| if c.is_control() && c != '\t' { '\u{FFFD}' } else { c }).collect();
        // A long line is cut around the span so the caret stays on screen.
        let window = Window::around(chars.len(), caret_col, carets);
        let carets = window.carets;
        let mut text: String = chars[window.start..window.end].iter().collect();
        // Reproduce tabs in the padding so the caret lines up however wide the
        // terminal renders a tab; everything else is one column per char.
        let mut pad: String =
            chars[window.start..caret_col].iter().map(|c| if *c == '\t' { '\t' } else { ' ' }).collect();
        if window.start > 0 {
            text.insert(0, ELLIPSIS);
            pad.insert(0, ' ');
        }
        if window.end < chars.len() {
            text.push(ELLIPSIS);
        }
        let w = shown_no.to_string().len();
        let blank = " ".repeat(w + 1);

        let mut out = String::new();
        out.push_str(&format!("error: {}\n", printable(&self.message)));
        out.push_str(&format!("{}--> {}:{}:{}\n", " ".repeat(w), file, line_no, col_no));
        out.push_str(&format!("{blank}|\n"));
        if text.is_empty() {
            out.push_str(&format!("{shown_no:>w$} |\n"));
        } else {
            out.push_str(&format!("{shown_no:>w$} | {text}\n"));
        }
        out.push_str(&format!("{blank}| {pad}{}", "^".repeat(carets)));
        if let Some(label) = &self.label {
            out.push(' ');
            out.push_str(&printable(label));
        }
        out.push('\n');
        if let Some(hint) = &self.hint {
            out.push_str(&format!("{blank}= hint: {}\n", printable(hint)));
        }
        out
    }
}

/// The most characters of a source line shown under `-->`; a longer line is
/// cut around the span, with [`ELLIPSIS`] where text was left out.
pub const MAX_SHOWN_LINE: usize = 120;
/// Characters shown before the span when a long line is cut.
const CONTEXT_BEFORE: usize = 40;
/// Marks where a long line was cut.
const ELLIPSIS: char = '…';

/// The part of a line that is shown: chars `start..end`, and how many carets
/// fit in it.
#[derive(Debug, PartialEq)]
struct Window {
    start: usize,
    end: usize,
    carets: usize,
}

impl Window {
    /// The window over a line of `len` chars for carets at `caret_col..caret_col + carets`.
    /// Short lines are shown whole; a long one is cut to [`MAX_SHOWN_LINE`]
    /// chars with some context before the caret, and carets that would run
    /// past the window stop at its end.
    fn around(len: usize, caret_col: usize, carets: usize) -> Window {
        if len <= MAX_SHOWN_LINE {
            return Window { start: 0, end: len, carets };
        }
        let mut start = caret_col.saturating_sub(CONTEXT_BEFORE);
        // Near the end of the line: show a full window rather than a short tail.
        // The caret may sit one past the last char (end of input).
        start = start.min((len + 1).saturating_sub(MAX_SHOWN_LINE));
        let end = (start + MAX_SHOWN_LINE).min(len);
        let room = (start + MAX_SHOWN_LINE).saturating_sub(caret_col).max(1);
        Window { start, end, carets: carets.min(room) }
    }
}

/// Escapes control characters: messages quote user text (keys, values), and
/// a key like `"\e[2J"` must not be able to clear the user's terminal.
fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        s.chars().map(|c| if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }).collect()
    } else {
        Cow::Borrowed(s)
    }
}

/// A file whose bytes are not UTF-8: where the first bad byte is, and the
/// file's text with every bad sequence shown as U+FFFD, to render against.
#[derive(Clone, Debug)]
pub struct NotUtf8 {
    /// The diagnostic at the first byte that is not UTF-8.
    pub diagnostic: Diagnostic,
    /// The file decoded lossily, so the diagnostic can show its line.
    pub lossy: String,
}

/// Decodes a scenario file's bytes. Files that are not UTF-8 (Latin-1, UTF-16
/// saved by an editor, a binary file given by mistake) get a diagnostic at the
/// line and column of the first invalid byte instead of a bare I/O error.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, Box<NotUtf8>> {
    let err = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(e) => e,
    };
    let at = err.utf8_error().valid_up_to();
    let bytes = err.into_bytes();
    let valid = std::str::from_utf8(&bytes[..at]).expect("valid up to here");
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line = valid.matches('\n').count() + 1;
    let column = valid[line_start..].chars().count() + 1;
    let byte = bytes[at];
    // In the lossy text the bad sequence is one U+FFFD (3 bytes) at the same place.
    let span = Span { line: saturate(line), column: saturate(column), offset: at, len: '\u{FFFD}'.len_utf8() };
    let diagnostic = Diagnostic::new(span, format!("the file is not valid UTF-8: byte 0x{byte:02X} at offset {at}"))
        .with_label("not UTF-8")
        .with_hint(
            "save the file as UTF-8, e.g. `iconv -f LATIN1 -t UTF-8 old.yaml > new.yaml` \
             (the bad byte is shown as \u{FFFD} above)",
        );
    Err(Box::new(NotUtf8 { diagnostic, lossy: String::from_utf8_lossy(&bytes).into_owned() }))
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// How many carets underline a span of `len` bytes starting at `rest[0]`.
///
/// Spans are measured in bytes but carets in characters, so walk the chars
/// until the byte budget is spent. Stopping at the end of `rest` is what keeps
/// multi-line spans on the first line. Always at least one caret, so empty
/// spans (e.g. a missing value) are still visible.
fn caret_count(rest: &[char], len: usize) -> usize {
    let mut bytes = 0;
    let mut n = 0;
    for c in rest {
        if bytes >= len {
            break;
        }
        bytes += c.len_utf8();
        n += 1;
    }
    n.max(1)
}

/// A one-line form, `line:column: message`, for logs and `?` propagation;
/// use [`Diagnostic::render`] for anything a user reads.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.span.line, self.span.column, printable(&self.message))
    }
}

impl std::error::Error for Diagnostic {}

/// Several diagnostics, so a check can report every problem in one run.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }

    /// Adds a diagnostic at the end.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// True when nothing has been reported.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The diagnostics in the order they were pushed.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Renders every diagnostic, separated by a blank line.
    pub fn render(&self, file: &str, source: &str) -> String {
        self.0.iter().map(|d| d.render(file, source)).collect::<Vec<_>>().join("\n")
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(line: u32, column: u32, offset: usize, len: usize) -> Span {
        Span { line, column, offset, len }
    }

    #[test]
    fn renders_like_rustc() {
        let mut source = String::new();
        for i in 1..12 {
            source.push_str(&format!("# line {i}\n"));
        }
        let offset = source.len() + 4;
        source.push_str("  - sleeep: 2s\n");
        let d = Diagnostic::new(span(12, 5, offset, 6), "unknown key `sleeep` in step")
            .with_label("unknown key")
            .with_hint("did you mean `sleep`?");
        assert_eq!(
            d.render("scenarios/x.yaml", &source),
            "error: unknown key `sleeep` in step
  --> scenarios/x.yaml:12:5
   |
12 |   - sleeep: 2s
   |     ^^^^^^ unknown key
   = hint: did you mean `sleep`?
"
        );
    }

    #[test]
    fn without_label_or_hint() {
        let d = Diagnostic::new(span(1, 1, 0, 0), "boom");
        assert_eq!(d.render("f.yaml", "abc"), "error: boom\n --> f.yaml:1:1\n  |\n1 | abc\n  | ^\n");
    }

    #[test]
    fn caret_counts_characters_not_bytes() {
        // "ñé: x" — the value starts at char column 5 but byte offset 6.
        let source = "ñé: xyz\n";
        let d = Diagnostic::new(span(1, 5, 6, 3), "bad").with_label("here");
        assert_eq!(d.render("f", source), "error: bad\n --> f:1:5\n  |\n1 | ñé: xyz\n  |     ^^^ here\n");
        // A multi-byte character under the caret is one caret, not two.
        let d = Diagnostic::new(span(1, 1, 0, 4), "key");
        assert!(d.render("f", source).ends_with("  | ^^\n"));
    }

    #[test]
    fn tabs_are_kept_in_the_padding() {
        let d = Diagnostic::new(span(1, 3, 2, 1), "tab");
        assert!(d.render("f", "\t\tx").ends_with("  | \t\t^\n"));
    }

    #[test]
    fn multi_line_span_stops_at_end_of_first_line() {
        let source = "a: \"one\n  two\"\n";
        let d = Diagnostic::new(span(1, 4, 3, 11), "multi");
        assert!(d.render("f", source).ends_with("1 | a: \"one\n  |    ^^^^\n"));
    }

    #[test]
    fn past_the_end_shows_last_line() {
        let source = "key: \"unterminated\n";
        let d = Diagnostic::new(span(2, 1, 19, 1), "eof");
        assert_eq!(
            d.render("f", source),
            "error: eof\n --> f:2:1\n  |\n1 | key: \"unterminated\n  |                   ^\n"
        );
        // Even an empty source renders.
        let d = Diagnostic::new(span(3, 7, 0, 0), "empty");
        assert_eq!(d.render("f", ""), "error: empty\n --> f:3:7\n  |\n1 |\n  | ^\n");
    }

    #[test]
    fn control_characters_are_neutralised() {
        let d = Diagnostic::new(span(1, 4, 3, 1), "unknown key `\u{1b}[2J`").with_hint("\u{7}");
        assert_eq!(
            d.render("f", "a\u{1b}: \u{7}x\n"),
            "error: unknown key `\\u{1b}[2J`\n --> f:1:4\n  |\n1 | a\u{FFFD}: \u{FFFD}x\n  |    ^\n  = hint: \\u{7}\n"
        );
    }

    #[test]
    fn column_past_end_of_line_puts_caret_after_it() {
        let d = Diagnostic::new(span(1, 50, 2, 5), "far");
        assert!(d.render("f", "ab\ncd").ends_with("1 | ab\n  |   ^\n"));
    }

    #[test]
    fn multiple_diagnostics_are_separated_by_a_blank_line() {
        let mut ds = Diagnostics::new();
        assert!(ds.is_empty());
        ds.push(Diagnostic::new(span(1, 1, 0, 1), "one"));
        ds.push(Diagnostic::new(span(2, 1, 2, 1), "two").with_hint("h"));
        assert_eq!(ds.len(), 2);
        assert_eq!(
            ds.render("f", "a\nb\n"),
            "error: one\n --> f:1:1\n  |\n1 | a\n  | ^\n\
             \n\
             error: two\n --> f:2:1\n  |\n2 | b\n  | ^\n  = hint: h\n"
        );
        let single: Diagnostics = Diagnostic::new(span(1, 1, 0, 1), "x").into();
        assert_eq!(single.0.len(), 1);
    }

    #[test]
    fn a_long_line_is_cut_around_the_caret() {
        // A 60 KB line with the error in the middle, after multi-byte chars.
        let line = format!("k: {}{}XYZ{}", "é".repeat(30_000), "a".repeat(100), "b".repeat(30_000));
        let col = 3 + 30_000 + 100 + 1;
        let offset = 3 + 30_000 * 2 + 100;
        let d = Diagnostic::new(span(1, col as u32, offset, 3), "bad").with_label("here");
        let out = d.render("f", &line);
        let shown = format!("…{}XYZ{}…", "a".repeat(40), "b".repeat(77));
        assert_eq!(out, format!("error: bad\n --> f:1:{col}\n  |\n1 | {shown}\n  | {}^^^ here\n", " ".repeat(41)));
        assert!(out.len() < 400, "the line is not printed whole");
        // The caret is under the span, counted in chars.
        let lines: Vec<&str> = out.lines().collect();
        let caret_at = lines[4].chars().position(|c| c == '^').unwrap();
        assert_eq!(lines[3].chars().nth(caret_at), Some('X'));
    }

    #[test]
    fn long_lines_keep_their_start_and_end_when_the_span_is_there() {
        let line = "x".repeat(500);
        let start = Diagnostic::new(span(1, 1, 0, 1), "a").render("f", &line);
        assert!(start.contains(&format!("1 | {}…\n  | ^\n", "x".repeat(120))), "{start}");
        // Past the end of a long line: the last chars, the caret after them.
        let end = Diagnostic::new(span(1, 501, 500, 1), "b").render("f", &line);
        assert!(end.contains(&format!("1 | …{}\n  | {}^\n", "x".repeat(119), " ".repeat(120))), "{end}");
        // A span wider than the window stops at its edge.
        let wide = Diagnostic::new(span(1, 11, 10, 400), "c").render("f", &line);
        assert!(wide.ends_with(&format!("  | {}{}\n", " ".repeat(10), "^".repeat(110))), "{wide}");
        // Exactly 120 chars: shown whole.
        let d = Diagnostic::new(span(1, 1, 0, 1), "d").render("f", &line[..120]);
        assert!(!d.contains('…'));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_located() {
        assert_eq!(decode_utf8(b"ok\n".to_vec()).unwrap(), "ok\n");
        let err = decode_utf8(b"a: 1\nb: \xc3\xa9\xff\n".to_vec()).unwrap_err();
        assert_eq!((err.diagnostic.span.line, err.diagnostic.span.column), (2, 5));
        assert_eq!(err.lossy, "a: 1\nb: \u{e9}\u{FFFD}\n");
        assert_eq!(err.diagnostic.message, "the file is not valid UTF-8: byte 0xFF at offset 10");
        let rendered = err.diagnostic.render("f", &err.lossy);
        assert!(rendered.ends_with("2 | b: \u{e9}\u{FFFD}\n  |     ^ not UTF-8\n  = hint: save the file as UTF-8, e.g. `iconv -f LATIN1 -t UTF-8 old.yaml > new.yaml` (the bad byte is shown as \u{FFFD} above)\n"), "{rendered}");
    }

    #[test]
    fn display_is_one_line() {
        let d = Diagnostic::new(span(3, 4, 0, 1), "oops");
        assert_eq!(d.to_string(), "3:4: oops");
    }
}
