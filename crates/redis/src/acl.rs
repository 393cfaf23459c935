//! ACL as Redis 7.0 answers it (acl.c): the users ([`crate::acl_users`]),
//! the ACL command (SETUSER, GETUSER, LIST, USERS, DELUSER, WHOAMI, DRYRUN,
//! CAT, LOG, GENPASS, LOAD, SAVE, HELP), the check every command of a
//! restricted user passes and the log of refusals. `requirepass` is the
//! default user's password, as in Redis (`ACLUpdateDefaultUserPassword`).

use crate::acl_users::{Access, Commands, Denied, User, has_spaces, merge_selectors};
use crate::server::{Client, Server};
use resp::Value;
use sim::Ctx;
use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};

fn syntax(sub: &[u8]) -> Value {
    Value::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        String::from_utf8_lossy(sub)
    ))
}

/// ACL LOG's longest (`acllog-max-len`).
const LOG_MAX: usize = 128;
/// Refusals of the same kind this close in time are one entry (`ACL_LOG_GROUPING_MAX_TIME_DELTA`).
const LOG_GROUPING_MS: i64 = 60_000;

/// The users, their commands' ids, and the log.
pub(crate) struct Acl {
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) commands: &'static Commands,
    log: VecDeque<LogEntry>,
    /// The last refusal [`Acl::check`] made, for its caller to log.
    denied: Cell<Option<(Denied, usize)>>,
    /// Some user's commands are checked.
    any_restricted: bool,
    /// The default user is on and needs no password (kept with the users:
    /// every command's gate reads it).
    default_open: bool,
}

impl std::fmt::Debug for Acl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acl").field("users", &self.users.keys().collect::<Vec<_>>()).finish()
    }
}

/// Where a refused command ran (`ACL_LOG_CTX_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    Toplevel,
    Multi,
    Lua,
}

/// One ACL LOG entry.
#[derive(Debug)]
pub(crate) struct LogEntry {
    count: u64,
    reason: &'static str,
    context: Context,
    object: Vec<u8>,
    username: String,
    at_ms: i64,
    client_info: String,
}

impl Acl {
    /// The default user alone, with `requirepass` as its password.
    pub(crate) fn new(requirepass: Option<&str>) -> Acl {
        let commands = crate::acl_users::commands();
        let mut users = BTreeMap::new();
        users.insert("default".to_owned(), User::default_user(commands));
        let mut acl = Acl {
            users,
            commands,
            log: VecDeque::new(),
            denied: Cell::new(None),
            any_restricted: false,
            default_open: true,
        };
        acl.set_default_password(requirepass);
        acl
    }

    /// `ACLUpdateDefaultUserPassword`: `resetpass`, then `>password` or `nopass`.
    pub(crate) fn set_default_password(&mut self, password: Option<&str>) {
        let Some(u) = self.users.get_mut("default") else { return };
        let _ = u.apply(self.commands, b"resetpass");
        let rule = match password {
            Some(p) => format!(">{p}").into_bytes(),
            None => b"nopass".to_vec(),
        };
        let _ = u.apply(self.commands, &rule);
        self.users_changed();
    }

    fn default_user(&self) -> Option<&User> {
        self.users.get("default")
    }

    /// Whether a new connection starts authenticated (`clientSetDefaultAuth`),
    /// and no command needs AUTH (`authRequired`).
    pub(crate) fn default_needs_no_auth(&self) -> bool {
        self.default_open
    }

    /// The user a connection authenticated as, when its commands need
    /// checking (not when it may run everything). With every user
    /// unrestricted (a node without ACL rules) nothing is looked up.
    pub(crate) fn restricted(&self, name: &str) -> Option<&User> {
        if !self.any_restricted {
            return None;
        }
        self.users.get(name).filter(|u| !u.unrestricted())
    }

    /// Keeps [`Acl::restricted`]'s shortcut true to the users.
    fn users_changed(&mut self) {
        self.any_restricted = self.users.values().any(|u| !u.unrestricted());
        self.default_open = self.default_user().is_some_and(|u| u.nopass && u.enabled);
    }

