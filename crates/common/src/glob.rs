//! Redis's glob patterns (`stringmatchlen` in util.c): KEYS, SCAN MATCH,
//! PSUBSCRIBE, PUBSUB CHANNELS, CONFIG GET and SENTINEL's pattern arguments.

/// Redis's `stringmatchlen` subset: `*`, `?`, `[...]` (with `^` and ranges), `\` escapes.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob_match(&pattern[1..], text) || (!text.is_empty() && glob_match(pattern, &text[1..])),
        (None, Some(_)) | (Some(_), None) => false,
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &text[1..]),
        (Some(b'['), Some(&c)) => {
            let Some(end) = pattern[1..].iter().position(|&b| b == b']').map(|i| i + 1) else {
                return pattern[0] == c && glob_match(&pattern[1..], &text[1..]);
            };
            let class = &pattern[1..end];
            let (negate, class) = match class.first() {
                Some(b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut j = 0;
            while j < class.len() {
                if j + 2 < class.len() && class[j + 1] == b'-' {
                    let (lo, hi) = (class[j].min(class[j + 2]), class[j].max(class[j + 2]));
                    hit |= (lo..=hi).contains(&c);
                    j += 3;
                } else {
                    hit |= class[j] == c;
                    j += 1;
                }
            }
            hit != negate && glob_match(&pattern[end + 1..], &text[1..])
        }
        (Some(b'\\'), Some(&c)) if pattern.len() > 1 => pattern[1] == c && glob_match(&pattern[2..], &text[1..]),
        (Some(&p), Some(&c)) => p == c && glob_match(&pattern[1..], &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob_patterns() {
        assert!(glob_match(b"h?llo", b"hello"));
        assert!(glob_match(b"h*llo", b"heeeello"));
        assert!(glob_match(b"h[ae]llo", b"hallo"));
        assert!(!glob_match(b"h[^e]llo", b"hello"));
        assert!(glob_match(b"h[a-b]llo", b"hbllo"));
        assert!(glob_match(b"\\*", b"*"));
        assert!(!glob_match(b"a", b"ab"));
    }
}
