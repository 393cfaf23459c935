//! The randomized differential group (`fuzz/<family>`): from one seeded
//! ChaCha stream (`--seed`), sequences of commands per data-type family with
//! random but realistic arguments (boundary integers, odd floats, empty
//! strings, negative and out-of-range indexes, keys of the wrong type on
//! purpose, encodings pushed across their listpack/intset thresholds), run on
//! real Redis and on the simulator and compared reply by reply.
//!
//! The commands are drawn before either side runs, so both sides get the same
//! sequence whatever they answer. A family runs [`CASES`] commands in
//! episodes of [`EPISODE`]: each starts with `FLUSHALL` and the family's
//! fixtures, so one difference in state does not flood the rest of the run.
//! Masks appear only where the real server itself is random (which members
//! SRANDMEMBER picks, the order of a hashtable's members, TTLs that run on
//! the wall clock); the generators ([`super::fuzz_families`]) choose them per
//! command.

use super::fuzz_families::{self, Family};
use super::observe::{Expect, Mask, Obs};
use super::target::Target;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};

/// Commands drawn per family (fixtures not counted).
pub const CASES: usize = 300;
/// Commands per episode, between two `FLUSHALL`s.
pub const EPISODE: usize = 30;
/// The first of the group's ports: family `i` runs on `BASE_PORT + i`.
const BASE_PORT: u16 = 7750;
const CONF: &str = "save \"\"\n";

/// A [`Cmd`] from words of any string type: `words!("GET", key)`.
macro_rules! words {
    ($($w:expr),* $(,)?) => {
        $crate::fidelity::fuzz::Cmd::new(vec![$(String::from($w)),*])
    };
}
pub(crate) use words;

/// One command to send and how its reply is compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Cmd {
    /// The arguments as sent.
    pub args: Vec<String>,
    /// The mask, where the real server is itself random.
    pub mask: Mask,
}

impl Cmd {
    /// A command compared byte for byte.
    pub fn new(args: Vec<String>) -> Cmd {
        Cmd { args, mask: Mask::None }
    }

    /// The same command compared through `mask`.
    pub fn masked(self, mask: Mask) -> Cmd {
        Cmd { mask, ..self }
    }

    /// The command as a report shows it: words quoted where needed, long
    /// argument lists cut after 12 words.
    pub fn line(&self) -> String {
        const SHOWN: usize = 12;
        let mut words: Vec<String> = self.args.iter().take(SHOWN).map(|a| quote(a)).collect();
        if self.args.len() > SHOWN {
            words.push(format!("…({} args)", self.args.len()));
        }
        words.join(" ")
    }
}

/// A word as redis-cli would need it typed: quoted when empty or when it holds
/// spaces, quotes or unprintable bytes.
fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'');
    if plain { word.to_owned() } else { format!("\"{}\"", word.escape_default()) }
}

/// The seeded source every choice is drawn from.
pub struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    /// The stream of family number `family` under `seed`.
    pub fn new(seed: u64, family: u64) -> Gen {
        let mixed = seed ^ family.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Gen { rng: ChaCha8Rng::seed_from_u64(mixed) }
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// An integer in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo).unwrap_or(0) + 1;
        lo + i64::try_from(self.rng.next_u64() % span).unwrap_or(0)
    }

    /// An integer argument: small mostly, a boundary or a non-integer sometimes.
    pub fn int(&mut self) -> String {
        if self.chance(75) { self.range(-3, 12).to_string() } else { self.pick(ODD_INTEGERS).to_owned() }
    }

    /// A float argument: a plain one mostly, an odd spelling sometimes.
    pub fn float(&mut self) -> String {
        match self.below(10) {
            0..=3 => self.range(-20, 20).to_string(),
            4..=6 => format!("{}.{}", self.range(-20, 20), self.range(0, 99)),
            _ => self.pick(ODD_FLOATS).to_owned(),
        }
    }

    /// An index or range end: small, negative, out of range, sometimes a boundary.
    pub fn index(&mut self) -> String {
        match self.below(10) {
            0..=7 => self.range(-8, 8).to_string(),
            8 => self.pick(&["100", "-100", "1000"]).to_owned(),
            _ => self.pick(ODD_INTEGERS).to_owned(),
        }
    }

    /// A short member or field name from a small alphabet (so they repeat).
    pub fn member(&mut self) -> String {
        match self.below(20) {
            0 => String::new(),
            1 => self.range(-5, 600).to_string(),
            2 => "x".repeat(65),
            3..=8 => self.range(0, 9).to_string(),
            _ => self.pick(&["a", "b", "c", "d", "e", "f", "foo", "bar", "zz", "A", "a b", "é"]).to_owned(),
        }
    }

    /// A value for a string or a field: short text, a number, empty, or long.
    pub fn value(&mut self) -> String {
        match self.below(12) {
            0 => String::new(),
            1 => "v".repeat(self.below(3) * 30 + 20),
            2..=4 => self.int(),
            5 => self.float(),
            _ => self.pick(&["hello", "world", "x", "foobar", " 1", "1e3", "10"]).to_owned(),
        }
    }
}

/// Integers at and past the edges, and spellings Redis refuses.
pub const ODD_INTEGERS: &[&str] = &[
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "4294967296",
    "2147483648",
    "abc",
    "",
    "1.5",
    " 1",
    "1 ",
    "+1",
    "007",
    "-0",
    "0x10",
];