    /// `ACLCheckAllUserCommandPerm` for `user` on `args` (a container's
    /// subcommand already found at `sub`): `Err` with the NOPERM reply,
    /// the refusal kept for [`Acl::take_denied`].
    pub(crate) fn check(
        &self,
        user: &User,
        command: &'static crate::command_table::Command,
        sub: Option<usize>,
        args: &[Vec<u8>],
    ) -> Result<(), Value> {
        let id = self.commands.id(command, sub);
        let (keys, channels) = touched(command, sub, args);
        let keys: Vec<(usize, &[u8], u8)> = keys.iter().map(|&(i, need)| (i, args[i].as_slice(), need)).collect();
        let channels: Vec<(usize, &[u8], bool)> =
            channels.iter().map(|&(i, pattern)| (i, args[i].as_slice(), pattern)).collect();
        let first = args.get(if sub.is_some() { 2 } else { 1 }).map(Vec::as_slice);
        let no_auth = command.has(crate::command_table::NO_AUTH);
        match user.check(id, first, no_auth, &Access { keys: &keys, channels: &channels }) {
            Ok(()) => Ok(()),
            Err(denied) => {
                self.denied.set(Some((denied, id)));
                Err(Value::error(match denied {
                    Denied::Command => {
                        format!("NOPERM this user has no permissions to run the '{}' command", self.commands.name(id))
                    }
                    Denied::Key(_) => {
                        "NOPERM this user has no permissions to access one of the keys used as arguments".to_owned()
                    }
                    Denied::Channel(_) => {
                        "NOPERM this user has no permissions to access one of the channels used as arguments".to_owned()
                    }
                }))
            }
        }
    }

    /// ACL LOG's reason and object for a refusal of `args` (command `id`).
    pub(crate) fn refusal_parts(&self, denied: Denied, id: usize, args: &[Vec<u8>]) -> (&'static str, Vec<u8>) {
        match denied {
            Denied::Command => ("command", self.commands.name(id).as_bytes().to_vec()),
            Denied::Key(i) => ("key", args[i].clone()),
            Denied::Channel(i) => ("channel", args[i].clone()),
        }
    }

    /// The refusal the last [`Acl::check`] made, once.
    pub(crate) fn take_denied(&self) -> Option<(Denied, usize)> {
        self.denied.take()
    }

    /// `addACLLogEntry`: a refusal, merged into a like entry of the last ten within a minute.
    pub(crate) fn log(
        &mut self,
        reason: &'static str,
        context: Context,
        object: Vec<u8>,
        username: &str,
        now_ms: i64,
        client_info: String,
    ) {
        let username = username.to_owned();
        self.push(LogEntry { count: 1, reason, context, object, username, at_ms: now_ms, client_info });
    }

    /// [`Acl::log`] of an entry made.
    pub(crate) fn push(&mut self, entry: LogEntry) {
        let same = |e: &LogEntry| {
            e.reason == entry.reason
                && e.context == entry.context
                && (e.at_ms - entry.at_ms).abs() <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        };
        if let Some(at) = self.log.iter().take(10).position(same) {
            let mut e = self.log.remove(at).expect("found");
            e.count += 1;
            e.at_ms = entry.at_ms;
            e.client_info = entry.client_info;
            self.log.push_front(e);
            return;
        }
        self.log.push_front(entry);
        self.log.truncate(LOG_MAX);
    }
}

/// Why a command was refused, as a script's error words it (`getAclErrorMessage`).
pub(crate) fn refusal_message(denied: Denied) -> &'static str {
    match denied {
        Denied::Command => "can't run this command or subcommand",
        Denied::Key(_) => "can't access at least one of the keys mentioned in the command arguments",
        Denied::Channel(_) => "can't publish to the channel mentioned in the command",
    }
}

/// A command's keys (argument position, permissions needed) and channels
/// (position, whether a PSUBSCRIBE pattern).
type Touched = (Vec<(usize, u8)>, Vec<(usize, bool)>);

