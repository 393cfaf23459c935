//! Lua scripting (eval.c, script.c, script_lua.c of Redis 7.0): EVAL,
//! EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD|EXISTS|FLUSH|KILL on a real
//! Lua 5.1 ([`mlua`], vendored), with Redis's `redis` table ([`lua`]), its
//! reply conversions and error texts, effects replication and the busy script.
//! Functions (FUNCTION, FCALL, FCALL_RO: [`functions`]) run on the same
//! machinery in an interpreter of their own ([`Kind`] says which).
//!
//! **Virtual time.** A script costs [`NS_PER_INSTRUCTION`] of virtual CPU per
//! Lua VM instruction, counted by [`lua_slice`]'s hook in slices of
//! [`SLICE_INSTRUCTIONS`]. A script that ends within its first slice answers at
//! once, as every other command of this node does. A longer one blocks the
//! event loop for the time it ran: nothing is served until then (like DEBUG
//! SLEEP), and its reply leaves when that time comes ([`Timer::Script`]).
//!
//! **The busy script, without hanging the simulator.** The script runs as a
//! Lua coroutine that the hook yields at the end of each slice. EVAL runs
//! slices synchronously until the script ends or has run
//! `busy-reply-threshold` (default 5000 ms; alias `lua-time-limit`). If it has
//! not ended, the coroutine is kept suspended in [`Running`], the server logs
//! "Slow script detected" when that virtual moment comes, and from then on it
//! serves inputs as Redis's `processEventsWhileBlocked` does: every command
//! gets `-BUSY` except those Redis flags `allow-busy` (SCRIPT KILL, SHUTDOWN
//! NOSAVE, AUTH, HELLO, ...). The script advances lazily: before any client
//! input is served, and on a timer every [`TICK`], it runs exactly the slices
//! that fit up to the current virtual time, so a SCRIPT KILL at time t sees the
//! script as it was at t (killable if it has not written, `-UNKILLABLE` if it
//! has). Each handler call runs a bounded number of slices; the simulator
//! never blocks on a script. A slice that ends inside a C call (`pcall`,
//! `table.sort`, ...) cannot yield; `lua_slice` then searches instruction by
//! instruction for the next point that can, and a script stuck inside C calls
//! for [`STUCK_LIMIT_SLICES`] slices in a row (a `while true do end` inside
//! `pcall`) is stopped with an error that says so: the one place the simulator
//! differs from Redis, which would serve BUSY until SCRIPT KILL.
//!
//! **Determinism.** No wall clock, no `os`/`io`/`print` (removed as Redis
//! removes them), and `math.random` is Redis's `redisLrand48`, unseeded: one
//! sequence per process from the generator's initial state (measured: a fresh
//! server's first draws, and successive EVALs continue the sequence).
//! The libraries Redis loads (`cjson`, `cmsgpack`, `bit`, `struct`; the
//! `lualib_*` files) read no clock and draw nothing; they walk tables in Lua's
//! `next` order, as Redis does, which is the same in every run for string and
//! number keys (tables keyed by tables or functions order by address, in
//! Redis as here, as `pairs` does). Their work costs no virtual CPU beyond
//! the VM instructions of the script that calls them.
//!
//! **What is partial.** `_G` is protected by a metatable (a stray global read
//! or write fails with Redis's texts), not by Redis's read-only-table VM patch,
//! so library tables (`string`, `redis`, `cjson`) stay writable;
//! `redis.set_repl`'s AOF/replica split is not simulated (any flag but
//! REPL_NONE propagates to both); scripts are not kept in the RDB (neither
//! does Redis keep EVAL scripts; function libraries are kept).

pub(crate) mod functions;
pub(crate) mod lua;
mod lualib_args;
mod lualib_bit;
mod lualib_cjson;
mod lualib_cjson_decode;
mod lualib_cmsgpack;
mod lualib_struct;

use crate::dispatch::Timer;
use crate::server::{Client, Server};
use mlua::{Function, Lua, MultiValue, Table, Thread, Value as Lv};
use resp::Value;
use sim::{ConnId, Ctx, Instant};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Virtual CPU per Lua VM instruction: ten times a real server's, so that a
/// runaway script reaches the 5 s threshold after 50 million instructions.
pub(crate) const NS_PER_INSTRUCTION: u64 = 100;
/// Instructions per slice (1 ms of virtual time).
pub(crate) const SLICE_INSTRUCTIONS: u32 = 10_000;
/// How often a timed-out script advances when no input arrives.
pub(crate) const TICK: Duration = Duration::from_millis(100);
/// Slices in a row a script may spend where it cannot yield.
pub(crate) const STUCK_LIMIT_SLICES: u32 = 10_000;

