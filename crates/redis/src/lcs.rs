//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (`lcsCommand`,
//! t_string.c): the longest common subsequence of two strings by the table
//! Redis builds, walked back the way Redis walks it, so that among equally
//! long answers the same one comes, and the IDX ranges come last match first.

use crate::commands::parse_int;
use crate::keyspace::{Data, Exec};
use resp::Value;

/// `proto-max-bulk-len`'s default, the most the table may take in bytes.
const MAX_TABLE_BYTES: u64 = 512 * 1024 * 1024;

/// Runs `name` if it is LCS; hands it on otherwise.
pub(crate) fn keyspace(name: &str, args: &[Vec<u8>], x: &mut Exec<'_>) -> Option<Value> {
    if name == "lcs" {
        return Some(lcs(args, x));
    }
    crate::hashes::keyspace(name, args, x)
}

/// What the options ask for.
#[derive(Default)]
struct Options {
    len: bool,
    idx: bool,
    withmatchlen: bool,
    minmatchlen: u64,
}

fn string_of(x: &mut Exec<'_>, key: &[u8]) -> Result<Vec<u8>, Value> {
    match x.read(key) {
        None => Ok(Vec::new()),
        Some(Data::Str(s)) => Ok(s.to_vec()),
        Some(_) => Err(Value::error("ERR The specified keys must contain string values")),
    }
}

fn options(args: &[Vec<u8>]) -> Result<Options, Value> {
    let mut o = Options::default();
    let mut j = 3;
    while j < args.len() {
        let opt = args[j].to_ascii_lowercase();
        match opt.as_slice() {
            b"idx" => o.idx = true,
            b"len" => o.len = true,
            b"withmatchlen" => o.withmatchlen = true,
            b"minmatchlen" if j + 1 < args.len() => {
                let Some(n) = parse_int(&args[j + 1]) else {
                    return Err(Value::error("ERR value is not an integer or out of range"));
                };
                o.minmatchlen = n.max(0) as u64;
                j += 1;
            }
            _ => return Err(Value::error("ERR syntax error")),
        }
        j += 1;
    }
    if o.len && o.idx {
        return Err(Value::error("ERR If you want both the length and indexes, please just use IDX."));
    }
    Ok(o)
}

fn lcs(args: &[Vec<u8>], x: &mut Exec<'_>) -> Value {
    let (a, b) = match (string_of(x, &args[1]), string_of(x, &args[2])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let o = match options(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells * 4 > MAX_TABLE_BYTES {
        return Value::error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let table = Table::build(&a, &b);
    let total = table.at(a.len(), b.len());
    if o.len && !o.idx {
        return Value::Integer(total as i64);
    }
    let (common, matches) = table.walk(&a, &b, &o);
    if !o.idx {
        return Value::Bulk(common);
    }
    Value::Map(vec![
        (Value::bulk(b"matches"), Value::Array(matches)),
        (Value::bulk(b"len"), Value::Integer(total as i64)),
    ])
}

/// `LCS(i, j)`: the length of the LCS of `a[..i]` and `b[..j]`.
struct Table {
    cells: Vec<u32>,
    width: usize,
}

impl Table {
    fn build(a: &[u8], b: &[u8]) -> Table {
        let width = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * width];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
            }
        }
        Table { cells, width }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Walks back from the end as Redis does: the common string, and the
    /// ranges of contiguous matches (as IDX replies them) longer than MINMATCHLEN.
    fn walk(&self, a: &[u8], b: &[u8], o: &Options) -> (Vec<u8>, Vec<Value>) {
        let mut common = Vec::with_capacity(self.at(a.len(), b.len()) as usize);
        let mut matches = Vec::new();
        // The range being grown backwards: (a start, a end, b start, b end).
        let mut range: Option<(usize, usize, usize, usize)> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                common.push(a[i - 1]);
                match &mut range {
                    None => range = Some((i - 1, i - 1, j - 1, j - 1)),
                    Some((sa, _, sb, _)) if *sa == i && *sb == j => {
                        *sa -= 1;
                        *sb -= 1;
                    }
                    Some(_) => emit = true,
                }
                emit |= range.is_some_and(|(sa, _, sb, _)| sa == 0 || sb == 0);
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = range.is_some();
            }
            if emit && let Some((sa, ea, sb, eb)) = range.take() {
                let len = (ea - sa + 1) as u64;
                if o.minmatchlen == 0 || len >= o.minmatchlen {
                    matches.push(range_reply(sa, ea, sb, eb, o.withmatchlen.then_some(len)));
                }
            }
        }
        common.reverse();
        (common, matches)
    }
}

fn range_reply(sa: usize, ea: usize, sb: usize, eb: usize, len: Option<u64>) -> Value {
    let pair = |s: usize, e: usize| Value::Array(vec![Value::Integer(s as i64), Value::Integer(e as i64)]);
    let mut item = vec![pair(sa, ea), pair(sb, eb)];
    item.extend(len.map(|l| Value::Integer(l as i64)));
    Value::Array(item)
}

#[cfg(test)]
mod tests {
    use super::{Options, Table};
    use crate::tests::lab;

    /// Replies of a real 7.0.15 (`redis-cli --no-raw`), including ties broken
    /// as Redis breaks them and the table-size refusal.
    #[test]
    fn replies_match_redis() {
        let mut l = lab();
        for line in include_str!("tests_lcs_transcript.txt").lines().filter(|l| !l.is_empty()) {
            let (cmd, want) = line.split_once(" => ").expect("command => reply");
            assert_eq!(l.cmd(cmd), want.replace("\\n", "\n"), "{cmd}");
        }
        // Two 20000-byte strings: a table over proto-max-bulk-len, refused before it is built.
        l.cmd(&format!("SET big1 {}", "a".repeat(20000)));
        l.cmd(&format!("SET big2 {}", "b".repeat(20000)));
        let refused = "(error) ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
        assert_eq!(l.cmd("LCS big1 big2 LEN"), refused);
    }

    /// The common string is a subsequence of both, as long as the table says.
    #[test]
    fn the_answer_is_a_common_subsequence_of_the_longest_length() {
        let is_sub = |s: &[u8], of: &[u8]| {
            let mut it = of.iter();
            s.iter().all(|c| it.any(|d| d == c))
        };
        for (a, b) in [("abcabcab", "bacbacba"), ("ohmytext", "mynewtext"), ("", "abc"), ("xyz", "abc"), ("aaaa", "aa")]
        {
            let t = Table::build(a.as_bytes(), b.as_bytes());
            let (common, _) = t.walk(a.as_bytes(), b.as_bytes(), &Options::default());
            assert!(is_sub(&common, a.as_bytes()) && is_sub(&common, b.as_bytes()), "{a} {b}");
            assert_eq!(common.len() as u32, t.at(a.len(), b.len()));
        }
        let t = Table::build(b"abcabcab", b"bacbacba");
        assert_eq!(t.at(8, 8), 5);
    }
}