/// The keys a command names and the channels it publishes or subscribes to.
fn touched(command: &'static crate::command_table::Command, sub: Option<usize>, args: &[Vec<u8>]) -> Touched {
    use crate::acl_users::{READ, WRITE};
    let doc = sub.map_or(command.doc, |s| &command.doc.subcommands[s]);
    let keys = if doc.specs.is_empty() {
        Vec::new()
    } else {
        crate::command_info::keys_with_flags(command, doc, args)
            .into_iter()
            .map(|(i, flags)| {
                let mut need = 0;
                if flags.contains(&"access") {
                    need |= READ;
                }
                if flags.iter().any(|f| matches!(*f, "insert" | "delete" | "update")) {
                    need |= WRITE;
                }
                (i, need)
            })
            .collect()
    };
    let channels = match doc.name {
        "publish" | "spublish" => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..args.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..args.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    };
    (keys, channels)
}

impl Server {
    /// ACL's subcommands, arity already checked.
    pub(crate) fn acl_command(&mut self, ctx: &mut Ctx<'_>, client: &mut Client, args: &[Vec<u8>]) -> Value {
        let sub = args[1].to_ascii_lowercase();
        let text = |a: &[u8]| String::from_utf8_lossy(a).into_owned();
        match sub.as_slice() {
            b"setuser" => self.acl_setuser(args),
            b"getuser" if args.len() == 3 => self.acl_getuser(&text(&args[2])),
            b"list" | b"users" if args.len() == 2 => {
                let acl = &self.acl;
                Value::Array(
                    acl.users
                        .values()
                        .map(|u| match sub.as_slice() {
                            b"users" => Value::bulk(&u.name),
                            _ => Value::Bulk(format!("user {} {}", u.name, u.describe(acl.commands)).into_bytes()),
                        })
                        .collect(),
                )
            }
            b"whoami" if args.len() == 2 => Value::bulk(&client.user),
            b"cat" => match args.get(2) {
                _ if args.len() > 3 => syntax(&args[1]),
                None => Value::Array(common::acl::CATEGORIES.iter().copied().map(Value::bulk).collect()),
                Some(cat) => category_commands(&text(cat)),
            },
            b"log" => self.acl_log(ctx, args),
            b"genpass" => genpass(ctx, args),
            b"deluser" => self.acl_deluser(ctx, client, args),
            b"dryrun" => self.acl_dryrun(args),
            b"load" | b"save" => Value::error(
                "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
            ),
            b"help" => crate::modules::help(common::acl::HELP),
            _ => syntax(&args[1]),
        }
    }

    /// Logs the refusal of the command `args` that the gates just made, if
    /// it was the ACL's (`addACLLogEntry` in processCommand).
    pub(crate) fn log_acl_refusal(&mut self, client: &Client, args: &[Vec<u8>], now_ms: i64) {
        if let Some(entry) = self.acl_refusal(client, args, now_ms) {
            self.acl.push(entry);
        }
    }

    /// The log entry for the refusal the gates just made, if it was the ACL's.
    pub(crate) fn acl_refusal(&self, client: &Client, args: &[Vec<u8>], now_ms: i64) -> Option<LogEntry> {
        let (denied, id) = self.acl.take_denied()?;
        let name = self.acl.commands.name(id);
        let (reason, object) = self.acl.refusal_parts(denied, id, args);
        let context = if client.multi.is_some() { Context::Multi } else { Context::Toplevel };
        let client_info = self.client_info(client, now_ms, name);
        Some(LogEntry { count: 1, reason, context, object, username: client.user.clone(), at_ms: now_ms, client_info })
    }

    /// EXEC's check of a queued command against the rules as they are now
    /// (they may have changed since it was queued): the refusal execCommand
    /// answers, logged with context `multi`.
    pub(crate) fn exec_acl_refusal(&mut self, client: &Client, args: &[Vec<u8>], now_ms: i64) -> Option<Value> {
        let user = self.acl.restricted(&client.user)?;
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let command = crate::command_table::lookup(&name)?;
        let sub = match command.doc.subcommands.is_empty() || args.len() < 2 {
            true => None,
            false => crate::command_table::subcommand_position(command, &args[1]),
        };
        self.acl.check(user, command, sub, args).err()?;
        let reason = match self.acl.denied.get() {
            Some((Denied::Key(_), _)) => "no permission to touch the specified keys",
            Some((Denied::Channel(_), _)) => "no permission to access one of the channels used as arguments",
            _ => "no permission to execute the command or subcommand",
        };
        self.log_acl_refusal(client, args, now_ms);
        Some(Value::error(format!(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
        )))
    }