const SLICE: Duration = Duration::from_nanos(NS_PER_INSTRUCTION * SLICE_INSTRUCTIONS as u64);
const BUSY: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// The node's scripting state: the interpreter, the script cache (SCRIPT
/// LOAD's and EVAL's, by SHA-1) and the script running, if any.
pub(crate) struct Scripting {
    vm: Option<Lua>,
    rand: Rc<Cell<u64>>,
    scripts: BTreeMap<String, Function>,
    /// What the cached scripts' entries hold in Redis's `lua_scripts` dict
    /// (entry, SHA sds, body object): INFO's `used_memory_scripts_eval`.
    cache_bytes: u64,
    /// Each cached script's shebang flags (see [`shebang_flags`]).
    shebangs: BTreeMap<String, Option<Shebang>>,
    /// A script's `redis.call` is running its command.
    pub(crate) in_call: bool,
    running: Option<Running>,
    /// FUNCTION's libraries, in their own interpreter.
    pub(crate) functions: functions::Functions,
}

/// What a run runs: an EVAL script or an FCALL function (each in its own interpreter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Eval,
    Function,
}

impl Kind {
    /// The chunk name its errors point into.
    fn chunk(self) -> &'static str {
        match self {
            Kind::Eval => "@user_script",
            Kind::Function => "@user_function",
        }
    }

    /// The `-BUSY` text while a run of this kind holds the server.
    fn busy(self) -> &'static str {
        match self {
            Kind::Eval => BUSY,
            Kind::Function => BUSY_FUNCTION,
        }
    }

    /// The command that kills it.
    fn killer(self) -> &'static str {
        match self {
            Kind::Eval => "SCRIPT KILL",
            Kind::Function => "FUNCTION KILL",
        }
    }
}

impl Default for Scripting {
    fn default() -> Scripting {
        Scripting {
            vm: None,
            // Redis 7.0 never seeds `redisLrand48` before the first script: its
            // state starts at the generator's built-in value, once per process.
            rand: Rc::new(Cell::new(lua::LRAND48_INITIAL)),
            scripts: BTreeMap::new(),
            cache_bytes: 0,
            shebangs: BTreeMap::new(),
            in_call: false,
            running: None,
            functions: functions::Functions::default(),
        }
    }
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting")
            .field("scripts", &self.scripts.len())
            .field("running", &self.running.is_some())
            .finish()
    }
}

/// A script that has not ended yet.
struct Running {
    conn: ConnId,
    kind: Kind,
    /// The script's SHA-1 or the function's name.
    name: String,
    /// The command that started it (FUNCTION STATS shows it).
    command: Vec<Vec<u8>>,
    thread: Thread,
    started: Instant,
    /// Virtual CPU it has run.
    ran: Duration,
    /// Past `busy-reply-threshold`: other clients get `-BUSY`.
    timed_out: bool,
    /// Its reply, once it ended, waiting for the moment it ended.
    done: Option<Value>,
    call: CallState,
}

/// What starts a run.
struct Launch {
    kind: Kind,
    /// The script's SHA-1 or the function's name.
    name: String,
    /// The command (FUNCTION STATS shows it).
    command: Vec<Vec<u8>>,
    read_only: bool,
    /// `redis.call` refuses deny-oom commands until the first write.
    deny_oom: bool,
}

/// What `redis.call` needs of the run.
struct CallState {
    client: Client,
    read_only: bool,
    /// `redis.call` refuses deny-oom commands until the first write.
    deny_oom: bool,
    /// It ran a write command (SCRIPT KILL answers UNKILLABLE).
    wrote: bool,
    /// The commands it propagated, wrapped in MULTI/EXEC when it ends.
    effects: Vec<u8>,
    propagated: usize,
    /// The caller's CLIENT LIST line, for the ACL log of a refused call
    /// (taken only when the caller's user is restricted).
    caller_line: Option<String>,
}

/// How a run of slices ended.
enum Step {
    Done(Value),
    Paused,
}

impl Scripting {
    /// Whether a script holds the event loop (before its threshold).
    pub(crate) fn blocks(&self) -> bool {
        self.running.as_ref().is_some_and(|r| !r.timed_out)
    }

    /// The cached scripts and what their entries hold, buckets apart.
    pub(crate) fn cache_memory(&self) -> (u64, u64) {
        (self.scripts.len() as u64, self.cache_bytes)
    }

