//! ACL users as Redis 7.0 keeps them (acl.c): each user's flags, password
//! hashes and selectors (the root one, and those given in parentheses); a
//! selector's allowed commands (one bit per command and per subcommand, by
//! command id), key patterns with their read/write flags, channel patterns
//! and allowed first arguments. ACL SETUSER's rules with Redis's errors
//! (`ACLSetUser`, `ACLSetSelector`), the check of a command against a
//! user (`ACLCheckAllUserCommandPerm`), and the rules written back as ACL
//! LIST and GETUSER show them (`ACLDescribeUser`: the categories that fit
//! best, then single commands). Redis writes those single commands in its
//! command dict's order, which its hash seed makes differ from one process
//! to the next; here they come in the command table's.

use crate::command_table::{self, Command};
use std::collections::BTreeMap;

/// A key pattern's read permission (`%R~`).
pub(crate) const READ: u8 = 1;
/// A key pattern's write permission (`%W~`).
pub(crate) const WRITE: u8 = 2;

/// One command or subcommand as ACL rules name it: its id is its position
/// in [`Commands`].
struct Named {
    /// `get`, or `client|list`.
    name: &'static str,
    /// Its categories, one bit per [`common::acl::CATEGORIES`] entry.
    cats: u32,
    /// A subcommand's container.
    parent: Option<usize>,
    /// A container's subcommands.
    subs: std::ops::Range<usize>,
}

/// Every command and subcommand of the table with its id: each command,
/// then its subcommands.
pub(crate) struct Commands {
    all: Vec<Named>,
    /// The id of each table command, by table position.
    base: Vec<usize>,
}

fn categories(acl: &[&str]) -> u32 {
    acl.iter().filter_map(|c| category(c.trim_start_matches('@'))).fold(0, |bits, c| bits | c)
}

/// The bit of category `name` (any case), if it is one.
fn category(name: &str) -> Option<u32> {
    common::acl::CATEGORIES.iter().position(|c| c.eq_ignore_ascii_case(name)).map(|i| 1 << i)
}

/// The table's ids, made once a process (they follow from the static
/// command table alone; every server's ACL shares them).
pub(crate) fn commands() -> &'static Commands {
    static COMMANDS: std::sync::OnceLock<Commands> = std::sync::OnceLock::new();
    COMMANDS.get_or_init(Commands::new)
}

impl Commands {
    fn new() -> Commands {
        let mut all = Vec::new();
        let mut base = Vec::new();
        for c in command_table::all() {
            let id = all.len();
            base.push(id);
            let subs = id + 1..id + 1 + c.doc.subcommands.len();
            all.push(Named { name: c.doc.name, cats: categories(c.doc.acl), parent: None, subs });
            for s in c.doc.subcommands {
                all.push(Named { name: s.name, cats: categories(s.acl), parent: Some(id), subs: 0..0 });
            }
        }
        Commands { all, base }
    }

    fn len(&self) -> usize {
        self.all.len()
    }

    /// `ACLLookupCommand`: a command, or `container|subcommand`, any case.
    fn lookup(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        let (head, sub) = match lower.split_once('|') {
            Some((h, s)) if !s.contains('|') => (h, Some(s)),
            Some(_) => return None,
            None => (lower.as_str(), None),
        };
        let command = command_table::lookup(head)?;
        let id = self.base[command_table::index(command)];
        match sub {
            None => Some(id),
            Some(s) => {
                self.all[id].subs.clone().find(|&i| self.all[i].name.split_once('|').is_some_and(|(_, n)| n == s))
            }
        }
    }

    /// The id of `command`, or of its subcommand at position `sub`.
    pub(crate) fn id(&self, command: &'static Command, sub: Option<usize>) -> usize {
        let id = self.base[command_table::index(command)];
        sub.map_or(id, |s| id + 1 + s)
    }

    /// The full name of command `id`.
    pub(crate) fn name(&self, id: usize) -> &'static str {
        self.all[id].name
    }
}

