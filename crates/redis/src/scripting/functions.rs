//! Redis 7.0 Functions (functions.c, function_lua.c): FUNCTION LOAD, LIST,
//! DELETE, FLUSH, DUMP, RESTORE, STATS, KILL, HELP, and FCALL / FCALL_RO.
//!
//! Libraries live in their own Lua interpreter (SCRIPT FLUSH leaves them).
//! A library's code runs once at load, under an environment that offers only
//! `redis.register_function`, `redis.log` and the `LOG_*` / `REDIS_VERSION*`
//! constants, for at most [`LOAD_SLICES`] slices (Redis's 500 ms load
//! timeout, on virtual time). After the load the same environment reads
//! through to the interpreter's globals, so the registered callbacks see what
//! an EVAL script sees. FCALL runs a callback exactly as EVAL runs a script
//! (slices, the busy run, `redis.call`'s gates, effects replication), named
//! by the function and with `@user_function` as its chunk.
//!
//! **What differs.** Redis keeps libraries and functions in hash tables seeded
//! at random per process, so FUNCTION LIST and FUNCTION DUMP order them
//! differently from run to run; here both are in library-name order (and a
//! library's functions in name order).
//!
//! Over `maxmemory`, FCALL of a function that may write and lacks
//! `allow-oom` is refused up front, as a deny-oom command
//! ([`Server::function_denies_oom`]).

use super::{Kind, Launch, SLICE_INSTRUCTIONS, STUCK_LIMIT_SLICES, error_text, lua, strip_shebang};
use crate::server::{Client, Server};
use mlua::{Function, Lua, MultiValue, Table, Value as Lv};
use resp::Value;
use sim::{ConnId, Ctx};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The flags `redis.register_function` takes, in the order FUNCTION LIST prints them.
const FLAGS: [&str; 5] = ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];
const NO_WRITES: u8 = 1;
const ALLOW_OOM: u8 = 1 << 1;
const ALLOW_STALE: u8 = 1 << 2;
const NO_CLUSTER: u8 = 1 << 3;

/// Slices (1 ms of virtual CPU each) a library's load may run: Redis's 500 ms.
pub(crate) const LOAD_SLICES: u64 = 500;
const LOAD_TIMEOUT: &str = "FUNCTION LOAD timeout";
/// `RDB_OPCODE_FUNCTION2`: a library's code in an RDB file and in FUNCTION DUMP.
pub(crate) const RDB_OPCODE_FUNCTION2: u8 = 245;
const NAME_ERROR: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The load-time environment (`luaEngineLoadCode`): only the library API,
/// every other global read or write an error; `open` then points it at the
/// interpreter's globals for the functions' runs.
const LOAD_ENV: &str = r#"
local register, redis, G = ...
local error, tostring, setmetatable, ipairs = error, tostring, setmetatable, ipairs
local function readonly() error("Attempt to modify a readonly table", 2) end
local function guard(t)
  return setmetatable(t, {
    __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end,
    __newindex = readonly,
  })
end
local api = { register_function = register, log = redis.log }
for _, k in ipairs({'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING', 'REDIS_VERSION', 'REDIS_VERSION_NUM'}) do
  api[k] = redis[k]
end
local meta = { __index = guard({ redis = guard(api) }), __newindex = readonly }
local env = setmetatable({}, meta)
return env, function() meta.__index = G end
"#;

/// Calls a callback with its KEYS and ARGV tables, from Lua (so the run can yield).
const CALL: &str = "local f, keys, args = ... return function() return f(keys, args) end";

/// The node's libraries and their interpreter.
#[derive(Default)]
pub(crate) struct Functions {
    pub(super) vm: Option<Lua>,
    libraries: BTreeMap<String, Library>,
    /// Every function by its lowercased name (FCALL's lookup ignores case):
    /// its library and its name as registered.
    index: BTreeMap<String, (String, String)>,
}

/// One library: its code and the functions its load registered.
struct Library {
    code: Vec<u8>,
    functions: BTreeMap<String, Func>,
}

struct Func {
    callback: Function,
    flags: u8,
    description: Option<Vec<u8>>,
}