    /// Whether other clients get `-BUSY` now.
    pub(crate) fn timed_out(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.timed_out && r.done.is_none())
    }

    /// The interpreter runs of `kind` use.
    fn vm_slot(&mut self, kind: Kind) -> &mut Option<Lua> {
        match kind {
            Kind::Eval => &mut self.vm,
            Kind::Function => &mut self.functions.vm,
        }
    }

    fn vm_ref(&self, kind: Kind) -> Option<&Lua> {
        match kind {
            Kind::Eval => self.vm.as_ref(),
            Kind::Function => self.functions.vm.as_ref(),
        }
    }

    /// The `-BUSY` reply for a command the timed-out run does not let through.
    pub(crate) fn busy_reply(&self) -> Value {
        Value::error(self.running.as_ref().map_or(BUSY, |r| r.kind.busy()))
    }

    fn vm(&mut self) -> mlua::Result<&Lua> {
        if self.vm.is_none() {
            self.vm = Some(lua::new_vm(self.rand.clone())?);
        }
        Ok(self.vm.as_ref().unwrap_or_else(|| unreachable!()))
    }

    /// Compiles `body` under its SHA-1 unless cached.
    fn compile(&mut self, body: &[u8]) -> Result<String, Value> {
        let sha = lua::sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let shebang = shebang_flags(body)?;
        let code = strip_shebang(body);
        let vm = self.vm().map_err(|e| Value::error(format!("ERR {e}")))?;
        let f = vm.load(code).set_name("@user_script").into_function().map_err(|e| {
            let msg = e.to_string();
            let msg = msg.strip_prefix("syntax error: ").unwrap_or(&msg).to_owned();
            Value::error(format!("ERR Error compiling script (new function): {}", msg.trim_end()))
        })?;
        self.scripts.insert(sha.clone(), f);
        // dictEntry 24, the SHA's sds 48, the body's robj 16 and sds (measured on 7.0.15).
        self.cache_bytes += 88 + crate::memory::size::sds(body.len());
        self.shebangs.insert(sha.clone(), shebang);
        Ok(sha)
    }
}

/// The body Lua compiles: a `#!lua ...` line is Redis's, not Lua's.
fn strip_shebang(body: &[u8]) -> Vec<u8> {
    if body.starts_with(b"#!") {
        let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
        let mut code = b"--".to_vec();
        code.extend_from_slice(&body[end..]);
        return code;
    }
    body.to_vec()
}

/// The flags of a script's shebang that change how it runs.
#[derive(Clone, Copy, Debug, Default)]
struct Shebang {
    no_writes: bool,
    allow_oom: bool,
}

impl Shebang {
    /// `scriptFlagsToCmdFlags`: a script that may write and lacks `allow-oom`
    /// is refused by the maxmemory gate like a deny-oom command.
    fn denies_oom(self) -> bool {
        !self.no_writes && !self.allow_oom
    }
}

/// The shebang's flags (`evalExtractShebangFlags`): `None` without a
/// shebang (a script in compatibility mode).
fn shebang_flags(body: &[u8]) -> Result<Option<Shebang>, Value> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(Value::error(format!("ERR Unexpected engine in script shebang: {engine}")));
    }
    let mut flags = Shebang::default();
    for part in parts {
        let Some(list) = part.get(..6).filter(|p| p.eq_ignore_ascii_case("flags=")).map(|_| &part[6..]) else {
            return Err(Value::error(format!("ERR Unknown lua shebang option: {part}")));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                _ => return Err(Value::error(format!("ERR Unexpected flag in script shebang: {flag}"))),
            }
        }
    }
    Ok(Some(flags))
}

impl Server {
    /// Whether EVAL, EVALSHA or FCALL (and their `_ro` forms) with `args` is a
    /// deny-oom command by its script's flags (a script in compatibility mode
    /// is not: its `redis.call`s are checked instead).
    pub(crate) fn script_denies_oom(&self, name: &str, args: &[Vec<u8>]) -> bool {
        let Some(target) = args.get(1) else { return false };
        match name {
            "eval" | "eval_ro" => shebang_flags(target).ok().flatten().is_some_and(Shebang::denies_oom),
            "evalsha" | "evalsha_ro" => {
                let sha = String::from_utf8_lossy(target).to_ascii_lowercase();
                self.scripting.shebangs.get(&sha).copied().flatten().is_some_and(Shebang::denies_oom)
            }
            "fcall" | "fcall_ro" => self.function_denies_oom(target),
            _ => false,
        }
    }
}

/// Commands a timed-out script lets through (`allow-busy`), SHUTDOWN only with NOSAVE.
pub(crate) fn allowed_when_busy(name: &str, args: &[Vec<u8>]) -> bool {
    match name {
        "auth" | "hello" | "quit" | "multi" | "discard" | "replconf" | "reset" | "watch" | "unwatch" => true,
        "script" => args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"kill")),
        "function" => args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"kill") || a.eq_ignore_ascii_case(b"stats")),
        "shutdown" => args[1..].iter().any(|a| a.eq_ignore_ascii_case(b"nosave")),
        _ => false,
    }
}