/// Why a rule was refused (`ACLSetUserStringError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleError {
    Syntax,
    Unknown,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub(crate) fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::KeysAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::ChannelsAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
            }
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// What a selector allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selector {
    /// Per command id.
    allowed: Vec<bool>,
    /// The bit `+@all` sets for commands yet to come (modules'): the
    /// description then starts from `+@all`.
    future: bool,
    /// `SELECTOR_FLAG_ALLCOMMANDS`: every command, no bit looked at.
    all_commands: bool,
    pub(crate) all_keys: bool,
    /// Patterns with [`READ`] and [`WRITE`] flags, in the order added.
    patterns: Vec<(u8, Vec<u8>)>,
    pub(crate) all_channels: bool,
    channels: Vec<Vec<u8>>,
    /// First arguments allowed of a command otherwise denied, by id.
    first_args: BTreeMap<usize, Vec<String>>,
}

impl Selector {
    /// An empty selector: nothing allowed (`acl-pubsub-default resetchannels`).
    fn new(commands: &Commands) -> Selector {
        Selector {
            allowed: vec![false; commands.len()],
            future: false,
            all_commands: false,
            all_keys: false,
            patterns: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
            first_args: BTreeMap::new(),
        }
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        self.allowed[id] = on;
        if !on {
            self.all_commands = false;
        }
    }

    /// `ACLChangeSelectorPerm`: the command and, for a container, each subcommand.
    fn change(&mut self, commands: &Commands, id: usize, on: bool) {
        self.set_bit(id, on);
        self.first_args.remove(&id);
        for s in commands.all[id].subs.clone() {
            self.set_bit(s, on);
        }
    }

    /// `ACLSetSelectorCommandBitsForCategory`.
    fn change_category(&mut self, commands: &Commands, cat: u32, on: bool) {
        for id in 0..commands.len() {
            if commands.all[id].cats & cat != 0 {
                self.change(commands, id, on);
            }
        }
    }

    /// `+@all` (every bit, the future ones too) or `-@all`; first args go.
    fn set_all_commands(&mut self, on: bool) {
        self.allowed.iter_mut().for_each(|b| *b = on);
        self.future = on;
        self.all_commands = on;
        self.first_args.clear();
    }