/// `FUNCTION RESTORE`'s policy for libraries that exist.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Flush,
    Append,
    Replace,
}

impl Functions {
    /// Every library's code, in name order (what the RDB keeps).
    pub(crate) fn codes(&self) -> Vec<Vec<u8>> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }

    fn functions_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }

    /// Links `lib` under `name`, replacing a library of that name.
    fn link(&mut self, name: String, lib: Library) {
        self.unlink(&name);
        for f in lib.functions.keys() {
            self.index.entry(f.to_ascii_lowercase()).or_insert_with(|| (name.clone(), f.clone()));
        }
        self.libraries.insert(name, lib);
    }

    fn unlink(&mut self, name: &str) -> Option<Library> {
        let lib = self.libraries.remove(name)?;
        self.index.retain(|_, (l, _)| l != name);
        Some(lib)
    }

    /// A function of `lib` another library than `except` already has.
    fn collision(&self, lib: &Library, except: &str) -> Option<String> {
        lib.functions
            .keys()
            .find(|f| self.index.get(&f.to_ascii_lowercase()).is_some_and(|(l, _)| l != except))
            .cloned()
    }

    /// Drops every library. The interpreter stays (as Redis's functions
    /// engine does): a function running meanwhile keeps its callback.
    fn flush(&mut self) {
        self.libraries.clear();
        self.index.clear();
    }
}

/// The library's name from its `#!<engine> name=<name>` first line
/// (`functionExtractLibMetaData`), the engine checked.
fn metadata(code: &[u8]) -> Result<String, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".to_owned());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".to_owned());
    };
    let Some(parts) = resp::split_args(&code[..end]).filter(|p| !p.is_empty()) else {
        return Err("Invalid library metadata".to_owned());
    };
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".to_owned());
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", String::from_utf8_lossy(part)));
    }
    let name = name.ok_or_else(|| "Library name was not given".to_owned())?;
    if !valid_name(name.as_bytes()) {
        return Err(NAME_ERROR.to_owned());
    }
    let engine = String::from_utf8_lossy(parts[0].get(2..).unwrap_or_default()).into_owned();
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    Ok(name)
}

/// `functionsVerifyName`: letters, digits and underscores, at least one.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The functions' interpreter: EVAL's, without the `redis` fields only
/// scripts have (measured: `pairs(redis)` inside a function).
fn new_vm(rand: Rc<std::cell::Cell<u64>>) -> mlua::Result<Lua> {
    let vm = lua::new_vm(rand)?;
    let redis: Table = vm.globals().raw_get("redis")?;
    for name in ["replicate_commands", "breakpoint", "debug"] {
        redis.raw_set(name, Lv::Nil)?;
    }
    Ok(vm)
}

fn rt(text: &str) -> mlua::Error {
    mlua::Error::runtime(text)
}