impl Server {
    /// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO;
    /// `None` when the reply comes later (a script that runs longer than a slice).
    pub(crate) fn scripting_command(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        match name {
            "script" => Some(self.script_command(ctx, args)),
            "function" => Some(self.function_command(ctx, client, args)),
            "fcall" | "fcall_ro" => self.fcall(ctx, client, conn, name, args),
            _ => self.eval(ctx, client, conn, name, args),
        }
    }

    fn script_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let arity_error = |s: &str| Value::error(format!("ERR wrong number of arguments for 'script|{s}' command"));
        match sub.as_str() {
            "load" if args.len() != 3 => arity_error("load"),
            "load" => match self.scripting.compile(&args[2]) {
                Ok(sha) => Value::bulk(sha),
                Err(e) => e,
            },
            "exists" if args.len() < 3 => arity_error("exists"),
            "exists" => Value::Array(
                args[2..]
                    .iter()
                    .map(|a| {
                        let sha = String::from_utf8_lossy(a).to_ascii_lowercase();
                        Value::Integer(i64::from(self.scripting.scripts.contains_key(&sha)))
                    })
                    .collect(),
            ),
            "flush" if args.len() > 3 => arity_error("flush"),
            "flush" => {
                if let Some(mode) = args.get(2)
                    && !mode.eq_ignore_ascii_case(b"sync")
                    && !mode.eq_ignore_ascii_case(b"async")
                {
                    return Value::error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
                }
                self.scripting.scripts.clear();
                self.scripting.cache_bytes = 0;
                self.scripting.shebangs.clear();
                // Redis starts a new interpreter; the random state is not reset.
                self.scripting.vm = None;
                Value::ok()
            }
            "kill" if args.len() != 2 => arity_error("kill"),
            "kill" => self.script_kill(ctx, Kind::Eval),
            "debug" if args.len() != 3 => arity_error("debug"),
            "debug" => match args[2].to_ascii_lowercase().as_slice() {
                b"no" => Value::ok(),
                b"yes" | b"sync" => Value::error("ERR SCRIPT DEBUG YES|SYNC: the Lua debugger is not simulated"),
                _ => Value::error("ERR Use SCRIPT DEBUG YES/SYNC/NO"),
            },
            "help" if args.len() != 2 => arity_error("help"),
            "help" => Value::Array(SCRIPT_HELP.iter().map(|l| Value::Simple((*l).into())).collect()),
            _ => Value::error(format!(
                "ERR unknown subcommand '{}'. Try SCRIPT HELP.",
                String::from_utf8_lossy(&args[1])
            )),
        }
    }

    /// EVAL's argument checks, then the run's first slices.
    fn eval(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let numkeys = match crate::commands::parse_int(&args[2]) {
            Some(n) if n < 0 => return Some(Value::error("ERR Number of keys can't be negative")),
            Some(n) if n > args.len() as i64 - 3 => {
                return Some(Value::error("ERR Number of keys can't be greater than number of args"));
            }
            Some(n) => n as usize,
            None => return Some(Value::error("ERR value is not an integer or out of range")),
        };
        let sha = if name.starts_with("evalsha") {
            let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
            if !self.scripting.scripts.contains_key(&sha) {
                return Some(Value::error("NOSCRIPT No matching script. Please use EVAL."));
            }
            sha
        } else {
            match self.scripting.compile(&args[1]) {
                Ok(sha) => sha,
                Err(e) => return Some(e),
            }
        };
        let shebang = self.scripting.shebangs.get(&sha).copied().flatten();
        let read_only = shebang.is_some_and(|f| f.no_writes) || name.ends_with("_ro");
        // A script with a shebang that may write is refused up front where writes are.
        if shebang.is_some() && !read_only && self.repl.master.is_some() && self.config.replica_read_only {
            return Some(Value::error("READONLY You can't write against a read only replica."));
        }
        let keys = &args[3..3 + numkeys];
        let argv = &args[3 + numkeys..];
        // `scriptVerifyOOM`: a script in compatibility mode started over the
        // limit may not run a deny-oom command before its first write.
        let deny_oom = shebang.is_none()
            && self.config.maxmemory.limit > 0
            && self.memory.pre_command_oom
            && !self.repl.is_master_link(conn);
        let launch = Launch { kind: Kind::Eval, name: sha, command: args.to_vec(), read_only, deny_oom };
        match self.start_script(ctx, client, conn, launch, keys, argv) {
            Ok(reply) => reply,
            Err(e) => Some(Value::error(format!("ERR {e}"))),
        }
    }

    /// An EVAL script's run: KEYS and ARGV as globals, then [`Server::launch`].
    fn start_script(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &Client,
        conn: ConnId,
        launch: Launch,
        keys: &[Vec<u8>],
        argv: &[Vec<u8>],
    ) -> mlua::Result<Option<Value>> {
        let f = self.scripting.scripts[&launch.name].clone();
        let vm = self.scripting.vm()?;
        let g = vm.globals();
        g.raw_set(
            "KEYS",
            vm.create_sequence_from(keys.iter().map(|k| vm.create_string(k)).collect::<Result<Vec<_>, _>>()?)?,
        )?;
        g.raw_set(
            "ARGV",
            vm.create_sequence_from(argv.iter().map(|k| vm.create_string(k)).collect::<Result<Vec<_>, _>>()?)?,
        )?;
        let thread = vm.create_thread(f)?;
        self.launch(ctx, client, conn, launch, thread)
    }

    /// Runs `thread` (in the interpreter of `launch.kind`) for its first
    /// slices: the reply now if it ends within one, else later.
    fn launch(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &Client,
        conn: ConnId,
        launch: Launch,
        thread: Thread,
    ) -> mlua::Result<Option<Value>> {
        let Some(vm) = self.scripting.vm_ref(launch.kind) else {
            return Err(mlua::Error::runtime("no interpreter for the run"));
        };
        vm.set_named_registry_value(lua::LAST_ERROR, Lv::Nil)?;
        vm.set_named_registry_value("chaoslab.repl", 3)?;
        // Every run starts with RESP2 replies (`scriptPrepareForRun`).
        vm.set_named_registry_value(lua::RESP, 2)?;
        let limits = lua_slice::Limits {
            stuck: STUCK_LIMIT_SLICES,
            stuck_error: format!(
                "the simulator stopped this script: it ran {} ms inside C calls (such as pcall) where it cannot pause it",
                (SLICE * STUCK_LIMIT_SLICES).as_millis()
            ),
        };
        lua_slice::install(vm, &thread, SLICE_INSTRUCTIONS, &limits)?;
        let caller_line = self.acl.restricted(&client.user).map(|_| {
            let name =
                launch.command.first().map_or(String::new(), |c| String::from_utf8_lossy(c).to_ascii_lowercase());
            self.client_info(client, ctx.wall_clock_ms(), &name)
        });
        let call = CallState {
            caller_line,
            client: script_client(client),
            read_only: launch.read_only,
            deny_oom: launch.deny_oom,
            wrote: false,
            effects: Vec::new(),
            propagated: 0,
        };
        self.scripting.running = Some(Running {
            conn,
            kind: launch.kind,
            name: launch.name,
            command: launch.command,
            thread,
            started: ctx.now(),
            ran: Duration::ZERO,
            timed_out: false,
            done: None,
            call,
        });
        let threshold = Duration::from_millis(self.config.busy_reply_threshold);
        let step = self.run_slices(ctx, threshold.max(SLICE));
        if client.multi.is_some() {
            return Ok(Some(self.finish_inside_exec(ctx, step)));
        }
        let running = self.scripting.running.as_mut().unwrap_or_else(|| unreachable!());
        match step {
            Step::Done(reply) if running.ran <= SLICE => {
                self.finish_script(false);
                Ok(Some(reply))
            }
            Step::Done(reply) => {
                running.done = Some(reply);
                ctx.set_timer(running.ran, Timer::Script.tag());
                Ok(None)
            }
            Step::Paused => {
                ctx.set_timer(running.ran, Timer::Script.tag());
                Ok(None)
            }
        }
    }

    /// A script run by EXEC answers inside EXEC's reply, so it cannot be left
    /// running: one still running at `busy-reply-threshold` is stopped, with
    /// an error that says why (Redis would serve `-BUSY` meanwhile).
    fn finish_inside_exec(&mut self, ctx: &mut Ctx<'_>, step: Step) -> Value {
        let reply = match step {
            Step::Done(reply) => reply,
            Step::Paused => {
                let stop =
                    "ERR the simulator stopped this script: inside MULTI/EXEC it cannot run past busy-reply-threshold";
                let killed = match &self.scripting.running {
                    Some(r) => match self.scripting.vm_ref(r.kind) {
                        Some(vm) => lua_slice::kill(vm, &r.thread, stop).is_ok(),
                        None => false,
                    },
                    None => false,
                };
                match self.run_slices(ctx, SLICE) {
                    Step::Done(reply) if killed => reply,
                    _ => Value::error(stop),
                }
            }
        };
        self.finish_script(true);
        reply
    }

    /// Resumes the running script until it ends or has run `budget` more.
    fn run_slices(&mut self, ctx: &mut Ctx<'_>, budget: Duration) -> Step {
        let Some(mut running) = self.scripting.running.take() else { return Step::Paused };
        let Some(vm) = self.scripting.vm_slot(running.kind).take() else {
            self.scripting.running = Some(running);
            return Step::Paused;
        };
        let limit = running.ran + budget;
        let outcome = vm.scope(|scope| {
            let call = &mut running.call;
            let this = &mut *self;
            let raw_call = scope.create_function_mut(|lua, args: MultiValue| this.script_call(ctx, call, lua, args))?;
            vm.set_named_registry_value(lua::RAW_CALL, raw_call)?;
            let mut ran = running.ran;
            let result = loop {
                let before = lua_slice::slices(&vm);
                let out = running.thread.resume::<MultiValue>(());
                ran += SLICE * (lua_slice::slices(&vm) - before).max(1) as u32;
                match out {
                    Err(e) => break Some(Err(e)),
                    Ok(values) if running.thread.status() != mlua::thread::ThreadStatus::Resumable => {
                        let resp3 = lua::resp3(&vm);
                        break Some(Ok(values.into_iter().next().map_or(Value::Nil, |v| lua::to_reply(&v, resp3))));
                    }
                    Ok(_) if ran >= limit => break None,
                    Ok(_) => {}
                }
            };
            running.ran = ran;
            Ok(result)
        });
        let step = match outcome {
            Ok(Some(Ok(reply))) => Step::Done(reply),
            Ok(Some(Err(e))) => Step::Done(error_reply(&vm, &running, &e)),
            Ok(None) => Step::Paused,
            Err(e) => Step::Done(Value::error(format!("ERR {e}"))),
        };
        *self.scripting.vm_slot(running.kind) = Some(vm);
        self.scripting.running = Some(running);
        step
    }

    /// One `redis.call` (`raise`) or `redis.pcall`: Redis's script gates, then
    /// the command as any client's, its effects kept for the end of the run.
    fn script_call(
        &mut self,
        ctx: &mut Ctx<'_>,
        call: &mut CallState,
        lua: &Lua,
        args: MultiValue,
    ) -> mlua::Result<Lv> {
        let mut args = args.into_iter();
        let raise = match args.next() {
            Some(Lv::Boolean(raise)) => raise,
            _ => return self.script_log(ctx, args.collect()),
        };
        let fail = |lua: &Lua, text: &str| -> mlua::Result<Lv> {
            let t = lua.create_table()?;
            t.set("err", text)?;
            if raise {
                lua.set_named_registry_value(lua::LAST_ERROR, &t)?;
                return Err(mlua::Error::runtime(format!("table: {text}")));
            }
            Ok(Lv::Table(t))
        };
        let argv: Vec<Lv> = args.collect();
        if argv.is_empty() {
            return fail(lua, "ERR Please specify at least one argument for this redis lib call");
        }
        let Some(argv) = argv.iter().map(lua::arg_bytes).collect::<Option<Vec<_>>>() else {
            return fail(lua, "ERR Lua redis lib command arguments must be strings or integers");
        };
        let mut name_buf = [0u8; crate::commands::NAME_MAX];
        let name = crate::commands::lowercase_name(&argv[0], &mut name_buf).to_owned();
        let Some(command) = crate::command_table::lookup(&name) else {
            return fail(lua, "ERR Unknown Redis command called from script");
        };
        let (argc, arity) = (argv.len() as i32, command.arity);
        if (arity > 0 && argc != arity) || argc < -arity {
            return fail(lua, "ERR Wrong number of args calling Redis command from script");
        }
        if command.flags_for(&argv).contains(&"noscript") {
            return fail(lua, "ERR This Redis command is not allowed from script");
        }
        // `scriptVerifyACL`: as the caller's user.
        if let Some(user) = self.acl.restricted(&call.client.user) {
            let sub = match command.doc.subcommands.is_empty() || argv.len() < 2 {
                true => None,
                false => crate::command_table::subcommand_position(command, &argv[1]),
            };
            if self.acl.check(user, command, sub, &argv).is_err() {
                let why = self.log_script_refusal(call, &argv, ctx.wall_clock_ms());
                return fail(lua, &format!("ERR The user executing the script {why}"));
            }
        }
        if command.write() && call.read_only {
            return fail(lua, "ERR Write commands are not allowed from read-only scripts.");
        }
        if command.write() && self.repl.master.is_some() && self.config.replica_read_only {
            return fail(lua, "READONLY You can't write against a read only replica.");
        }
        if call.deny_oom && !call.wrote && command.flags_for(&argv).contains(&"denyoom") {
            return fail(lua, crate::memory::OOM);
        }
        // `scriptVerifyClusterState`: a script's command must be served here,
        // whatever redirect a client's would get (measured for MOVED and CROSSSLOT).
        let now_ms = ctx.wall_clock_ms();
        let route = crate::call::route(&self.config, self.cluster.as_deref(), &self.dbs, &call.client, now_ms);
        if let Some((c, db0, flags)) = route
            && crate::cluster::commands::route(c, db0, flags, &argv, command).is_some()
        {
            return fail(lua, "ERR Script attempted to access a non local key in a cluster node");
        }
        call.wrote |= command.write();
        let start = self.feed.bytes.len();
        let conn = call.client_conn();
        // The maxmemory gate is processCommand's: a script's commands answer
        // to `scriptVerifyOOM` above instead.
        let outer = std::mem::replace(&mut self.scripting.in_call, true);
        let resp3 = lua::resp3(lua);
        call.client.proto = if resp3 { resp::Protocol::Resp3 } else { resp::Protocol::Resp2 };
        let reply = self.execute(ctx, &mut call.client, conn, &argv).unwrap_or(Value::Nil);
        self.scripting.in_call = outer;
        if self.feed.bytes.len() > start {
            call.effects.extend(self.feed.bytes.drain(start..));
            call.propagated += 1 + std::mem::take(&mut self.feed.also);
        }
        match reply {
            Value::Error(e) => fail(lua, &e),
            v if resp3 => {
                let mut bytes = Vec::new();
                v.encode_for(resp::Protocol::Resp3, &mut bytes);
                lua::resp3_to_lua(lua, &bytes)
            }
            v => lua::to_lua(lua, &v),
        }
    }

    /// Logs a script's refused call (context `lua`, the caller's client) and
    /// gives why, as `getAclErrorMessage` words it.
    fn log_script_refusal(&mut self, call: &CallState, argv: &[Vec<u8>], now_ms: i64) -> &'static str {
        let Some((denied, id)) = self.acl.take_denied() else { return "lacking the permissions for the command" };
        let (reason, object) = self.acl.refusal_parts(denied, id, argv);
        let info = call.caller_line.clone().unwrap_or_default();
        self.acl.log(reason, crate::acl::Context::Lua, object, &call.client.user, now_ms, info);
        crate::acl::refusal_message(denied)
    }

    /// `redis.log(level, message ...)`: the message parts joined by spaces, at
    /// the level's mark, filtered by `loglevel` as Redis's own lines are.
    fn script_log(&mut self, ctx: &mut Ctx<'_>, args: Vec<Lv>) -> mlua::Result<Lv> {
        if args.len() < 2 {
            return Err(mlua::Error::runtime("redis.log() requires two arguments or more."));
        }
        let level = match args[0].as_i64().or_else(|| args[0].as_f64().map(|f| f as i64)) {
            Some(0) => '.',
            Some(1) => '-',
            Some(2) => '*',
            Some(3) => '#',
            _ => return Err(mlua::Error::runtime("Invalid debug level.")),
        };
        let parts: Vec<String> =
            args[1..].iter().filter_map(lua::arg_bytes).map(|b| String::from_utf8_lossy(&b).into_owned()).collect();
        self.log(ctx, level, &parts.join(" "));
        Ok(Lv::Nil)
    }

    /// The script ended: its effects go to replicas and the AOF, wrapped in
    /// MULTI/EXEC when it propagated more than one command.
    /// Inside EXEC (`in_exec`) EXEC's own MULTI/EXEC wraps them instead.
    fn finish_script(&mut self, in_exec: bool) -> Option<Running> {
        let running = self.scripting.running.take()?;
        let call = &running.call;
        let flags = self.scripting.vm_ref(running.kind).map_or(3, lua::repl_flags);
        if in_exec && !call.effects.is_empty() && flags != 0 {
            self.feed.db = call.client.db;
            self.feed.bytes.extend_from_slice(&call.effects);
            self.feed.also += call.propagated - 1;
        } else if !call.effects.is_empty() && flags != 0 {
            self.feed.db = call.client.db;
            if call.propagated > 1 {
                resp::encode_command(&[b"MULTI".as_slice()], &mut self.feed.bytes);
            }
            self.feed.bytes.extend_from_slice(&call.effects);
            if call.propagated > 1 {
                resp::encode_command(&[b"EXEC".as_slice()], &mut self.feed.bytes);
            }
        }
        Some(running)
    }

    /// Runs a timed-out script up to now (before an input is served, and on its timer).
    pub(crate) fn script_catch_up(&mut self, ctx: &mut Ctx<'_>) {
        let Some(r) = &self.scripting.running else { return };
        if !r.timed_out || r.done.is_some() {
            return;
        }
        let behind = (ctx.now() - r.started).saturating_sub(r.ran);
        if behind < SLICE {
            return;
        }
        if let Step::Done(reply) = self.run_slices(ctx, behind) {
            self.deliver_script_reply(ctx, reply);
        }
    }

    /// [`Timer::Script`]: a blocking script's time is up (its reply leaves, or it
    /// has reached the threshold), or a timed-out script's next tick.
    pub(crate) fn script_timer(&mut self, ctx: &mut Ctx<'_>) {
        let Some(r) = self.scripting.running.as_mut() else { return };
        if let Some(reply) = r.done.take() {
            self.deliver_script_reply(ctx, reply);
            return;
        }
        if !r.timed_out {
            r.timed_out = true;
            let (ms, name, killer) = (r.ran.as_millis(), r.name.clone(), r.kind.killer());
            self.log(
                ctx,
                '#',
                &format!(
                    "Slow script detected: still in execution after {ms} milliseconds. You can try killing the script using the {killer} command. Script name is: {name}."
                ),
            );
            ctx.set_timer(TICK, Timer::Script.tag());
            self.resume_stalled(ctx);
            return;
        }
        self.script_catch_up(ctx);
        if self.scripting.running.is_some() {
            ctx.set_timer(TICK, Timer::Script.tag());
        }
    }

    fn deliver_script_reply(&mut self, ctx: &mut Ctx<'_>, reply: Value) {
        let Some(running) = self.finish_script(false) else { return };
        self.flush_feed(ctx);
        let conn = running.conn;
        if let Some(c) = self.clients.get_mut(&conn) {
            c.woff = self.repl.offset;
            let proto = c.proto;
            self.persist.before_reply(ctx, &self.config);
            self.outputs.write_with(ctx, conn, |buf| reply.encode_for(proto, buf));
        }
        self.resume_stalled(ctx);
    }

    /// SCRIPT KILL (`by` [`Kind::Eval`]) and FUNCTION KILL: only a timed-out
    /// run that has not written, and only by its own kind's command.
    fn script_kill(&mut self, ctx: &mut Ctx<'_>, by: Kind) -> Value {
        let Some(r) = &self.scripting.running else {
            return Value::error("NOTBUSY No scripts in execution right now.");
        };
        if r.done.is_some() || !r.timed_out {
            return Value::error("NOTBUSY No scripts in execution right now.");
        }
        if r.call.wrote {
            return Value::error(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            );
        }
        if r.kind != by {
            return Value::error(r.kind.busy());
        }
        if let Some(vm) = self.scripting.vm_ref(r.kind)
            && let Err(e) = lua_slice::kill(vm, &r.thread, KILLED)
        {
            return Value::error(format!("ERR {e}"));
        }
        self.log(ctx, '#', "Lua script killed by user with SCRIPT KILL.");
        // The kill error is raised at the script's next instruction.
        let step = self.run_slices(ctx, SLICE);
        let reply = match step {
            Step::Done(reply) => reply,
            Step::Paused => Value::error(KILLED),
        };
        self.deliver_script_reply(ctx, reply);
        Value::ok()
    }
}