/// Floats at the edges and spellings Redis refuses or reads oddly.
pub const ODD_FLOATS: &[&str] = &[
    "inf",
    "-inf",
    "+inf",
    "1e308",
    "-1e308",
    "1e309",
    "nan",
    "1e",
    " 1",
    "1 ",
    "",
    "abc",
    "0.1",
    "3.0000000000000004",
    "5e-324",
    "-0",
    "1.7976931348623157e308",
    "123456789012345678",
    "0x10",
    "9223372036854775807",
];

/// The commands of one family's run: episodes of fixtures and drawn commands.
pub fn commands(family: &Family, seed: u64, index: u64) -> Vec<Cmd> {
    let mut g = Gen::new(seed, index);
    let mut out = Vec::new();
    for drawn in 0..CASES {
        if drawn % EPISODE == 0 {
            out.push(Cmd::new(vec!["FLUSHALL".to_owned()]));
            out.extend(family.fixtures.iter().map(|l| Cmd::new(l.split(' ').map(str::to_owned).collect())));
        }
        out.push((family.draw)(&mut g));
    }
    out
}

/// Runs family `index` on one fresh server and one connection.
pub fn run(t: &mut dyn Target, index: usize, seed: u64) -> Result<Vec<Obs>, String> {
    let family = &fuzz_families::FAMILIES[index];
    let port = BASE_PORT + u16::try_from(index).map_err(|_| "too many families")?;
    t.start(port, CONF)?;
    let conn = t.connect(port)?;
    let mut out = Vec::new();
    for (i, cmd) in commands(family, seed, index as u64).iter().enumerate() {
        if i > 0 && cmd.args[0] == "FLUSHALL" {
            out.push(keyspace_counters(t, conn, &format!("{i:04}"))?);
        }
        let case = format!("{:04} {}", i + 1, cmd.line());
        let args: Vec<Vec<u8>> = cmd.args.iter().map(|a| a.as_bytes().to_vec()).collect();
        out.push(match t.call(conn, &args) {
            Ok(reply) => Obs::reply(case, &reply, Expect::Same, cmd.mask),
            Err(e) => Obs::error(case, &e),
        });
    }
    out.push(keyspace_counters(t, conn, "last")?);
    Ok(out)
}

/// INFO's keyspace hits and misses so far: each episode's read lookups must
/// count as Redis's `lookupKeyRead` counts them.
pub(super) fn keyspace_counters(t: &mut dyn Target, conn: super::target::Conn, after: &str) -> Result<Obs, String> {
    let info = t.call(conn, &[b"INFO".to_vec(), b"stats".to_vec()])?.text();
    let field = |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).unwrap_or("?").trim().to_owned();
    let text = format!("{}, {}", field("keyspace_hits:"), field("keyspace_misses:"));
    Ok(Obs {
        case: format!("{after} keyspace hits, misses"),
        compared: text.clone(),
        shown: text,
        expect: Expect::Same,
        mask: Mask::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_commands_and_another_seed_others() {
        for (i, family) in fuzz_families::FAMILIES.iter().enumerate() {
            let a = commands(family, 7, i as u64);
            assert_eq!(a, commands(family, 7, i as u64), "{}", family.name);
            assert_ne!(a, commands(family, 8, i as u64), "{}", family.name);
            assert_eq!(a.iter().filter(|c| c.args[0] == "FLUSHALL").count(), CASES / EPISODE);
        }
    }

    #[test]
    fn families_have_their_own_ports_in_the_groups_range() {
        assert!(fuzz_families::FAMILIES.len() <= 10, "ports 7750-7759");
        let names: Vec<&str> = fuzz_families::FAMILIES.iter().map(|f| f.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
    }

    #[test]
    fn the_shape_mask_compares_type_and_length_only() {
        let reply = |raw: &[u8]| {
            let reply = super::super::target::Reply { raw: raw.to_vec() };
            Obs::reply("c", &reply, Expect::Same, Mask::Shape).compared
        };
        assert_eq!(reply(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"), reply(b"*2\r\n$1\r\nc\r\n$1\r\na\r\n"));
        assert_ne!(reply(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"), reply(b"*1\r\n$1\r\na\r\n"));
        assert_eq!(reply(b"$1\r\na\r\n"), reply(b"$1\r\nb\r\n"));
        assert_ne!(reply(b"$1\r\na\r\n"), reply(b"$-1\r\n"));
        assert_ne!(reply(b"-ERR x\r\n"), reply(b"-ERR y\r\n"));
    }

    #[test]
    fn lines_quote_odd_words_and_cut_long_calls() {
        let cmd = Cmd::new(vec!["SET".into(), "k".into(), String::new(), "a b".into()]);
        assert_eq!(cmd.line(), r#"SET k "" "a b""#);
        let long = Cmd::new(std::iter::once("SADD".to_owned()).chain((0..20).map(|i| i.to_string())).collect());
        assert_eq!(long.line(), "SADD 0 1 2 3 4 5 6 7 8 9 10 …(21 args)");
    }

    #[test]
    fn every_family_runs_on_the_simulator_without_a_harness_error() {
        for index in 0..fuzz_families::FAMILIES.len() {
            let mut sim = super::super::simulated::Simulated::new(3);
            let out = run(&mut sim, index, 3).expect("the family runs");
            let failed: Vec<&Obs> = out.iter().filter(|o| o.compared.starts_with("harness error")).collect();
            assert!(failed.is_empty(), "{failed:?}");
            assert!(out.len() > CASES, "{}", out.len());
        }
    }
}