    /// `ACLSetSelector`: one rule.
    fn apply(&mut self, commands: &Commands, op: &[u8]) -> Result<(), RuleError> {
        let text = String::from_utf8_lossy(op);
        let is = |word: &str| text.eq_ignore_ascii_case(word);
        if is("allkeys") || is("~*") {
            self.all_keys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            self.add_pattern(op)?;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelsAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
        } else if op.len() > 1 && op[1] == b'@' && (op[0] == b'+' || op[0] == b'-') {
            let cat = category(&text[2..]).ok_or(RuleError::Unknown)?;
            self.change_category(commands, cat, op[0] == b'+');
        } else if op[0] == b'+' {
            self.allow(commands, &text[1..])?;
        } else if op[0] == b'-' {
            let id = commands.lookup(&text[1..]).ok_or(RuleError::Unknown)?;
            self.change(commands, id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `~pattern`, `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    fn add_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeysAfterAll);
        }
        let (mut flags, mut at) = (0, 1);
        if op[0] == b'%' {
            while at < op.len() {
                match op[at].to_ascii_uppercase() {
                    b'R' if flags & READ == 0 => flags |= READ,
                    b'W' if flags & WRITE == 0 => flags |= WRITE,
                    b'~' => {
                        at += 1;
                        break;
                    }
                    _ => return Err(RuleError::Syntax),
                }
                at += 1;
            }
        } else {
            flags = READ | WRITE;
        }
        let pattern = &op[at.min(op.len())..];
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.patterns.iter_mut().find(|(_, p)| p == pattern) {
            Some((f, _)) => *f |= flags,
            None => self.patterns.push((flags, pattern.to_vec())),
        }
        self.all_keys = false;
        Ok(())
    }

    /// `+command`, `+container|subcommand`, `+command|first-arg`.
    fn allow(&mut self, commands: &Commands, name: &str) -> Result<(), RuleError> {
        let Some((head, arg)) = name.rsplit_once('|') else {
            let id = commands.lookup(name).ok_or(RuleError::Unknown)?;
            self.change(commands, id, true);
            return Ok(());
        };
        let id = commands.lookup(head).ok_or(RuleError::Unknown)?;
        if commands.all[id].parent.is_some() {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if arg.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !commands.all[id].subs.is_empty() {
            let sub = commands.lookup(name).ok_or(RuleError::Unknown)?;
            self.change(commands, sub, true);
        } else {
            let args = self.first_args.entry(id).or_default();
            if !args.iter().any(|a| a == arg) {
                args.push(arg.to_owned());
            }
        }
        Ok(())
    }

    /// `ACLDescribeSelectorCommandRules`: `+@all` or `-@all`, the
    /// categories that fit best one after the other, then single commands
    /// and first arguments, so that applying them gives these bits.
    fn describe_commands(&self, commands: &Commands) -> String {
        let additive = !self.future;
        let mut rules = String::from(if additive { "-@all " } else { "+@all " });
        let mut fake = Selector::new(commands);
        let base = if additive { &b"-@all"[..] } else { &b"+@all"[..] };
        let _ = fake.apply(commands, base);
        let mut temp = self.clone();
        let mut applied = [false; 32];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (u64::MAX, 0);
            for (j, name) in common::acl::CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count(commands, 1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some((j, *name));
                    (min_diff, max_same) = (diff, same);
                }
            }
            let Some((j, name)) = best else { break };
            fake.change_category(commands, 1 << j, additive);
            temp.change_category(commands, 1 << j, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(name);
            rules.push(' ');
            applied[j] = true;
        }
        for id in 0..commands.len() {
            let user = self.allowed[id];
            if user != fake.allowed[id] {
                rules.push(if user { '+' } else { '-' });
                rules.push_str(commands.all[id].name);
                rules.push(' ');
                fake.change(commands, id, user);
            }
            if !user && let Some(args) = self.first_args.get(&id) {
                for arg in args {
                    rules.push_str(&format!("+{}|{arg} ", commands.all[id].name));
                }
            }
        }
        rules.pop();
        debug_assert_eq!(fake.allowed, self.allowed, "the rules {rules} give other bits");
        rules
    }

    /// How many commands of category `cat` are allowed and how many not.
    fn count(&self, commands: &Commands, cat: u32) -> (u64, u64) {
        let mut counts = (0, 0);
        for (id, named) in commands.all.iter().enumerate() {
            if named.cats & cat != 0 {
                if self.allowed[id] {
                    counts.0 += 1;
                } else {
                    counts.1 += 1;
                }
            }
        }
        counts
    }

    /// The key patterns as GETUSER shows them, space-separated.
    fn keys_text(&self) -> String {
        if self.all_keys {
            return "~*".to_owned();
        }
        self.patterns.iter().map(|(f, p)| pattern_text(*f, p)).collect::<Vec<_>>().join(" ")
    }

    fn channels_text(&self) -> String {
        if self.all_channels {
            return "&*".to_owned();
        }
        self.channels.iter().map(|c| format!("&{}", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
    }

    /// `ACLDescribeSelector`: keys, channels, then commands.
    fn describe(&self, commands: &Commands) -> String {
        let mut out = String::new();
        if self.all_keys {
            out.push_str("~* ");
        } else {
            for (f, p) in &self.patterns {
                out.push_str(&pattern_text(*f, p));
                out.push(' ');
            }
        }
        if self.all_channels {
            out.push_str("&* ");
        } else {
            out.push_str("resetchannels ");
            for c in &self.channels {
                out.push_str(&format!("&{} ", String::from_utf8_lossy(c)));
            }
        }
        out.push_str(&self.describe_commands(commands));
        out
    }

    /// GETUSER's map of this selector: commands, keys, channels.
    pub(crate) fn fields(&self, commands: &Commands) -> [(&'static str, String); 3] {
        [("commands", self.describe_commands(commands)), ("keys", self.keys_text()), ("channels", self.channels_text())]
    }

    /// `ACLSelectorCheckCmd`: `Ok` or why not. `keys` gives the command's
    /// keys with the permissions each needs, `channels` its channels (and
    /// whether each is a pattern of PSUBSCRIBE), both by argument position.
    fn check(&self, id: usize, first_arg: Option<&[u8]>, no_auth: bool, access: &Access<'_>) -> Result<(), Denied> {
        if !self.all_commands && !no_auth && !self.allowed[id] {
            let ok = first_arg.is_some_and(|a| {
                self.first_args.get(&id).is_some_and(|args| args.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(a)))
            });
            if !ok {
                return Err(Denied::Command);
            }
        }
        if !self.all_keys {
            for &(pos, key, need) in access.keys {
                let fits = self.patterns.iter().any(|(f, p)| f & need == need && common::glob::glob_match(p, key));
                if !fits {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.all_channels {
            for &(pos, channel, is_pattern) in access.channels {
                let fits = self
                    .channels
                    .iter()
                    .any(|p| if is_pattern { p == channel } else { common::glob::glob_match(p, channel) });
                if !fits {
                    return Err(Denied::Channel(pos));
                }
            }
        }
        Ok(())
    }
}

fn pattern_text(flags: u8, pattern: &[u8]) -> String {
    let prefix = match flags {
        READ => "%R~",
        WRITE => "%W~",
        _ => "~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(pattern))
}

/// `ACLStringHasSpaces`: spaces or NULs.
pub(crate) fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b.is_ascii_whitespace() || b == 0)
}

/// What a command touches: its keys (argument position, key, permissions
/// needed) and its channels (position, channel, whether a pattern).
pub(crate) struct Access<'a> {
    pub(crate) keys: &'a [(usize, &'a [u8], u8)],
    pub(crate) channels: &'a [(usize, &'a [u8], bool)],
}

/// Why a command is refused, with the argument at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (0, 0),
            Denied::Key(p) => (1, p),
            Denied::Channel(p) => (2, p),
        }
    }
}

/// One ACL user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) nopass: bool,
    /// `skip-sanitize-payload` (true), `sanitize-payload` (false), or neither set.
    sanitize: Option<bool>,
    /// SHA-256 hashes, lowercase hex, in the order added.
    pub(crate) passwords: Vec<String>,
    pub(crate) root: Selector,
    selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no password, nothing allowed (`ACLCreateUser`).
    pub(crate) fn new(name: &str, commands: &Commands) -> User {
        User {
            name: name.to_owned(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            root: Selector::new(commands),
            selectors: Vec::new(),
        }
    }

    /// The default user: `on nopass ~* &* +@all` (`ACLCreateDefaultUser`).
    pub(crate) fn default_user(commands: &Commands) -> User {
        let mut u = User::new("default", commands);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(commands, op.as_bytes());
        }
        u
    }

    /// `ACLSetUser`: one rule.
    pub(crate) fn apply(&mut self, commands: &Commands, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(op);
        let is = |word: &str| text.eq_ignore_ascii_case(word);
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = password_hash(op)?;
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = password_hash(op)?;
            let at = self.passwords.iter().position(|p| *p == hash).ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(commands);
            let inner = &op[1..op.len() - 1];
            for rule in resp::split_args(inner).unwrap_or_default() {
                s.apply(commands, &rule)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.clear();
        } else if is("reset") {
            for rule in
                ["resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "clearselectors", "-@all"]
            {
                self.apply(commands, rule.as_bytes())?;
            }
        } else {
            self.root.apply(commands, op)?;
        }
        Ok(())
    }

    /// Whether `password` opens this user (`ACLCheckUserCredentials`).
    pub(crate) fn accepts(&self, password: &[u8]) -> bool {
        self.enabled && (self.nopass || self.passwords.contains(&crate::acl::sha256_hex(password)))
    }

    /// `ACLDescribeUser`: what ACL LIST shows after `user <name> `.
    pub(crate) fn describe(&self, commands: &Commands) -> String {
        let mut out = String::new();
        for flag in self.flags() {
            out.push_str(flag);
            out.push(' ');
        }
        for p in &self.passwords {
            out.push_str(&format!("#{p} "));
        }
        out.push_str(&self.root.describe(commands));
        for s in &self.selectors {
            out.push_str(&format!(" ({})", s.describe(commands)));
        }
        out
    }

    /// The user's flags in `ACLUserFlags`' order.
    pub(crate) fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.sanitize {
            Some(true) => flags.push("skip-sanitize-payload"),
            Some(false) => flags.push("sanitize-payload"),
            None => {}
        }
        flags
    }

    /// The selectors given in parentheses.
    pub(crate) fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// Whether this user may run anything at all: every command, key and
    /// channel of its root selector (checks can be skipped).
    pub(crate) fn unrestricted(&self) -> bool {
        self.root.all_commands && self.root.all_keys && self.root.all_channels
    }

    /// `ACLCheckAllUserCommandPerm`: allowed by some selector, or the
    /// denial to report (a command if none runs it, else the last key or
    /// channel no selector matched).
    pub(crate) fn check(
        &self,
        id: usize,
        first_arg: Option<&[u8]>,
        no_auth: bool,
        access: &Access<'_>,
    ) -> Result<(), Denied> {
        let mut worst = Denied::Command;
        for s in std::iter::once(&self.root).chain(&self.selectors) {
            match s.check(id, first_arg, no_auth, access) {
                Ok(()) => return Ok(()),
                Err(d) if d.rank() > worst.rank() => worst = d,
                Err(_) => {}
            }
        }
        Err(worst)
    }
}

/// The hash a `>password`, `<password`, `#hash` or `!hash` rule names.
fn password_hash(op: &[u8]) -> Result<String, RuleError> {
    let rest = &op[1..];
    if op[0] == b'>' || op[0] == b'<' {
        return Ok(crate::acl::sha256_hex(rest));
    }
    if rest.len() != 64 || !rest.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(rest).into_owned())
}

/// `ACLMergeSelectorArguments`: a selector spread over several arguments
/// (`(~x` `+get)`) joined into one; the position of an unclosed one.
pub(crate) fn merge_selectors(args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, a) in args.iter().enumerate() {
        if let Some((_, sel)) = &mut open {
            sel.push(b' ');
            sel.extend_from_slice(a);
            if a.last() == Some(&b')') {
                out.push(open.take().map(|(_, s)| s).unwrap_or_default());
            }
            continue;
        }
        if a.first() == Some(&b'(') && a.last() != Some(&b')') {
            open = Some((i, a.clone()));
            continue;
        }
        out.push(a.clone());
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &str) -> (User, &'static Commands) {
        let commands = commands();
        let mut u = User::new("u", commands);
        let args: Vec<Vec<u8>> = rules.split(' ').map(|r| r.as_bytes().to_vec()).collect();
        for r in merge_selectors(&args).expect("closed selectors") {
            u.apply(commands, &r).unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(&r)));
        }
        (u, commands)
    }

