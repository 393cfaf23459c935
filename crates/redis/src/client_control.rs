//! The CLIENT subcommands that set how a connection is served (networking.c's
//! `clientCommand`): LIST and INFO, PAUSE/UNPAUSE, REPLY, NO-EVICT, the
//! client-side caching switches (TRACKING, CACHING, GETREDIR, TRACKINGINFO)
//! and HELP. KILL is in [`crate::multi`].
//!
//! Tracking is kept as Redis keeps it per client (mode, redirection,
//! prefixes, the CACHING flag), so the replies and errors are Redis's; the
//! invalidation messages themselves are not sent (no key is tracked).

use crate::command_table::{Command, MAY_REPLICATE};
use crate::server::{Client, Server};
use resp::Value;
use sim::{ConnId, Ctx};

/// What CLIENT REPLY set (`CLIENT_REPLY_OFF`, `CLIENT_REPLY_SKIP_NEXT`,
/// `CLIENT_REPLY_SKIP`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ReplyMode {
    #[default]
    On,
    Off,
    /// CLIENT REPLY SKIP itself: the next command's reply is dropped too.
    SkipNext,
    /// This command's reply is dropped.
    Skip,
}

/// `CLIENT TRACKING on`'s options, as `enableTracking` keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tracking {
    /// The client invalidations go to; 0 when none.
    redirect: u64,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    prefixes: Vec<Vec<u8>>,
}

/// The switches CLIENT sets on one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Controls {
    pub(crate) reply: ReplyMode,
    pub(crate) no_evict: bool,
    tracking: Option<Tracking>,
    /// CLIENT CACHING yes|no for the next command (`CLIENT_TRACKING_CACHING`).
    caching: bool,
}

impl Controls {
    /// Whether the reply of the command that just ran is sent, moving
    /// SKIP along (`CLIENT_REPLY_SKIP_NEXT` becomes `CLIENT_REPLY_SKIP` for
    /// the next command); `client` says whether it was a CLIENT command,
    /// which keeps the CACHING flag (`resetClient`).
    pub(crate) fn after_command(&mut self, client: bool) -> bool {
        if !client {
            self.caching = false;
        }
        match self.reply {
            ReplyMode::On => true,
            ReplyMode::Off => false,
            ReplyMode::SkipNext => {
                self.reply = ReplyMode::Skip;
                false
            }
            ReplyMode::Skip => {
                self.reply = ReplyMode::On;
                false
            }
        }
    }

    /// CLIENT LIST's flag letters for tracking (`t`, and `B` when broadcasting).
    pub(crate) fn tracking_flags(&self) -> &'static str {
        match &self.tracking {
            None => "",
            Some(t) if t.bcast => "tB",
            Some(_) => "t",
        }
    }

    /// CLIENT LIST's `redir=`: the redirection while tracking, else -1.
    pub(crate) fn redir(&self) -> i64 {
        self.tracking.as_ref().map_or(-1, |t| t.redirect as i64)
    }
}

/// A client's kind for CLIENT LIST TYPE and CLIENT KILL TYPE (`getClientTypeByName`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

impl ClientType {
    pub(crate) fn parse(name: &[u8]) -> Option<ClientType> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"normal" => ClientType::Normal,
            b"slave" | b"replica" => ClientType::Replica,
            b"pubsub" => ClientType::PubSub,
            b"master" => ClientType::Master,
            _ => return None,
        })
    }
}

/// CLIENT PAUSE's state (`PAUSE_BY_CLIENT_COMMAND`): until when, and whether
/// every command or only writes wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientPause {
    pub(crate) until_ms: i64,
    pub(crate) all: bool,
}

fn syntax_error() -> Value {
    Value::error("ERR syntax error")
}

/// `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(sub: &[u8]) -> Value {
    Value::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
        String::from_utf8_lossy(sub)
    ))
}