    /// ACL SETUSER: every rule applied to a copy, kept only if all apply (`ACLStringSetUser`).
    fn acl_setuser(&mut self, args: &[Vec<u8>]) -> Value {
        let name = &args[2];
        if has_spaces(name) {
            return Value::error("ERR Usernames can't contain spaces or null characters");
        }
        let rules = match merge_selectors(&args[3..]) {
            Ok(rules) => rules,
            Err(i) => {
                return Value::error(format!(
                    "ERR Unmatched parenthesis in acl selector starting at '{}'.",
                    String::from_utf8_lossy(&args[3 + i])
                ));
            }
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let acl = &mut self.acl;
        let mut user = acl.users.get(&name).cloned().unwrap_or_else(|| User::new(&name, acl.commands));
        for rule in &rules {
            if let Err(e) = user.apply(acl.commands, rule) {
                return Value::error(format!(
                    "ERR Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(rule),
                    e.text()
                ));
            }
        }
        acl.users.insert(name, user);
        acl.users_changed();
        Value::ok()
    }

    /// ACL GETUSER: flags, passwords, the root selector's commands, keys and
    /// channels, then the other selectors.
    fn acl_getuser(&self, name: &str) -> Value {
        let Some(u) = self.acl.users.get(name) else { return Value::Nil };
        let commands = &self.acl.commands;
        let selector = |s: &crate::acl_users::Selector| {
            s.fields(commands).into_iter().map(|(k, v)| (Value::bulk(k), Value::Bulk(v.into_bytes()))).collect()
        };
        let mut fields = vec![
            (Value::bulk("flags"), Value::Set(u.flags().into_iter().map(Value::bulk).collect())),
            (Value::bulk("passwords"), Value::Array(u.passwords.iter().map(Value::bulk).collect())),
        ];
        fields.extend::<Vec<(Value, Value)>>(selector(&u.root));
        fields.push((
            Value::bulk("selectors"),
            Value::Array(u.selectors().iter().map(|s| Value::Map(selector(s))).collect()),
        ));
        Value::Map(fields)
    }

    /// ACL DELUSER: the users removed, and the connections authenticated as them closed.
    fn acl_deluser(&mut self, ctx: &mut Ctx<'_>, me: &mut Client, args: &[Vec<u8>]) -> Value {
        if args[2..].iter().any(|u| u == b"default") {
            return Value::error("ERR The 'default' user cannot be removed");
        }
        let mut deleted = 0;
        for name in &args[2..] {
            let name = String::from_utf8_lossy(name).into_owned();
            if self.acl.users.remove(&name).is_some() {
                deleted += 1;
                // `ACLFreeUserAndKillClients`: the caller itself after its reply.
                let victims: Vec<sim::ConnId> =
                    self.clients.iter().filter(|(_, c)| c.user == name).map(|(&conn, _)| conn).collect();
                for conn in victims {
                    self.kill_client(ctx, conn);
                }
                if me.user == name {
                    me.authenticated = false;
                    me.user = "default".to_owned();
                    me.closing = true;
                }
            }
        }
        self.acl.users_changed();
        Value::Integer(deleted)
    }

    /// ACL DRYRUN user command [args]: what the user's command would meet.
    fn acl_dryrun(&self, args: &[Vec<u8>]) -> Value {
        let text = |a: &[u8]| String::from_utf8_lossy(a).into_owned();
        let Some(user) = self.acl.users.get(&text(&args[2])) else {
            return Value::error(format!("ERR User '{}' not found", text(&args[2])));
        };
        let cmd = &args[3..];
        let Some(command) = crate::command_table::lookup(&text(&cmd[0]).to_ascii_lowercase()) else {
            return Value::error(format!("ERR Command '{}' not found", text(&cmd[0])));
        };
        let mut sub = None;
        let mut name = command.doc.name;
        if !command.doc.subcommands.is_empty() && cmd.len() > 1 {
            match crate::command_table::subcommand_position(command, &cmd[1]) {
                Some(i) => {
                    sub = Some(i);
                    name = command.doc.subcommands[i].name;
                }
                None => return Value::error(format!("ERR Command '{}' not found", text(&cmd[0]))),
            }
        }
        let arity = sub.map_or(command.arity, |i| command.doc.subcommands[i].arity);
        let argc = cmd.len() as i32;
        if (arity > 0 && argc != arity) || argc < -arity {
            return Value::error(format!("ERR wrong number of arguments for '{name}' command"));
        }
        match self.acl.check(user, command, sub, cmd) {
            Ok(()) => Value::ok(),
            Err(_) => match self.acl.take_denied() {
                Some((Denied::Key(i), _)) => Value::Bulk(
                    format!("This user has no permissions to access the '{}' key", text(&cmd[i])).into_bytes(),
                ),
                Some((Denied::Channel(i), _)) => Value::Bulk(
                    format!("This user has no permissions to access the '{}' channel", text(&cmd[i])).into_bytes(),
                ),
                _ => Value::Bulk(format!("This user has no permissions to run the '{name}' command").into_bytes()),
            },
        }
    }

    /// ACL LOG [count | RESET].
    fn acl_log(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let count = match args.get(2) {
            _ if args.len() > 3 => return syntax(&args[1]),
            None => 10,
            Some(a) if a.eq_ignore_ascii_case(b"reset") => {
                self.acl.log.clear();
                return Value::ok();
            }
            Some(a) => match crate::commands::parse_int(a) {
                None => return Value::error("ERR value is not an integer or out of range"),
                Some(n) => n.max(0) as usize,
            },
        };
        let now = ctx.wall_clock_ms();
        Value::Array(
            self.acl
                .log
                .iter()
                .take(count)
                .map(|e| {
                    let context = match e.context {
                        Context::Toplevel => "toplevel",
                        Context::Multi => "multi",
                        Context::Lua => "lua",
                    };
                    Value::Map(vec![
                        (Value::bulk("count"), Value::Integer(e.count as i64)),
                        (Value::bulk("reason"), Value::bulk(e.reason)),
                        (Value::bulk("context"), Value::bulk(context)),
                        (Value::bulk("object"), Value::Bulk(e.object.clone())),
                        (Value::bulk("username"), Value::bulk(&e.username)),
                        (
                            Value::bulk("age-seconds"),
                            Value::Double(crate::zset::format_g17((now - e.at_ms) as f64 / 1000.0)),
                        ),
                        (Value::bulk("client-info"), Value::bulk(&e.client_info)),
                    ])
                })
                .collect(),
        )
    }
}

/// ACL CAT <category>: the commands of the table in it (only those this node simulates).
fn category_commands(cat: &str) -> Value {
    if !common::acl::CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(cat)) {
        return Value::error(format!("ERR Unknown category '{cat}'"));
    }
    let tag = format!("@{}", cat.to_ascii_lowercase());
    let mut out = Vec::new();
    for c in crate::command_table::all() {
        if c.doc.acl.contains(&tag.as_str()) {
            out.push(Value::bulk(c.name));
        }
        for s in c.doc.subcommands.iter().filter(|s| s.acl.contains(&tag.as_str())) {
            out.push(Value::bulk(s.name));
        }
    }
    Value::Array(out)
}