    /// What ACL LIST writes of a user, applied to a new user, allows the
    /// same commands (and the same future ones): for random rule lists over
    /// categories, commands, containers and subcommands.
    #[test]
    fn described_rules_give_back_the_same_permissions() {
        let commands = commands();
        let pool: Vec<String> = common::acl::CATEGORIES
            .iter()
            .flat_map(|c| [format!("+@{c}"), format!("-@{c}")])
            .chain(
                ["+get", "-get", "+set", "-config", "+config|get", "-client|kill", "+client", "+@all", "-@all"]
                    .map(String::from),
            )
            .chain(["+select|0", "+debug|object", "-flushall", "+flushall"].map(String::from))
            .collect();
        let mut rng = sim::Rng::stream(11, "acl-rules");
        let mut next = |n: usize| rng.below(n as u64) as usize;
        for _ in 0..2_000 {
            let mut u = User::new("u", commands);
            let mut rules = Vec::new();
            for _ in 0..1 + next(8) {
                let rule = &pool[next(pool.len())];
                u.apply(commands, rule.as_bytes()).expect("a valid rule");
                rules.push(rule.as_str());
            }
            let text = u.root.describe_commands(commands);
            let mut back = User::new("u", commands);
            for r in text.split(' ') {
                back.apply(commands, r.as_bytes()).unwrap_or_else(|e| panic!("{r} of {text}: {e:?}"));
            }
            assert_eq!(back.root.allowed, u.root.allowed, "{text}");
            assert_eq!(back.root.future, u.root.future, "{text}");
            // First arguments count only for a command not allowed whole
            // (Redis writes only those, and keeps the others unused).
            let effective = |s: &Selector| {
                s.first_args.iter().filter(|(id, _)| !s.allowed[**id]).map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
            };
            assert_eq!(effective(&back.root), effective(&u.root), "{rules:?} gave {text}");
        }
    }