impl Server {
    /// The CLIENT subcommands of this module, arity already checked.
    pub(crate) fn client_control(&mut self, ctx: &mut Ctx<'_>, client: &mut Client, args: &[Vec<u8>]) -> Value {
        let sub = args[1].to_ascii_lowercase();
        match sub.as_slice() {
            b"list" => self.client_list(ctx.wall_clock_ms(), client, &args[2..]),
            b"info" => {
                let line = self.client_line(None, client, ctx.wall_clock_ms(), "client|info");
                Value::Verbatim(format!("{line}\n").into_bytes())
            }
            b"pause" => self.client_pause(ctx, args),
            b"unpause" => {
                self.client_pause = None;
                self.resume_paused_clients(ctx);
                Value::ok()
            }
            b"reply" => client_reply(client, &args[2]),
            b"no-evict" => match on_off(&args[2]) {
                Some(on) => {
                    client.ctl.no_evict = on;
                    Value::ok()
                }
                None => syntax_error(),
            },
            b"tracking" => self.client_tracking(client, args),
            b"caching" => client_caching(client, &args[2]),
            b"getredir" => Value::Integer(client.ctl.redir()),
            b"trackinginfo" => tracking_info(&client.ctl),
            b"help" => common::help_reply(common::client::HELP),
            _ => Value::error(format!(
                "ERR unknown subcommand '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&args[1])
            )),
        }
    }

    /// CLIENT LIST [TYPE type | ID id [id ...]]: one line per client, the caller included.
    fn client_list(&self, now_ms: i64, me: &Client, filter: &[Vec<u8>]) -> Value {
        let mut kind = None;
        let mut ids = None;
        match filter {
            [] => {}
            [t, name] if t.eq_ignore_ascii_case(b"type") => match ClientType::parse(name) {
                Some(k) => kind = Some(k),
                None => {
                    return Value::error(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(name)));
                }
            },
            [t, rest @ ..] if t.eq_ignore_ascii_case(b"id") && !rest.is_empty() => {
                let mut wanted = Vec::with_capacity(rest.len());
                for id in rest {
                    match crate::commands::parse_int(id) {
                        Some(n) => wanted.push(n),
                        None => return Value::error("ERR Invalid client ID"),
                    }
                }
                ids = Some(wanted);
            }
            _ => return syntax_error(),
        }
        let mut all: Vec<(Option<ConnId>, &Client)> = self.clients.iter().map(|(k, c)| (Some(*k), c)).collect();
        all.push((None, me));
        all.sort_by_key(|(_, c)| c.id);
        let mut text = String::new();
        for (conn, c) in all {
            let class = self.client_type(conn, c);
            if kind.is_some_and(|k| k != class) || ids.as_ref().is_some_and(|w| !w.contains(&(c.id as i64))) {
                continue;
            }
            let cmd = if c.id == me.id { "client|list" } else { "NULL" };
            text.push_str(&self.client_line(conn, c, now_ms, cmd));
            text.push('\n');
        }
        Value::Verbatim(text.into_bytes())
    }

    /// `getClientType`: the caller (`conn` None) is never a replica or subscriber here.
    pub(crate) fn client_type(&self, conn: Option<ConnId>, c: &Client) -> ClientType {
        if c.replica.is_some() {
            ClientType::Replica
        } else if conn.is_some_and(|k| self.pubsub.is_subscribed(k)) {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }

    /// CLIENT PAUSE timeout [WRITE|ALL]: the pause ends at the first
    /// serverCron after `timeout` ms (`checkClientPauseTimeoutAndReturnIfPaused`).
    fn client_pause(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let timeout = match crate::commands::parse_int(&args[2]) {
            None => return Value::error("ERR timeout is not an integer or out of range"),
            Some(t) if t < 0 => return Value::error("ERR timeout is negative"),
            Some(t) => t,
        };
        let all = match args.get(3) {
            None => true,
            Some(m) if args.len() == 4 && m.eq_ignore_ascii_case(b"write") => false,
            Some(m) if args.len() == 4 && m.eq_ignore_ascii_case(b"all") => true,
            Some(_) if args.len() == 4 => return Value::error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
            Some(_) => return subcommand_syntax_error(&args[1]),
        };
        let until_ms = ctx.wall_clock_ms().saturating_add(timeout);
        // `pauseClients`: a later end or a stricter mode wins over the pause in place.
        self.client_pause = Some(match self.client_pause {
            Some(p) => ClientPause { until_ms: p.until_ms.max(until_ms), all: p.all || all },
            None => ClientPause { until_ms, all },
        });
        Value::ok()
    }

    /// CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP].
    fn client_tracking(&self, client: &mut Client, args: &[Vec<u8>]) -> Value {
        let mut new = Tracking::default();
        let mut redirect = None;
        let mut j = 3;
        while j < args.len() {
            let more = j + 1 < args.len();
            let opt = args[j].to_ascii_lowercase();
            match opt.as_slice() {
                b"redirect" if more => {
                    if redirect.is_some() {
                        return Value::error("ERR A client can only redirect to a single other client");
                    }
                    let Some(id) = crate::commands::parse_int(&args[j + 1]) else {
                        return Value::error("ERR value is not an integer or out of range");
                    };
                    let exists = id as u64 == client.id || self.clients.values().any(|c| c.id as i64 == id);
                    if !exists {
                        return Value::error("ERR The client ID you want redirect to does not exist");
                    }
                    redirect = Some(id as u64);
                    j += 1;
                }
                b"bcast" => new.bcast = true,
                b"optin" => new.optin = true,
                b"optout" => new.optout = true,
                b"noloop" => new.noloop = true,
                b"prefix" if more => {
                    new.prefixes.push(args[j + 1].clone());
                    j += 1;
                }
                _ => return syntax_error(),
            }
            j += 1;
        }
        new.redirect = redirect.unwrap_or(0);
        if args[2].eq_ignore_ascii_case(b"off") {
            client.ctl.tracking = None;
            client.ctl.caching = false;
            return Value::ok();
        }
        if !args[2].eq_ignore_ascii_case(b"on") {
            return syntax_error();
        }
        if let Err(e) = check_tracking(client.ctl.tracking.as_ref(), &new) {
            return Value::error(e);
        }
        // `enableTracking`: the mode is replaced, broadcast prefixes add up.
        if let Some(old) = client.ctl.tracking.take() {
            let mut prefixes = old.prefixes;
            prefixes.append(&mut new.prefixes);
            new.prefixes = prefixes;
        }
        new.prefixes.sort();
        client.ctl.tracking = Some(new);
        client.ctl.caching = false;
        Value::ok()
    }
}