impl CallState {
    /// The connection a script's commands run as: none of the kernel's.
    fn client_conn(&self) -> ConnId {
        ConnId(u64::MAX)
    }
}

/// Redis's reply for a script that failed: the error's text, then where.
fn error_reply(vm: &Lua, running: &Running, e: &mlua::Error) -> Value {
    let text = error_text(e);
    let msg = if text.starts_with("table: ") {
        let kept: Option<Table> = vm.named_registry_value(lua::LAST_ERROR).ok().flatten();
        match kept.and_then(|t| t.raw_get::<Option<mlua::LuaString>>("err").ok().flatten()) {
            Some(err) => err.to_string_lossy(),
            None => "ERR ".to_owned() + &text,
        }
    } else if text == KILLED || text.starts_with("ERR the simulator stopped") {
        text
    } else {
        format!("ERR {text}")
    };
    let msg = msg.replace(['\r', '\n'], " ");
    let (name, chunk) = (&running.name, running.kind.chunk());
    match lua_slice::line_in(&running.thread, chunk) {
        Some(line) => Value::error(format!("{msg} script: {name}, on {chunk}:{line}.")),
        None => Value::error(msg),
    }
}

/// The message of a Lua error without mlua's traceback.
fn error_text(e: &mlua::Error) -> String {
    let base = match e {
        mlua::Error::CallbackError { cause, .. } => return error_text(cause),
        mlua::Error::WithContext { cause, .. } => return error_text(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        other => other.to_string(),
    };
    base.split("\nstack traceback:").next().unwrap_or("").to_owned()
}

/// The client a script's commands run as (Redis's Lua client): the caller's
/// database and user, RESP2 replies until the script calls `redis.setresp(3)`.
fn script_client(caller: &Client) -> Client {
    let mut c = Client::fake(caller.peer, caller.db);
    c.authenticated = true;
    c.user = caller.user.clone();
    c
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lualibs;
