//! Finds a flow collection (`[...]`, `{...}`) that is never closed.
//!
//! The YAML parser notices an unclosed `[` only where the input stops making
//! sense, often the line after it or the end of the file. Users need the
//! bracket itself, so when parsing fails we scan the source for it: outside
//! quoted strings, comments and block scalars (`|`, `>`), and only where YAML
//! starts a flow collection (a value in block context, anything in flow
//! context), so `matches: x[` or `kill: ${n}` are left alone.

use super::Span;

/// An opening bracket: `[` or `{`, and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Opener {
    /// `[` or `{`.
    pub ch: char,
    /// Where the bracket is (one character).
    pub span: Span,
}

impl Opener {
    /// The bracket that closes this one.
    pub fn closer(self) -> char {
        if self.ch == '[' { ']' } else { '}' }
    }
}

/// The innermost flow collection still open at the end of `source`, or the
/// one a wrong closing bracket ran into (`{a: [1, 2}`). `None` when every
/// bracket is matched.
pub(crate) fn unclosed(source: &str) -> Option<Opener> {
    let mut stack: Vec<Opener> = Vec::new();
    let mut chars = source.char_indices().peekable();
    let (mut line, mut column) = (1u32, 0u32);
    // True where a new value may begin: YAML only opens a collection or a
    // quoted string there; elsewhere `[`, `{` and quotes are plain text.
    let mut token_start = true;
    // Indentation of the current line, and whether we are still in it.
    let (mut indent, mut in_indent) = (0usize, true);
    let mut prev = '\n';
    while let Some((offset, c)) = chars.next() {
        column += 1;
        let next = chars.peek().map_or('\n', |&(_, n)| n);
        if c == '\n' {
            (line, column, indent, in_indent, prev) = (line + 1, 0, 0, true, c);
            token_start = true;
            continue;
        }
        if in_indent && c == ' ' {
            indent += 1;
            prev = c;
            continue;
        }
        in_indent = false;
        let in_flow = !stack.is_empty();
        match c {
            ' ' | '\t' | '\r' => {}
            '#' if prev.is_whitespace() => {
                // A comment runs to the end of the line.
                while chars.next_if(|&(_, n)| n != '\n').is_some() {}
                prev = ' ';
                continue;
            }
            '"' | '\'' if token_start => {
                skip_quoted(c, &mut chars, &mut line, &mut column);
                token_start = false;
            }
            '[' | '{' if token_start || in_flow => {
                let span = Span { line, column, offset, len: 1 };
                stack.push(Opener { ch: c, span });
                token_start = true;
            }
            ']' | '}' if in_flow => {
                let top = *stack.last().expect("in flow");
                if top.closer() != c {
                    return Some(top);
                }
                stack.pop();
                token_start = false;
            }
            ',' if in_flow => token_start = true,
            // `key: value`, and `{a:1}` in flow: a value follows.
            ':' if next.is_whitespace() || in_flow => token_start = true,
            // `- item` and `? key` open a value; inside a plain scalar they are text.
            '-' | '?' if token_start && next.is_whitespace() => {}
            '|' | '>' if token_start && !in_flow => {
                skip_block_scalar(indent, &mut chars);
                (line, column, indent, in_indent, prev) = (line + 1, 0, 0, true, '\n');
                token_start = true;
                continue;
            }
            _ => token_start = false,
        }
        prev = c;
    }
    stack.pop()
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// Skips a quoted string whose opening `quote` was just read.
fn skip_quoted(quote: char, chars: &mut Chars<'_>, line: &mut u32, column: &mut u32) {
    while let Some((_, c)) = chars.next() {
        *column += 1;
        match c {
            '\n' => (*line, *column) = (*line + 1, 0),
            '\\' if quote == '"' && chars.next_if(|&(_, n)| n != '\n').is_some() => *column += 1,
            // `''` is a quote inside a single-quoted string.
            '\'' if quote == '\'' && chars.next_if(|&(_, n)| n == '\'').is_some() => *column += 1,
            c if c == quote => return,
            _ => {}
        }
    }
}

/// Skips the rest of a block scalar's header line, then its content: the
/// following lines indented deeper than `parent` (and blank lines among them).
/// Leaves the iterator at the start of the first line after it.
fn skip_block_scalar(parent: usize, chars: &mut Chars<'_>) {
    while chars.next_if(|&(_, n)| n != '\n').is_some() {}
    loop {
        // At a '\n' (or the end): look at the next line's indentation.
        if chars.next().is_none() {
            return;
        }
        let mut probe = chars.clone();
        let mut spaces = 0;
        while probe.next_if(|&(_, n)| n == ' ').is_some() {
            spaces += 1;
        }
        let blank = probe.peek().is_none_or(|&(_, n)| n == '\n' || n == '\r');
        if !blank && spaces <= parent {
            return;
        }
        while chars.next_if(|&(_, n)| n != '\n').is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(source: &str) -> Option<(char, u32, u32)> {
        unclosed(source).map(|o| (o.ch, o.span.line, o.span.column))
    }

    #[test]
    fn finds_the_bracket_left_open() {
        assert_eq!(at("steps:\n  - kill: [a, b\n  - sleep: 1s\n"), Some(('[', 2, 11)));
        assert_eq!(at("a: {b: [1, 2], c: 3\nd: 4\n"), Some(('{', 1, 4)));
        assert_eq!(at("a: {b: [1, 2}\n"), Some(('[', 1, 8)), "a wrong closer points at what it should close");
        assert_eq!(at("p: [[a, b], [c]\nq: [[a], [b]]\n"), Some(('[', 1, 4)));
        assert_eq!(at("ñé: [x\n"), Some(('[', 1, 5)), "columns count characters");
    }

    #[test]
    fn ignores_what_is_not_a_flow_collection() {
        assert_eq!(at("a: [1, {b: c}]\n- {x: [y]}\n"), None);
        assert_eq!(at("matches: x[ and y{\nkill: ${n}\n"), None, "plain scalars");
        assert_eq!(at("a: \"[\" # [ \nb: '{''['\nc: [\"]\", ']']\n"), None, "quotes and comments");
        assert_eq!(at("config: |\n  [ not yaml {\n\n  more [\nnext: [ok]\n"), None, "block scalars");
        assert_eq!(at("a: \"multi\n  line [\"\n"), None);
        assert_eq!(at("a: it's [fine\n"), None);
        assert_eq!(at("command: set a - [b\n"), None);
    }
}