    #[test]
    fn the_default_user_and_a_new_one_read_as_redis_writes_them() {
        let commands = commands();
        assert_eq!(User::default_user(commands).describe(commands), "on nopass ~* &* +@all");
        assert_eq!(User::new("bob", commands).describe(commands), "off resetchannels -@all");
        let (u, c) = user("on >pw ~k* +get &ch* (~x +set)");
        assert_eq!(
            u.describe(c),
            format!(
                "on #{} ~k* resetchannels &ch* -@all +get (~x resetchannels -@all +set)",
                crate::acl::sha256_hex(b"pw")
            )
        );
    }

    #[test]
    fn rules_are_refused_with_redis_reasons() {
        let commands = commands();
        let mut u = User::new("u", commands);
        let mut refused = |r: &str| u.apply(commands, r.as_bytes()).unwrap_err();
        assert_eq!(refused("bogus"), RuleError::Syntax);
        assert_eq!(refused("+nosuch"), RuleError::Unknown);
        assert_eq!(refused("-@nosuch"), RuleError::Unknown);
        assert_eq!(refused("+client|list|x"), RuleError::FirstArgOfSubcommand);
        assert_eq!(refused("+get|"), RuleError::Syntax);
        assert_eq!(refused("+client|nosuch"), RuleError::Unknown);
        assert_eq!(refused("#abc"), RuleError::BadHash);
        assert_eq!(refused("<never"), RuleError::NoSuchPassword);
        assert_eq!(refused("%RR~k"), RuleError::Syntax);
        assert_eq!(refused("%X~k"), RuleError::Syntax);
        let (mut all, c) = user("allkeys allchannels");
        assert_eq!(all.apply(c, b"~k"), Err(RuleError::KeysAfterAll));
        assert_eq!(all.apply(c, b"&k"), Err(RuleError::ChannelsAfterAll));
    }