/// ACL GENPASS [bits]: `bits` random bits as hex digits, from the seeded stream.
fn genpass(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
    let bits = match args.get(2) {
        _ if args.len() > 3 => return syntax(&args[1]),
        None => 256,
        Some(a) => match crate::commands::parse_int(a) {
            None => return Value::error("ERR value is not an integer or out of range"),
            Some(b) if b <= 0 || b > 4096 => {
                return Value::error(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                );
            }
            Some(b) => b as usize,
        },
    };
    let chars = bits.div_ceil(4);
    let mut hex = String::with_capacity(chars);
    while hex.len() < chars {
        hex.push_str(&format!("{:016x}", ctx.rng().next_u64()));
    }
    hex.truncate(chars);
    Value::Bulk(hex.into_bytes())
}

/// SHA-256 (FIPS 180-4) of `data`, in lowercase hex, as ACL shows passwords.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(v);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_matches_known_digests() {
        // `echo -n 'p@ss' | sha256sum` and ACL LIST on 7.0.15 with requirepass p@ss agree on the first.
        assert_eq!(super::sha256_hex(b"p@ss"), "a4048cba70dad0be0b01a8bb00027c775386c3f6194943ad3bf37204781edbc5");
        assert_eq!(super::sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(super::sha256_hex(&[b'a'; 64]), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    }
}