/// CLIENT TRACKING on's checks, in `clientCommand`'s order.
fn check_tracking(old: Option<&Tracking>, new: &Tracking) -> Result<(), String> {
    if !new.bcast && !new.prefixes.is_empty() {
        return Err("ERR PREFIX option requires BCAST mode to be enabled".to_owned());
    }
    if old.is_some_and(|o| o.bcast != new.bcast) {
        return Err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.".to_owned());
    }
    if new.bcast && (new.optin || new.optout) {
        return Err("ERR OPTIN and OPTOUT are not compatible with BCAST".to_owned());
    }
    if new.optin && new.optout {
        return Err("ERR You can't specify both OPTIN mode and OPTOUT mode".to_owned());
    }
    if old.is_some_and(|o| (new.optin && o.optout) || (new.optout && o.optin)) {
        return Err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.".to_owned());
    }
    if new.bcast {
        check_prefixes(old.map_or(&[][..], |o| &o.prefixes), &new.prefixes)?;
    }
    Ok(())
}

/// `checkPrefixCollisionsOrReply`: no prefix may start another, neither among
/// those already tracked nor among the new ones.
fn check_prefixes(old: &[Vec<u8>], new: &[Vec<u8>]) -> Result<(), String> {
    let text = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    for (i, p) in new.iter().enumerate() {
        if let Some(o) = old.iter().find(|o| overlap(o, p)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(o)
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(q, p)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(q)
            ));
        }
    }
    Ok(())
}

fn on_off(arg: &[u8]) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if arg.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