    /// Keys need the permissions their access asks for; channels match as
    /// patterns, a PSUBSCRIBE pattern only literally; any selector may allow.
    #[test]
    fn a_command_is_checked_against_every_selector() {
        let (u, c) = user("on +@all %R~r* %W~w* &news* (+get ~other*)");
        let id = |name: &str| c.lookup(name).expect("a command");
        let check = |name: &str, k: &[(usize, &[u8], u8)], ch: &[(usize, &[u8], bool)]| {
            u.check(id(name), None, false, &Access { keys: k, channels: ch })
        };
        assert_eq!(check("get", &[(1, b"r1", READ)], &[]), Ok(()));
        assert_eq!(check("set", &[(1, b"r1", WRITE)], &[]), Err(Denied::Key(1)));
        assert_eq!(check("set", &[(1, b"w1", WRITE)], &[]), Ok(()));
        assert_eq!(check("set", &[(1, b"w1", READ | WRITE)], &[]), Err(Denied::Key(1)));
        assert_eq!(check("get", &[(1, b"other1", READ)], &[]), Ok(()), "the second selector allows it");
        assert_eq!(check("publish", &[], &[(1, b"news.a", false)]), Ok(()));
        assert_eq!(check("publish", &[], &[(1, b"sport", false)]), Err(Denied::Channel(1)));
        assert_eq!(check("psubscribe", &[], &[(1, b"news*", true)]), Ok(()));
        assert_eq!(check("psubscribe", &[], &[(1, b"news.*", true)]), Err(Denied::Channel(1)));
        let (none, c) = user("on ~* +get");
        assert_eq!(
            none.check(c.lookup("set").expect("set"), None, false, &Access { keys: &[], channels: &[] }),
            Err(Denied::Command)
        );
        let (sel, c) = user("on ~* +select|0");
        let select = c.lookup("select").expect("select");
        let access = Access { keys: &[], channels: &[] };
        assert_eq!(sel.check(select, Some(b"0"), false, &access), Ok(()));
        assert_eq!(sel.check(select, Some(b"1"), false, &access), Err(Denied::Command));
    }

    #[test]
    fn selectors_spread_over_arguments_are_joined() {
        let args: Vec<Vec<u8>> = ["on", "(~x", "+get)", "(+set)"].iter().map(|a| a.as_bytes().to_vec()).collect();
        let merged = merge_selectors(&args).expect("closed");
        assert_eq!(merged, vec![b"on".to_vec(), b"(~x +get)".to_vec(), b"(+set)".to_vec()]);
        let open: Vec<Vec<u8>> = ["on", "(~x"].iter().map(|a| a.as_bytes().to_vec()).collect();
        assert_eq!(merge_selectors(&open), Err(1));
    }
}