/// `redis.register_function(name, callback)` or `redis.register_function{...}`
/// (`luaRegisterFunction`), into the library being loaded.
fn register(args: MultiValue, into: &RefCell<BTreeMap<String, Func>>) -> mlua::Result<()> {
    let args: Vec<Lv> = args.into_iter().collect();
    let (name, func) = match args.as_slice() {
        [Lv::Table(t)] => named(t)?,
        [_] => {
            return Err(rt(
                "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
            ));
        }
        [name, callback] => {
            let name =
                lua::arg_bytes(name).ok_or_else(|| rt("first argument to redis.register_function must be a string"))?;
            let Lv::Function(callback) = callback else {
                return Err(rt("second argument to redis.register_function must be a function"));
            };
            (name, Func { callback: callback.clone(), flags: 0, description: None })
        }
        _ => return Err(rt("wrong number of arguments to redis.register_function")),
    };
    if !valid_name(&name) {
        return Err(rt(NAME_ERROR));
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let mut into = into.borrow_mut();
    if into.contains_key(&name) {
        return Err(rt("Function already exists in the library"));
    }
    into.insert(name, func);
    Ok(())
}

/// The named form: `function_name`, `callback`, `flags`, `description`.
fn named(t: &Table) -> mlua::Result<(Vec<u8>, Func)> {
    let (mut name, mut callback, mut flags, mut description) = (None, None, 0, None);
    for pair in t.clone().pairs::<Lv, Lv>() {
        let (k, v) = pair?;
        let Some(k) = lua::arg_bytes(&k) else {
            return Err(rt("named argument key given to redis.register_function is not a string"));
        };
        match k.as_slice() {
            b"function_name" => {
                name =
                    Some(lua::arg_bytes(&v).ok_or_else(|| {
                        rt("function_name argument given to redis.register_function must be a string")
                    })?);
            }
            b"description" => {
                description = Some(
                    lua::arg_bytes(&v)
                        .ok_or_else(|| rt("description argument given to redis.register_function must be a string"))?,
                );
            }
            b"callback" => match v {
                Lv::Function(f) => callback = Some(f),
                _ => return Err(rt("callback argument given to redis.register_function must be a function")),
            },
            b"flags" => flags = parse_flags(&v)?,
            _ => return Err(rt("unknown argument given to redis.register_function")),
        }
    }
    let name = name.ok_or_else(|| rt("redis.register_function must get a function name argument"))?;
    let callback = callback.ok_or_else(|| rt("redis.register_function must get a callback argument"))?;
    Ok((name, Func { callback, flags, description }))
}

fn parse_flags(v: &Lv) -> mlua::Result<u8> {
    let Lv::Table(t) = v else {
        return Err(rt("flags argument to redis.register_function must be a table representing function flags"));
    };
    let mut flags = 0;
    for flag in t.clone().sequence_values::<Lv>() {
        let bit = match flag? {
            Lv::String(s) => FLAGS.iter().position(|f| f.as_bytes().eq_ignore_ascii_case(&s.as_bytes())),
            _ => None,
        };
        flags |= 1 << bit.ok_or_else(|| rt("unknown flag given"))?;
    }
    Ok(flags)
}

/// Whether FUNCTION's subcommand `sub` writes (LOAD, DELETE, FLUSH, RESTORE).
pub(crate) fn writes(sub: &[u8]) -> bool {
    [&b"load"[..], b"delete", b"flush", b"restore"].iter().any(|w| sub.eq_ignore_ascii_case(w))
}

/// FUNCTION's subcommand, lowercased, once its arity is right.
fn function_subcommand(args: &[Vec<u8>]) -> Result<String, Value> {
    let command = crate::command_table::lookup("function").ok_or_else(|| Value::error("ERR no FUNCTION command"))?;
    match crate::command_table::check_subcommand(command, args) {
        Some(e) => Err(e),
        None => Ok(String::from_utf8_lossy(&args[1]).to_ascii_lowercase()),
    }
}

/// The FUNCTION LIST entry of one library.
fn list_entry(name: &str, lib: &Library, with_code: bool) -> Value {
    let bulk = |s: &str| Value::bulk(s);
    let functions = lib
        .functions
        .iter()
        .map(|(n, f)| {
            let flags = FLAGS.iter().enumerate().filter(|(i, _)| f.flags & (1 << i) != 0);
            Value::Map(vec![
                (bulk("name"), bulk(n)),
                (bulk("description"), f.description.clone().map_or(Value::Nil, Value::Bulk)),
                (bulk("flags"), Value::Set(flags.map(|(_, s)| Value::Simple((*s).into())).collect())),
            ])
        })
        .collect();
    let mut fields = vec![
        (bulk("library_name"), bulk(name)),
        (bulk("engine"), bulk("LUA")),
        (bulk("functions"), Value::Array(functions)),
    ];
    if with_code {
        fields.push((bulk("library_code"), Value::Bulk(lib.code.clone())));
    }
    Value::Map(fields)
}

/// FUNCTION DUMP's payload: each library's code after its opcode, then the
/// DUMP footer (RDB version, CRC64).
fn dump_payload(codes: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(RDB_OPCODE_FUNCTION2);
        crate::rdb::string(&mut out, code);
    }
    out.extend_from_slice(&crate::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::rdb::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The library codes of a FUNCTION RESTORE payload's body.
fn restore_codes(body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut r = crate::rdb::Reader::new(body);
    let mut codes = Vec::new();
    while !r.at_end() {
        if r.byte().map_err(|_| "can not read data type".to_owned())? != RDB_OPCODE_FUNCTION2 {
            return Err("given type is not a function".to_owned());
        }
        codes.push(r.string().map_err(|_| "failed loading the given functions payload".to_owned())?);
    }
    Ok(codes)
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

impl Server {
    /// FUNCTION <subcommand> from a client: its changes propagate as themselves.
    pub(crate) fn function_command(&mut self, ctx: &mut Ctx<'_>, client: &Client, args: &[Vec<u8>]) -> Value {
        let sub = match function_subcommand(args) {
            Ok(sub) => sub,
            Err(e) => return e,
        };
        let writes = writes(sub.as_bytes());
        // The gates processCommand applies to a write subcommand.
        if writes && self.repl.master.is_some() && self.config.replica_read_only {
            return Value::error("READONLY You can't write against a read only replica.");
        }
        let min = self.config.min_replicas_to_write;
        if writes && self.repl.master.is_none() && min > 0 && self.repl.good_replicas < min {
            return Value::error("NOREPLICAS Not enough good replicas to write.");
        }
        let reply = self.function_apply(ctx, &sub, args);
        if writes && !matches!(reply, Value::Error(_)) {
            self.persist.dirty += 1;
            // A writable replica's own writes are not propagated (the stream is its master's).
            if self.repl.master.is_none() {
                self.feed.db = client.db;
                resp::encode_command(args, &mut self.feed.bytes);
            }
        }
        reply
    }

    /// FUNCTION <subcommand> from the master's stream.
    pub(crate) fn function_from_master(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) {
        if let Ok(sub) = function_subcommand(args)
            && !matches!(self.function_apply(ctx, &sub, args), Value::Error(_))
        {
            self.persist.dirty += 1;
        }
    }

    fn function_apply(&mut self, ctx: &mut Ctx<'_>, sub: &str, args: &[Vec<u8>]) -> Value {
        match sub {
            "load" => self.function_load(ctx, &args[2..]),
            "delete" => match self.scripting.functions.unlink(&String::from_utf8_lossy(&args[2])) {
                Some(_) => Value::ok(),
                None => Value::error("ERR Library not found"),
            },
            // `addReplySubcommandSyntaxError`, naming the subcommand as given.
            "flush" if args.len() > 3 => Value::error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                String::from_utf8_lossy(&args[1])
            )),
            "flush" => match args.get(2) {
                Some(m) if !m.eq_ignore_ascii_case(b"sync") && !m.eq_ignore_ascii_case(b"async") => {
                    Value::error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
                }
                _ => {
                    self.scripting.functions.flush();
                    Value::ok()
                }
            },
            "restore" => self.function_restore(ctx, &args[2..]),
            "list" => self.function_list(&args[2..]),
            "dump" => Value::Bulk(dump_payload(&self.scripting.functions.codes())),
            "stats" => self.function_stats(ctx),
            "kill" => self.script_kill(ctx, Kind::Function),
            "help" => Value::Array(FUNCTION_HELP.iter().map(|l| Value::Simple((*l).into())).collect()),
            _ => Value::error(format!("ERR unknown subcommand '{sub}'. Try FUNCTION HELP.")),
        }
    }

    /// FUNCTION LOAD [REPLACE] code.
    fn function_load(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let (replace, code) = match args {
            [code] => (false, code),
            [opt, code] if opt.eq_ignore_ascii_case(b"replace") => (true, code),
            [opt, ..] => return Value::error(format!("ERR Unknown option given: {}", String::from_utf8_lossy(opt))),
            [] => return Value::error("ERR wrong number of arguments for 'function|load' command"),
        };
        match self.create_library(ctx, code, replace) {
            Ok((name, lib)) => {
                self.scripting.functions.link(name.clone(), lib);
                Value::bulk(name)
            }
            Err(e) => Value::error(format!("ERR {e}")),
        }
    }

    /// Parses, runs and checks a library (`functionsCreateWithLibraryCtx`)
    /// against the libraries linked now; links nothing.
    fn create_library(&mut self, ctx: &mut Ctx<'_>, code: &[u8], replace: bool) -> Result<(String, Library), String> {
        let name = metadata(code)?;
        if !replace && self.scripting.functions.libraries.contains_key(&name) {
            return Err(format!("Library '{name}' already exists"));
        }
        let functions = self.load_code(ctx, code)?;
        if functions.is_empty() {
            return Err("No functions registered".to_owned());
        }
        let lib = Library { code: code.to_vec(), functions };
        if let Some(f) = self.scripting.functions.collision(&lib, &name) {
            return Err(format!("Function {f} already exists"));
        }
        Ok((name, lib))
    }

    /// Compiles and runs a library's code in the functions' interpreter.
    fn load_code(&mut self, ctx: &mut Ctx<'_>, code: &[u8]) -> Result<BTreeMap<String, Func>, String> {
        let vm = match self.scripting.functions.vm.take() {
            Some(vm) => vm,
            None => new_vm(self.scripting.rand.clone()).map_err(|e| e.to_string())?,
        };
        let result = self.run_load(ctx, &vm, code);
        self.scripting.functions.vm = Some(vm);
        result
    }

    fn run_load(&mut self, ctx: &mut Ctx<'_>, vm: &Lua, code: &[u8]) -> Result<BTreeMap<String, Func>, String> {
        let registered = Rc::new(RefCell::new(BTreeMap::new()));
        let into = registered.clone();
        let setup = || -> mlua::Result<(Table, Function, Function)> {
            let register = vm.create_function(move |_, args: MultiValue| register(args, &into))?;
            let g = vm.globals();
            let redis: Table = g.raw_get("redis")?;
            let (env, open): (Table, Function) = vm.load(LOAD_ENV).set_name("=load_env").call((register, redis, g))?;
            let chunk = vm.load(strip_shebang(code)).set_name("@user_function").set_environment(env.clone());
            Ok((env, open, chunk.into_function()?))
        };
        let (_env, open, chunk) = setup().map_err(|e| {
            let msg = e.to_string();
            let msg = msg.strip_prefix("syntax error: ").unwrap_or(&msg).trim_end().to_owned();
            format!("Error compiling function: {msg}")
        })?;
        self.run_load_chunk(ctx, vm, chunk).map_err(|e| format!("Error registering functions: ERR {e}"))?;
        open.call::<()>(()).map_err(|e| e.to_string())?;
        Ok(registered.take())
    }

    /// Runs the load chunk as a coroutine for at most [`LOAD_SLICES`] slices.
    fn run_load_chunk(&mut self, ctx: &mut Ctx<'_>, vm: &Lua, chunk: Function) -> Result<(), String> {
        let text = |e: mlua::Error| error_text(&e);
        let thread = vm.create_thread(chunk).map_err(text)?;
        let limits = lua_slice::Limits { stuck: STUCK_LIMIT_SLICES, stuck_error: LOAD_TIMEOUT.to_owned() };
        lua_slice::install(vm, &thread, SLICE_INSTRUCTIONS, &limits).map_err(text)?;
        let outcome = vm.scope(|scope| {
            let this = &mut *self;
            let log = scope
                .create_function_mut(|_, args: MultiValue| this.script_log(ctx, args.into_iter().skip(1).collect()))?;
            vm.set_named_registry_value(lua::RAW_CALL, log)?;
            let start = lua_slice::slices(vm);
            loop {
                thread.resume::<()>(())?;
                if thread.status() != mlua::thread::ThreadStatus::Resumable {
                    return Ok(());
                }
                if lua_slice::slices(vm) - start >= LOAD_SLICES {
                    lua_slice::kill(vm, &thread, LOAD_TIMEOUT)?;
                }
            }
        });
        outcome.map_err(text)
    }

    /// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
    fn function_list(&self, args: &[Vec<u8>]) -> Value {
        let (mut pattern, mut with_code) = (None, false);
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg.eq_ignore_ascii_case(b"withcode") && !with_code {
                with_code = true;
            } else if arg.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
                let Some(p) = args.get(i + 1) else {
                    return Value::error("ERR library name argument was not given");
                };
                pattern = Some(p.to_ascii_lowercase());
                i += 1;
            } else {
                return Value::error(format!("ERR Unknown argument {}", String::from_utf8_lossy(arg)));
            }
            i += 1;
        }
        let libs = self.scripting.functions.libraries.iter().filter(|(name, _)| {
            pattern.as_ref().is_none_or(|p| common::glob::glob_match(p, name.to_ascii_lowercase().as_bytes()))
        });
        Value::Array(libs.map(|(name, lib)| list_entry(name, lib, with_code)).collect())
    }

    /// FUNCTION STATS: the running function, if any, and the engine's counts.
    fn function_stats(&self, ctx: &Ctx<'_>) -> Value {
        let running = match &self.scripting.running {
            Some(r) if r.kind == Kind::Eval => return Value::error(Kind::Eval.busy()),
            Some(r) => Value::Map(vec![
                (Value::bulk("name"), Value::bulk(r.name.as_str())),
                (Value::bulk("command"), Value::Array(r.command.iter().cloned().map(Value::Bulk).collect())),
                (Value::bulk("duration_ms"), Value::Integer((ctx.now() - r.started).as_millis() as i64)),
            ]),
            None => Value::Nil,
        };
        let f = &self.scripting.functions;
        let lua = Value::Map(vec![
            (Value::bulk("libraries_count"), Value::Integer(f.libraries.len() as i64)),
            (Value::bulk("functions_count"), Value::Integer(f.functions_count() as i64)),
        ]);
        Value::Map(vec![
            (Value::bulk("running_script"), running),
            (Value::bulk("engines"), Value::Map(vec![(Value::bulk("LUA"), lua)])),
        ])
    }

    /// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE].
    fn function_restore(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
        let policy = match args.get(1) {
            None => Policy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"flush") => Policy::Flush,
            Some(p) if p.eq_ignore_ascii_case(b"append") => Policy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"replace") => Policy::Replace,
            Some(_) => {
                return Value::error(
                    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                );
            }
        };
        let Some(body) = crate::migrate::verify_payload(&args[0]) else {
            return Value::error("ERR DUMP payload version or checksum are wrong");
        };
        match restore_codes(body).and_then(|codes| self.restore_libraries(ctx, &codes, policy)) {
            Ok(()) => Value::ok(),
            Err(e) => Value::error(format!("ERR {e}")),
        }
    }

    /// Loads `codes` apart, then joins them to the libraries (`functionsLibCtxJoin`).
    fn restore_libraries(&mut self, ctx: &mut Ctx<'_>, codes: &[Vec<u8>], policy: Policy) -> Result<(), String> {
        let kept = std::mem::take(&mut self.scripting.functions.libraries);
        let kept_index = std::mem::take(&mut self.scripting.functions.index);
        let mut loaded = Ok(());
        for code in codes {
            match self.create_library(ctx, code, false) {
                Ok((name, lib)) => self.scripting.functions.link(name, lib),
                Err(e) => {
                    loaded = Err(e);
                    break;
                }
            }
        }
        let new = std::mem::replace(&mut self.scripting.functions.libraries, kept);
        self.scripting.functions.index = kept_index;
        loaded?;
        let f = &mut self.scripting.functions;
        if policy == Policy::Flush {
            f.libraries.clear();
            f.index.clear();
        }
        for name in new.keys() {
            if policy == Policy::Append && f.libraries.contains_key(name) {
                return Err(format!("Library {name} already exists"));
            }
        }
        for (name, lib) in &new {
            if let Some(func) = f.collision(lib, name) {
                return Err(format!("Function {func} already exists"));
            }
        }
        for (name, lib) in new {
            f.link(name, lib);
        }
        Ok(())
    }

    /// Libraries from a loaded RDB file (`RDB_OPCODE_FUNCTION2` records),
    /// replacing the ones of the same name; a code that fails to load is logged.
    pub(crate) fn load_rdb_functions(&mut self, ctx: &mut Ctx<'_>, codes: &[Vec<u8>]) {
        self.scripting.functions.flush();
        for code in codes {
            match self.create_library(ctx, code, true) {
                Ok((name, lib)) => self.scripting.functions.link(name, lib),
                Err(e) => self.log(ctx, '#', &format!("Failed loading library: {e}")),
            }
        }
    }

    /// FCALL / FCALL_RO function numkeys key [key ...] arg [arg ...].
    /// Whether FCALL of `name` is a deny-oom command (`scriptFlagsToCmdFlags`:
    /// a function that may write and lacks `allow-oom`).
    pub(crate) fn function_denies_oom(&self, name: &[u8]) -> bool {
        self.find_function(name).is_some_and(|(_, func)| func.flags & (NO_WRITES | ALLOW_OOM) == 0)
    }

    /// The function FCALL names (case-insensitively), with its own name.
    fn find_function(&self, name: &[u8]) -> Option<(&String, &Func)> {
        let f = &self.scripting.functions;
        let (lib, fname) = f.index.get(&String::from_utf8_lossy(name).to_ascii_lowercase())?;
        Some((fname, &f.libraries[lib].functions[fname]))
    }

    pub(crate) fn fcall(
        &mut self,
        ctx: &mut Ctx<'_>,
        client: &Client,
        conn: ConnId,
        name: &str,
        args: &[Vec<u8>],
    ) -> Option<Value> {
        let Some((fname, func)) = self.find_function(&args[1]) else {
            return Some(Value::error("ERR Function not found"));
        };
        let (callback, flags, fname) = (func.callback.clone(), func.flags, fname.clone());
        let numkeys = match crate::commands::parse_int(&args[2]) {
            Some(n) if n < 0 => return Some(Value::error("ERR Number of keys can't be negative")),
            Some(n) if n > args.len() as i64 - 3 => {
                return Some(Value::error("ERR Number of keys can't be greater than number of args"));
            }
            Some(n) => n as usize,
            None => return Some(Value::error("ERR Bad number of keys provided")),
        };
        if let Err(e) = self.function_gates(flags, name == "fcall_ro") {
            return Some(e);
        }
        let (keys, argv) = (&args[3..3 + numkeys], &args[3 + numkeys..]);
        let read_only = flags & NO_WRITES != 0;
        let launch = Launch { kind: Kind::Function, name: fname, command: args.to_vec(), read_only, deny_oom: false };
        let started =
            self.function_thread(callback, keys, argv).and_then(|t| self.launch(ctx, client, conn, launch, t));
        started.unwrap_or_else(|e| Some(Value::error(format!("ERR {e}"))))
    }

    /// `scriptPrepareForRun`'s checks of a function's flags, in its order.
    fn function_gates(&self, flags: u8, ro: bool) -> Result<(), Value> {
        if flags & NO_CLUSTER != 0 && self.cluster.is_some() {
            return Err(Value::error("ERR Can not run script on cluster, 'no-cluster' flag is set."));
        }
        let replica = self.repl.master.is_some();
        if replica && flags & ALLOW_STALE == 0 && !self.config.replica_serve_stale_data && !self.repl.link_up() {
            return Err(Value::error(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ));
        }
        if flags & NO_WRITES == 0 {
            if replica && self.config.replica_read_only {
                return Err(Value::error("READONLY You can't write against a read only replica."));
            }
            let min = self.config.min_replicas_to_write;
            if !replica && min > 0 && self.repl.good_replicas < min {
                return Err(Value::error("NOREPLICAS Not enough good replicas to write."));
            }
            if ro {
                return Err(Value::error("ERR Can not execute a script with write flag using *_ro command."));
            }
        }
        Ok(())
    }

    /// A coroutine that calls `callback` with KEYS and ARGV tables.
    fn function_thread(&self, callback: Function, keys: &[Vec<u8>], argv: &[Vec<u8>]) -> mlua::Result<mlua::Thread> {
        let Some(vm) = self.scripting.functions.vm.as_ref() else {
            return Err(rt("no interpreter for functions"));
        };
        let table = |items: &[Vec<u8>]| -> mlua::Result<Table> {
            vm.create_sequence_from(items.iter().map(|k| vm.create_string(k)).collect::<Result<Vec<_>, _>>()?)
        };
        let call: Function = vm.load(CALL).set_name("=fcall").call((callback, table(keys)?, table(argv)?))?;
        vm.create_thread(call)
    }
}

#[cfg(test)]
mod tests;