/// CLIENT REPLY ON|OFF|SKIP: only ON answers.
fn client_reply(client: &mut Client, mode: &[u8]) -> Value {
    if mode.eq_ignore_ascii_case(b"on") {
        client.ctl.reply = ReplyMode::On;
        Value::ok()
    } else if mode.eq_ignore_ascii_case(b"off") {
        client.ctl.reply = ReplyMode::Off;
        Value::ok()
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if client.ctl.reply != ReplyMode::Off {
            client.ctl.reply = ReplyMode::SkipNext;
        }
        Value::ok()
    } else {
        syntax_error()
    }
}

/// CLIENT CACHING yes|no: marks the next command, in OPTIN or OPTOUT mode.
fn client_caching(client: &mut Client, arg: &[u8]) -> Value {
    let Some(t) = client.ctl.tracking.as_ref() else {
        return Value::error(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        );
    };
    if arg.eq_ignore_ascii_case(b"yes") {
        if !t.optin {
            return Value::error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
        }
    } else if arg.eq_ignore_ascii_case(b"no") {
        if !t.optout {
            return Value::error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
        }
    } else {
        return syntax_error();
    }
    client.ctl.caching = true;
    Value::ok()
}

/// CLIENT TRACKINGINFO: flags, redirect, prefixes.
fn tracking_info(ctl: &Controls) -> Value {
    let mut flags = Vec::new();
    match &ctl.tracking {
        None => flags.push("off"),
        Some(t) => {
            flags.push("on");
            if t.bcast {
                flags.push("bcast");
            }
            if t.optin {
                flags.push("optin");
                if ctl.caching {
                    flags.push("caching-yes");
                }
            }
            if t.optout {
                flags.push("optout");
                if ctl.caching {
                    flags.push("caching-no");
                }
            }
            if t.noloop {
                flags.push("noloop");
            }
        }
    }
    let prefixes =
        ctl.tracking.as_ref().map_or(Vec::new(), |t| t.prefixes.iter().map(|p| Value::Bulk(p.clone())).collect());
    Value::Map(vec![
        (Value::bulk("flags"), Value::Set(flags.into_iter().map(Value::bulk).collect())),
        (Value::bulk("redirect"), Value::Integer(ctl.redir())),
        (Value::bulk("prefixes"), Value::Array(prefixes)),
    ])
}

/// What the pauses in force hold back (`client_pause_type`): every
/// command, or those that may replicate.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PauseInForce {
    pub(crate) writes: bool,
    pub(crate) all: bool,
}

impl PauseInForce {
    /// Whether `client`'s command waits for the pause to end (processCommand's
    /// `blockClient(c, BLOCKED_POSTPONE)`): replicas never wait; in WRITE mode
    /// what may replicate waits (writes, EVAL, PUBLISH, FUNCTION LOAD, ..., an
    /// EXEC that queued one of those).
    pub(crate) fn holds(&self, client: &Client, args: &[Vec<u8>], name: &str, command: Option<&Command>) -> bool {
        if client.replica.is_some() || !(self.all || self.writes) {
            return false;
        }
        let may_replicate = command.is_some_and(|c| c.write() || c.has(MAY_REPLICATE))
            || (name == "exec" && client.multi.as_ref().is_some_and(|t| t.may_replicate()))
            || (name == "function" && args.get(1).is_some_and(|s| crate::scripting::functions::writes(s)));
        self.all || may_replicate
    }
}

impl Server {
    /// The pauses in force at `now_ms`: CLIENT PAUSE's, and the write pauses of
    /// a manual failover, a FAILOVER or a shutdown.
    pub(crate) fn pause_in_force(&self, now_ms: i64) -> PauseInForce {
        // In force until serverCron sees its end, as `client_pause_type` is.
        let client = self.client_pause;
        PauseInForce {
            writes: client.is_some() || self.writes_paused(now_ms) || self.failover.active(),
            all: client.is_some_and(|p| p.all),
        }
    }

    /// serverCron's check of CLIENT PAUSE's end (`checkClientPauseTimeoutAndReturnIfPaused`):
    /// whether the pause just ended (its held clients then run again).
    pub(crate) fn client_pause_expired(&mut self, now_ms: i64) -> bool {
        if self.client_pause.is_some_and(|p| p.until_ms < now_ms) {
            self.client_pause = None;
            return true;
        }
        false
    }
}
