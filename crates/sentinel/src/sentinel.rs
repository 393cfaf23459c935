//! The Sentinel process (sentinel.c): the timer that runs every 50–100 ms, the
//! two links per Redis instance (commands, and pub/sub on `__sentinel__:hello`)
//! and one per other Sentinel, INFO parsing and discovery, hello messages,
//! SDOWN/ODOWN, the vote, the failover state machine and the switch to the
//! promoted replica. Every time is the Sentinel's own wall clock (`mstime()`),
//! which is why a clock jump puts it in TILT.
//!
//! Its size follows sentinel.c on purpose: functions keep the C names in their
//! docs (`sentinelTimer`, `sentinelHandleRedisInstance`,
//! `sentinelFailoverStateMachine`, ...) so it can be diffed with upstream.

use crate::clients::Client;
use crate::config::{self, Config};
use crate::instance::{FailoverState, Instance, Master, Pending, Role, Who};
use crate::timing::Timing;
use common::pubsub::PubSub;
use resp::{Decoded, Value};
use sim::{ConnId, Ctx, Input, Observation, Process};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const MAX_DESYNC: u64 = 1_000;
const MAX_PENDING_COMMANDS: usize = 100;
/// `SENTINEL SIMULATE-FAILURE crash-after-election`.
pub(crate) const SIMFAILURE_CRASH_AFTER_ELECTION: u8 = 1;
/// `SENTINEL SIMULATE-FAILURE crash-after-promotion`.
pub(crate) const SIMFAILURE_CRASH_AFTER_PROMOTION: u8 = 2;
pub(crate) const HELLO_CHANNEL: &str = "__sentinel__:hello";

/// Who owns a connection, carried as its kernel tag ([`Ctx::tag_conn`]): a
/// Sentinel's own link to an instance (commands or hello pub/sub), or a client
/// it accepted (tag 0, the kernel's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnOwner {
    /// Someone who connected to this Sentinel (redis-cli, a client, another Sentinel).
    Client,
    /// A link this Sentinel opened to a monitored instance or another Sentinel.
    Link,
}

impl ConnOwner {
    const fn tag(self) -> u32 {
        match self {
            ConnOwner::Client => 0,
            ConnOwner::Link => 1,
        }
    }

    fn from_tag(tag: u32) -> ConnOwner {
        match tag {
            0 => ConnOwner::Client,
            1 => ConnOwner::Link,
            other => unreachable!("sentinel: connection tag {other} names no owner"),
        }
    }
}

/// What a timer is for; its [`Timer::tag`] is what the kernel carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// sentinelTimer, run from serverCron.
    Tick,
}

impl Timer {
    /// The kernel tag. The number is the one traces have always carried.
    const fn tag(self) -> u64 {
        match self {
            Timer::Tick => 0,
        }
    }

    /// The timer a tag names, `None` for a number no timer has.
    const fn from_tag(tag: u64) -> Option<Timer> {
        match tag {
            0 => Some(Timer::Tick),
            _ => None,
        }
    }
}

/// Which instance an outgoing connection belongs to.
#[derive(Clone, Debug)]
struct LinkOwner {
    master: String,
    who: Who,
    pubsub: bool,
}

/// A connection to this Sentinel.
/// A running redis-sentinel.
#[derive(Debug)]
pub struct Sentinel {
    pub(crate) file: Config,
    pub(crate) pid: u32,
    pub(crate) myid: String,
    pub(crate) run_id: String,
    pub(crate) port: u16,
    pub(crate) announce_ip: Option<String>,
    pub(crate) announce_port: u16,
    pub(crate) loglevel: String,
    pub(crate) current_epoch: u64,
    pub(crate) masters: BTreeMap<String, Master>,
    pub(crate) tilt: bool,
    pub(crate) tilt_start_time: i64,
    previous_time: i64,
    pub(crate) started_ms: i64,
    pub(crate) clients: BTreeMap<ConnId, Client>,
    pub(crate) pubsub: PubSub,
    links: BTreeMap<ConnId, LinkOwner>,
    pub(crate) next_client_id: u64,
    pub(crate) connections_received: u64,
    pub(crate) commands_processed: u64,
    pub(crate) net_input_bytes: u64,
    pub(crate) net_output_bytes: u64,
    pub(crate) error_replies: u64,
    /// serverCron's frequency now: Sentinel draws it anew every tick.
    pub(crate) hz: u64,
    /// Each monitored master's address as last published (a `GroupMaster`
    /// observation), kept only while the trace keeps observations.
    published_addrs: BTreeMap<String, (String, u16)>,
    /// SIGTERM arrived: the next tick shuts down (`shutdown_asap`).
    shutdown_asap: bool,
    /// The timing parameters `SENTINEL DEBUG` shows and changes.
    pub(crate) timing: Timing,
    /// `SENTINEL SIMULATE-FAILURE`'s flags: 1 crash after being elected
    /// leader, 2 crash after the promotion.
    pub(crate) simfailure_flags: u8,
}

impl Sentinel {
    /// A Sentinel that has not started, configured by its sentinel.conf.
    pub fn new(file: Config) -> Sentinel {
        Sentinel {
            port: file.port,
            file,
            pid: 0,
            myid: String::new(),
            run_id: String::new(),
            announce_ip: None,
            announce_port: 0,
            loglevel: "notice".to_owned(),
            current_epoch: 0,
            masters: BTreeMap::new(),
            tilt: false,
            tilt_start_time: 0,
            previous_time: 0,
            started_ms: 0,
            clients: BTreeMap::new(),
            pubsub: PubSub::default(),
            shutdown_asap: false,
            links: BTreeMap::new(),
            next_client_id: 3,
            connections_received: 0,
            commands_processed: 0,
            net_input_bytes: 0,
            net_output_bytes: 0,
            error_replies: 0,
            hz: 10,
            published_addrs: BTreeMap::new(),
            timing: Timing::default(),
            simfailure_flags: 0,
        }
    }

    /// This Sentinel's 40-character id.
    pub fn myid(&self) -> &str {
        &self.myid
    }

    /// The current epoch.
    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    /// Whether it is in TILT mode.
    pub fn in_tilt(&self) -> bool {
        self.tilt
    }

    /// The address `SENTINEL GET-MASTER-ADDR-BY-NAME` would give for `name`.
    pub fn master_addr(&self, name: &str) -> Option<(String, u16)> {
        self.masters.get(name).map(Master::current_addr)
    }

    /// Names of the monitored masters.
    pub fn master_names(&self) -> Vec<String> {
        self.masters.keys().cloned().collect()
    }

    /// Whom this Sentinel voted for as leader of `name`'s failover, and in which epoch.
    pub fn vote(&self, name: &str) -> Option<(String, u64)> {
        let m = self.masters.get(name)?;
        m.leader.clone().map(|l| (l, m.leader_epoch))
    }

    /// Whether a failover of `name` is in progress here.
    pub fn failover_state(&self, name: &str) -> Option<FailoverState> {
        self.masters.get(name).map(|m| if m.failover_in_progress { m.failover_state } else { FailoverState::None })
    }

    pub(crate) fn log(&self, ctx: &mut Ctx<'_>, level: char, message: &str) {
        let rank = |c: char| ".-*#".find(c).unwrap_or(3);
        let threshold = match self.loglevel.as_str() {
            "debug" => 0,
            "verbose" => 1,
            "notice" => 2,
            _ => 3,
        };
        if rank(level) < threshold {
            return;
        }
        let line = common::log::line(self.pid, 'X', ctx.wall_clock_ms(), level, message);
        ctx.log(line);
    }

    /// `sentinelEvent`: logs `<type> <msg>` and publishes `<msg>` on the channel `<type>`;
    /// every event, whatever the log level lets through, is also an `Event` observation.
    pub(crate) fn event(
        &mut self,
        ctx: &mut Ctx<'_>,
        level: char,
        kind: &str,
        about: Option<(&str, &Who)>,
        extra: &str,
    ) {
        let mut msg = about.and_then(|(m, who)| self.masters.get(m).and_then(|m| m.describe(who))).unwrap_or_default();
        if !extra.is_empty() {
            if !msg.is_empty() {
                msg.push(' ');
            }
            msg.push_str(extra);
        }
        self.log(ctx, level, &format!("{kind} {msg}"));
        if ctx.observing() {
            ctx.observe(Observation::Event { name: kind.to_owned(), detail: msg.clone() });
        }
        if level != '.' {
            self.pubsub.publish(ctx, kind.as_bytes(), msg.as_bytes());
        }
    }

    /// Publishes each monitored master's address where it changed during
    /// this input: the one `SENTINEL GET-MASTER-ADDR-BY-NAME` gives. Called
    /// only while the trace keeps observations.
    fn publish_master_addrs(&mut self, ctx: &mut Ctx<'_>) {
        for (name, m) in &self.masters {
            let addr = m.current_addr();
            if self.published_addrs.get(name) != Some(&addr) {
                let obs = Observation::GroupMaster { group: name.clone(), addr: format!("{}:{}", addr.0, addr.1) };
                ctx.observe(obs);
                self.published_addrs.insert(name.clone(), addr);
            }
        }
        if self.published_addrs.len() > self.masters.len() {
            self.published_addrs.retain(|name, _| self.masters.contains_key(name));
        }
    }

    // ----- start, config ------------------------------------------------------------------

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.pid = 1000 + ctx.rng().below(60_000) as u32;
        self.run_id = common::ids::random_hex40(ctx);
        let wall = ctx.wall_clock_ms();
        self.started_ms = wall;
        let early = |pid: u32, msg: &str| common::log::line(pid, 'X', wall, '#', msg);
        ctx.log(early(self.pid, "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"));
        ctx.log(early(
            self.pid,
            &format!(
                "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
                common::VERSION,
                self.pid
            ),
        ));
        // What the last flush left on disk wins over the original file.
        if let Some(text) = ctx.disk().read(config::CONFIG_FILE).map(|b| b.to_vec()) {
            match config::parse(&String::from_utf8_lossy(&text), self.file.port) {
                Ok(c) => self.file = c,
                Err(errors) => {
                    let (line, e) = &errors[0];
                    ctx.log(format!(
                        "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {}\n{e}",
                        common::VERSION,
                        line + 1
                    ));
                    ctx.exit();
                    return;
                }
            }
        }
        ctx.log(early(self.pid, "Configuration loaded"));
        let c = self.file.clone();
        self.port = c.port;
        self.loglevel = c.loglevel.clone();
        self.announce_ip = c.announce_ip.clone();
        self.announce_port = c.announce_port;
        self.current_epoch = c.current_epoch;
        self.tilt = false;
        self.clients.clear();
        self.links.clear();
        self.pubsub = PubSub::default();
        self.log(ctx, '*', "monotonic clock: POSIX clock_gettime");
        if ctx.listen(self.port).is_err() {
            let port = self.port;
            self.log(
                ctx,
                '#',
                &format!(
                    "Warning: Could not create server TCP listening socket *:{port}: bind: Address already in use"
                ),
            );
            self.log(ctx, '#', &format!("Failed listening on port {port} (TCP), aborting."));
            ctx.exit();
            return;
        }
        self.log(ctx, '*', &format!("Running mode=sentinel, port={}.", self.port));
        let now = ctx.wall_clock_ms();
        self.masters = c.masters.iter().map(|m| (m.name.clone(), Master::from_conf(m, now))).collect();
        let fresh_id = c.myid.is_none();
        self.myid = c.myid.clone().unwrap_or_else(|| common::ids::random_hex40(ctx));
        if fresh_id {
            self.flush_config(ctx);
        }
        self.log(ctx, '#', &format!("Sentinel ID is {}", self.myid));
        for name in self.master_names() {
            let q = self.masters[&name].quorum;
            self.event(ctx, '#', "+monitor", Some((&name, &Who::Master)), &format!("quorum {q}"));
        }
        self.previous_time = now;
        self.schedule_tick(ctx);
    }

    /// `prepareForShutdown` in Sentinel mode: nothing to save, no replicas to wait for.
    /// `sentinelSimFailureCrash`: the process dies on the spot (exit code 99).
    fn simulated_crash(&mut self, ctx: &mut Ctx<'_>) {
        self.log(ctx, '#', "Sentinel CRASH because of SENTINEL simulate-failure");
        ctx.exit();
    }

    pub(crate) fn shutdown(&mut self, ctx: &mut Ctx<'_>) {
        self.log(ctx, '#', "User requested shutdown...");
        self.log(ctx, '#', "Sentinel is now ready to exit, bye bye...");
        ctx.exit();
    }

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as db.c parses it; in
    /// Sentinel mode every flag but ABORT changes nothing.
    pub(crate) fn shutdown_command(&mut self, ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Option<Value> {
        let words: Vec<String> = args[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
        let has = |w: &str| words.iter().any(|x| x == w);
        let known = words.iter().all(|w| matches!(w.as_str(), "nosave" | "save" | "now" | "force" | "abort"));
        let flags = words.iter().any(|w| w != "abort");
        if !known || (has("abort") && flags) || (has("save") && has("nosave")) {
            return Some(Value::error("ERR syntax error"));
        }
        if has("abort") {
            if !std::mem::take(&mut self.shutdown_asap) {
                return Some(Value::error("ERR No shutdown in progress."));
            }
            self.log(ctx, '*', "Shutdown manually aborted.");
            return Some(Value::ok());
        }
        self.shutdown(ctx);
        None
    }

    fn schedule_tick(&mut self, ctx: &mut Ctx<'_>) {
        // serverCron at hz 10 + rand()%10: ticks deliberately desynchronised.
        let hz = 10 + ctx.rng().below(10);
        self.hz = hz;
        ctx.set_timer(Duration::from_millis(1000 / hz), Timer::Tick.tag());
    }

    /// `sentinelFlushConfig`: the state goes to disk, fsynced.
    pub(crate) fn flush_config(&mut self, ctx: &mut Ctx<'_>) {
        let mut c = self.file.clone();
        c.myid = Some(self.myid.clone());
        c.current_epoch = self.current_epoch;
        c.masters = self
            .masters
            .values()
            .map(|m| {
                // Mid-failover (past the promotion) the promoted replica is written as the
                // master and the old master as a replica, so a restart resumes from the new
                // configuration its epoch stands for.
                let (ip, port) = m.current_addr();
                config::MasterConf {
                    name: m.inst.name.clone(),
                    ip: ip.clone(),
                    port,
                    quorum: m.quorum,
                    down_after: m.down_after,
                    failover_timeout: m.failover_timeout,
                    parallel_syncs: m.parallel_syncs,
                    auth_pass: m.auth_pass.clone(),
                    auth_user: m.auth_user.clone(),
                    master_reboot_down_after: m.master_reboot_down_after,
                    renamed_commands: m.renamed_commands.clone(),
                    config_epoch: m.config_epoch,
                    leader_epoch: m.leader_epoch,
                    known_replicas: m
                        .slaves
                        .values()
                        .map(|s| {
                            if s.ip == ip && s.port == port {
                                (m.inst.ip.clone(), m.inst.port)
                            } else {
                                (s.ip.clone(), s.port)
                            }
                        })
                        .filter(|(rip, rport)| !(*rip == ip && *rport == port))
                        .collect(),
                    known_sentinels: m
                        .sentinels
                        .values()
                        .filter_map(|s| s.runid.clone().map(|id| (s.ip.clone(), s.port, id)))
                        .collect(),
                }
            })
            .collect();
        let text = config::render(&c);
        self.file = c;
        let disk = ctx.disk();
        disk.write(config::CONFIG_FILE, text.as_bytes());
        disk.fsync(config::CONFIG_FILE);
        self.log(ctx, '*', "Sentinel new configuration saved on disk");
    }

    // ----- the timer ---------------------------------------------------------------------

    fn tick(&mut self, ctx: &mut Ctx<'_>) {
        if self.shutdown_asap {
            // serverCron's shutdown check comes before sentinelTimer.
            self.shutdown(ctx);
            return;
        }
        let now = ctx.wall_clock_ms();
        let delta = now - self.previous_time;
        if !(0..=self.timing.tilt_trigger).contains(&delta) {
            self.tilt = true;
            self.tilt_start_time = now;
            self.event(ctx, '#', "+tilt", None, "#tilt mode entered");
        }
        self.previous_time = now;
        let mut switch = None;
        for name in self.master_names() {
            self.handle_instance(ctx, &name, &Who::Master);
            let Some(m) = self.masters.get(&name) else { continue };
            let slaves: Vec<Who> = m.slaves.keys().map(|k| Who::Slave(k.clone())).collect();
            let sentinels: Vec<Who> = m.sentinels.keys().map(|k| Who::Sentinel(k.clone())).collect();
            for who in slaves.iter().chain(&sentinels) {
                self.handle_instance(ctx, &name, who);
            }
            if self.masters.get(&name).is_some_and(|m| m.failover_state == FailoverState::UpdateConfig) {
                switch = Some(name);
            }
        }
        if let Some(name) = switch {
            self.switch_to_promoted(ctx, &name);
        }
        self.schedule_tick(ctx);
    }

    fn handle_instance(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who) {
        if self.masters.get(master).and_then(|m| m.get(who)).is_none() {
            return;
        }
        self.reconnect(ctx, master, who);
        self.send_periodic(ctx, master, who);
        if self.tilt {
            if ctx.wall_clock_ms() - self.tilt_start_time < self.timing.tilt_period {
                return;
            }
            self.tilt = false;
            self.event(ctx, '#', "-tilt", None, "#tilt mode exited");
        }
        self.check_sdown(ctx, master, who);
        if *who == Who::Master {
            self.check_odown(ctx, master);
            if self.start_failover_if_needed(ctx, master) {
                self.ask_others(ctx, master, true);
            }
            self.failover_state_machine(ctx, master);
            self.ask_others(ctx, master, false);
        }
    }

    // ----- links ---------------------------------------------------------------------------

    fn reconnect(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who) {
        let now = ctx.wall_clock_ms();
        let short_id: String = self.myid.chars().take(8).collect();
        let Some(m) = self.masters.get_mut(master) else { return };
        // `AUTH <user> <pass>` when both are set, `AUTH <pass>` with a password alone.
        // Other Sentinels get the global sentinel-user/sentinel-pass (sentinelSendAuthIfNeeded).
        let (user, pass) = if matches!(who, Who::Sentinel(_)) {
            (&self.file.sentinel_user, &self.file.sentinel_pass)
        } else {
            (&m.auth_user, &m.auth_pass)
        };
        let auth: Option<Vec<Vec<u8>>> = pass.as_ref().map(|pass| {
            let mut a = vec![b"AUTH".to_vec()];
            a.extend(user.iter().map(|u| u.as_bytes().to_vec()));
            a.push(pass.as_bytes().to_vec());
            a
        });
        let renames = m.renamed_commands.clone();
        let Some(inst) = m.get_mut(who) else { return };
        if !inst.link.disconnected || now - inst.link.last_reconn_time < self.timing.ping_period {
            return;
        }
        inst.link.last_reconn_time = now;
        let Ok(ip) = inst.ip.parse::<Ipv4Addr>() else { return };
        let addr = SocketAddrV4::new(ip, inst.port);
        let is_sentinel = inst.role == Role::Sentinel;
        let mut opened = Vec::new();
        if inst.link.cc.is_none() {
            let conn = ctx.connect(addr);
            ctx.tag_conn(conn, ConnOwner::Link.tag());
            opened.push((conn, false));
            let l = &mut inst.link;
            l.cc = Some(conn);
            l.cc_open = false;
            l.cc_out.clear();
            l.cc_pending.clear();
            l.cc_decoder = resp::ReplyDecoder::default();
            l.cc_conn_time = now;
            if let Some(a) = &auth {
                queue(inst, &renames, a, Pending::Discard, false);
            }
            let name = format!("sentinel-{short_id}-cmd");
            queue(inst, &renames, &[b"CLIENT".as_slice(), b"SETNAME", name.as_bytes()], Pending::Discard, false);
            send_ping(inst, &renames, now);
        }
        if !is_sentinel && inst.link.pc.is_none() {
            let conn = ctx.connect(addr);
            ctx.tag_conn(conn, ConnOwner::Link.tag());
            opened.push((conn, true));
            let l = &mut inst.link;
            l.pc = Some(conn);
            l.pc_open = false;
            l.pc_out.clear();
            l.pc_decoder = resp::ReplyDecoder::default();
            l.pc_conn_time = now;
            if let Some(a) = &auth {
                queue(inst, &renames, a, Pending::Discard, true);
            }
            let name = format!("sentinel-{short_id}-pubsub");
            queue(inst, &renames, &[b"CLIENT".as_slice(), b"SETNAME", name.as_bytes()], Pending::Discard, true);
            queue(inst, &renames, &[b"SUBSCRIBE".as_slice(), HELLO_CHANNEL.as_bytes()], Pending::Discard, true);
        }
        if inst.link.cc.is_some() && (is_sentinel || inst.link.pc.is_some()) {
            inst.link.disconnected = false;
        }
        for (conn, pubsub) in opened {
            self.links.insert(conn, LinkOwner { master: master.to_owned(), who: who.clone(), pubsub });
        }
    }

    /// `sentinelDropConnections`: the links to every other Sentinel close (and
    /// reconnect with the new credentials).
    pub(crate) fn drop_sentinel_links(&mut self, ctx: &mut Ctx<'_>) {
        let conns: Vec<ConnId> = self
            .masters
            .values()
            .flat_map(|m| m.sentinels.values())
            .flat_map(|s| [s.link.cc, s.link.pc])
            .flatten()
            .collect();
        for conn in conns {
            self.link_lost(ctx, conn, true);
        }
    }

    /// `dropInstanceConnections`: the links to a master and its replicas close,
    /// to reconnect at the next tick with the credentials and names now set.
    pub(crate) fn drop_instance_links(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let Some(m) = self.masters.get(master) else { return };
        let conns: Vec<ConnId> =
            std::iter::once(&m.inst).chain(m.slaves.values()).flat_map(|i| [i.link.cc, i.link.pc]).flatten().collect();
        for conn in conns {
            self.link_lost(ctx, conn, true);
        }
    }

    /// `instanceLinkConnectionError` / `instanceLinkCloseConnection`.
    fn link_lost(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, close: bool) {
        let Some(owner) = self.links.remove(&conn) else { return };
        if close {
            ctx.close(conn);
        }
        let Some(inst) = self.masters.get_mut(&owner.master).and_then(|m| m.get_mut(&owner.who)) else { return };
        let l = &mut inst.link;
        if l.cc == Some(conn) {
            l.cc = None;
            l.cc_open = false;
            l.cc_pending.clear();
        } else if l.pc == Some(conn) {
            l.pc = None;
            l.pc_open = false;
        }
        l.disconnected = true;
    }

    fn on_connected(&mut self, ctx: &mut Ctx<'_>, conn: ConnId) {
        let Some(owner) = self.links.get(&conn).cloned() else { return };
        let Some(inst) = self.masters.get_mut(&owner.master).and_then(|m| m.get_mut(&owner.who)) else { return };
        let out = if owner.pubsub {
            inst.link.pc_open = true;
            std::mem::take(&mut inst.link.pc_out)
        } else {
            inst.link.cc_open = true;
            std::mem::take(&mut inst.link.cc_out)
        };
        if !out.is_empty() {
            ctx.send(conn, &out);
        }
    }

    fn send_periodic(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who) {
        let now = ctx.wall_clock_ms();
        let Some(m) = self.masters.get_mut(master) else { return };
        let master_busy = m.inst.o_down || m.failover_in_progress;
        let down_after = m.down_after;
        let renames = m.renamed_commands.clone();
        let Some(inst) = m.get_mut(who) else { return };
        if inst.link.disconnected || inst.link.cc_pending.len() >= MAX_PENDING_COMMANDS {
            return;
        }
        let info_period = if inst.role == Role::Slave && (master_busy || inst.master_link_down_time != 0) {
            1000
        } else {
            self.timing.info_period
        };
        let ping_period = down_after.min(self.timing.ping_period);
        if inst.role != Role::Sentinel && (inst.info_refresh == 0 || now - inst.info_refresh > info_period) {
            queue(inst, &renames, &[b"INFO".as_slice()], Pending::Info, false);
            self.flush_link(ctx, master, who);
        }
        let Some(inst) = self.masters.get_mut(master).and_then(|m| m.get_mut(who)) else { return };
        if now - inst.link.last_pong_time > ping_period && now - inst.link.last_ping_time > ping_period / 2 {
            send_ping(inst, &renames, now);
            self.flush_link(ctx, master, who);
        }
        let Some(inst) = self.masters.get(master).and_then(|m| m.get(who)) else { return };
        if now - inst.last_pub_time > self.timing.publish_period {
            self.send_hello(ctx, master, who);
        }
    }

    /// Writes what was queued on an established command link.
    fn flush_link(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who) {
        let Some(inst) = self.masters.get_mut(master).and_then(|m| m.get_mut(who)) else { return };
        if let (Some(conn), true) = (inst.link.cc, inst.link.cc_open)
            && !inst.link.cc_out.is_empty()
        {
            let out = std::mem::take(&mut inst.link.cc_out);
            ctx.send(conn, &out);
        }
    }

    fn send_hello(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who) {
        let ip = self.announce_ip.clone().unwrap_or_else(|| ctx.ip().to_string());
        let port = if self.announce_port != 0 { self.announce_port } else { self.port };
        let Some(m) = self.masters.get_mut(master) else { return };
        let (mip, mport) = m.current_addr();
        let payload = format!(
            "{ip},{port},{},{},{},{mip},{mport},{}",
            self.myid, self.current_epoch, m.inst.name, m.config_epoch
        );
        let renames = m.renamed_commands.clone();
        let Some(inst) = m.get_mut(who) else { return };
        if inst.link.disconnected {
            return;
        }
        queue(
            inst,
            &renames,
            &[b"PUBLISH".as_slice(), HELLO_CHANNEL.as_bytes(), payload.as_bytes()],
            Pending::Publish,
            false,
        );
        self.flush_link(ctx, master, who);
    }

    fn force_hello(&mut self, master: &str) {
        let Some(m) = self.masters.get_mut(master) else { return };
        let all = std::iter::once(&mut m.inst).chain(m.slaves.values_mut()).chain(m.sentinels.values_mut());
        for i in all {
            i.last_pub_time -= self.timing.publish_period + 1;
        }
    }

    // ----- replies -------------------------------------------------------------------------

    fn on_link_data(&mut self, ctx: &mut Ctx<'_>, conn: ConnId, bytes: &[u8]) {
        let Some(owner) = self.links.get(&conn).cloned() else { return };
        let now = ctx.wall_clock_ms();
        let Some(inst) = self.masters.get_mut(&owner.master).and_then(|m| m.get_mut(&owner.who)) else { return };
        let mut replies = Vec::new();
        let decoder = if owner.pubsub { &mut inst.link.pc_decoder } else { &mut inst.link.cc_decoder };
        decoder.feed(bytes);
        let mut broken = false;
        loop {
            match decoder.next_value() {
                Decoded::Value(v) => replies.push(v),
                Decoded::Incomplete => break,
                Decoded::Invalid(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if owner.pubsub {
            inst.link.pc_last_activity = now;
            for v in replies {
                if let Value::Array(parts) = v
                    && let [Value::Bulk(kind), Value::Bulk(channel), Value::Bulk(payload)] = parts.as_slice()
                    && kind == b"message"
                    && channel == HELLO_CHANNEL.as_bytes()
                {
                    self.process_hello(ctx, &String::from_utf8_lossy(payload));
                }
            }
        } else {
            let answered: Vec<(Pending, Value)> =
                replies.into_iter().filter_map(|v| inst.link.cc_pending.pop_front().map(|p| (p, v))).collect();
            for (pending, reply) in answered {
                self.on_reply(ctx, &owner.master, &owner.who, pending, reply);
            }
        }
        if broken {
            self.link_lost(ctx, conn, true);
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who, pending: Pending, reply: Value) {
        let now = ctx.wall_clock_ms();
        let Some(inst) = self.masters.get_mut(master).and_then(|m| m.get_mut(who)) else { return };
        match pending {
            Pending::Ping => {
                let text = match &reply {
                    Value::Simple(s) => s,
                    Value::Error(s) => s.as_str(),
                    _ => "",
                };
                if text.starts_with("PONG") || text.starts_with("LOADING") || text.starts_with("MASTERDOWN") {
                    inst.link.last_avail_time = now;
                    inst.link.act_ping_time = 0;
                }
                inst.link.last_pong_time = now;
                if *who == Who::Master && text.starts_with("PONG") {
                    self.masters.get_mut(master).expect("exists").rebooted_since = None;
                }
            }
            Pending::Info => {
                if let Value::Bulk(text) = reply {
                    self.refresh_info(ctx, master, who, &String::from_utf8_lossy(&text));
                }
            }
            Pending::Publish => {
                if !matches!(reply, Value::Error(_)) {
                    inst.last_pub_time = now;
                }
            }
            Pending::IsMasterDown => {
                if let Value::Array(parts) = reply
                    && let [Value::Integer(down), Value::Bulk(leader), Value::Integer(epoch)] = parts.as_slice()
                {
                    inst.last_master_down_reply_time = now;
                    inst.master_down = *down == 1;
                    let leader = String::from_utf8_lossy(leader).into_owned();
                    if leader != "*" {
                        let changed = inst.leader.as_deref() != Some(leader.as_str());
                        inst.leader = Some(leader.clone());
                        inst.leader_epoch = (*epoch).max(0) as u64;
                        if changed {
                            let name = inst.name.clone();
                            self.log(ctx, '#', &format!("{name} voted for {leader} {epoch}"));
                        }
                    }
                }
            }
            Pending::Discard => {}
        }
    }

    /// `sentinelRefreshInstanceInfo`.
    fn refresh_info(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who, info: &str) {
        let now = ctx.wall_clock_ms();
        let mut run_id = None;
        let mut role = None;
        let mut replicas = Vec::new();
        let mut link_down_since: Option<i64> = None;
        let (mut host, mut port, mut link_up, mut priority, mut offset, mut announced) =
            (None, None, None, None, None, None);
        for line in info.lines() {
            let Some((key, value)) = line.split_once(':') else { continue };
            match key {
                "run_id" if value.len() == 40 => run_id = Some(value.to_owned()),
                "role" => role = Some(if value == "master" { Role::Master } else { Role::Slave }),
                "master_host" => host = Some(value.to_owned()),
                "master_port" => port = value.parse::<u16>().ok(),
                "master_link_status" => link_up = Some(value == "up"),
                "master_link_down_since_seconds" => link_down_since = value.parse::<i64>().ok(),
                "slave_priority" => priority = value.parse::<u64>().ok(),
                "slave_repl_offset" => offset = value.parse::<u64>().ok(),
                "replica_announced" => announced = Some(value == "1"),
                k if k.starts_with("slave") && k[5..].chars().all(|c| c.is_ascii_digit()) => {
                    let field = |name: &str| value.split(',').find_map(|kv| kv.strip_prefix(name).map(str::to_owned));
                    if let (Some(ip), Some(p)) = (field("ip="), field("port=").and_then(|p| p.parse::<u16>().ok())) {
                        replicas.push((ip, p));
                    }
                }
                _ => {}
            }
        }
        let Some(inst) = self.masters.get_mut(master).and_then(|m| m.get_mut(who)) else { return };
        let mut rebooted = false;
        if let Some(id) = run_id {
            match &inst.runid {
                Some(old) if *old != id => {
                    rebooted = true;
                    inst.runid = Some(id);
                }
                None => inst.runid = Some(id),
                _ => {}
            }
        }
        inst.master_link_down_time = link_down_since.map_or(0, |s| s * 1000);
        let mut role_change = None;
        if let Some(r) = role
            && r != inst.role_reported
        {
            inst.role_reported = r;
            inst.role_reported_time = now;
            // `+role-change` when it now reports what we think it is, `-role-change` otherwise.
            let sign = if r == inst.role { "+role-change" } else { "-role-change" };
            role_change = Some((sign, if r == Role::Master { "master" } else { "slave" }));
        }
        if role == Some(Role::Slave) {
            if host.is_some() && inst.slave_master_host != host {
                inst.slave_master_host = host;
                inst.slave_conf_change_time = now;
            }
            if let Some(p) = port
                && p != inst.slave_master_port
            {
                inst.slave_master_port = p;
                inst.slave_conf_change_time = now;
            }
            inst.slave_master_link_up = link_up.unwrap_or(false);
            if let Some(p) = priority {
                inst.slave_priority = p;
            }
            if let Some(o) = offset {
                inst.slave_repl_offset = o;
            }
            if let Some(a) = announced {
                inst.replica_announced = a;
            }
        }
        inst.info_refresh = now;
        inst.info = info.to_owned();
        // INFO's run_id comes first, so +reboot precedes the role change.
        if rebooted {
            self.event(ctx, '*', "+reboot", Some((master, who)), "");
            // SRI_MASTER_REBOOT: a rebooted master must PONG within master-reboot-down-after-period.
            if let Some(m) = self.masters.get_mut(master)
                && *who == Who::Master
                && m.master_reboot_down_after != 0
            {
                m.rebooted_since = Some(now);
            }
        }
        if let Some((sign, reported)) = role_change {
            self.event(ctx, '-', sign, Some((master, who)), &format!("new reported role is {reported}"));
        }
        if *who == Who::Master {
            let mut added = false;
            for (ip, p) in replicas {
                let name = format!("{ip}:{p}");
                let Some(m) = self.masters.get_mut(master) else { return };
                if m.slaves.contains_key(&name) {
                    continue;
                }
                m.slaves.insert(name.clone(), Instance::new(Role::Slave, name.clone(), ip, p, now));
                self.event(ctx, '*', "+slave", Some((master, &Who::Slave(name))), "");
                added = true;
            }
            if added {
                self.flush_config(ctx);
            }
        }
        if self.tilt {
            return;
        }
        let Who::Slave(key) = who else { return };
        let Some(m) = self.masters.get(master) else { return };
        let Some(inst) = m.slaves.get(key) else { return };
        if role == Some(Role::Master) {
            if inst.promoted && m.failover_in_progress && m.failover_state == FailoverState::WaitPromotion {
                let m = self.masters.get_mut(master).expect("checked above");
                m.config_epoch = m.failover_epoch;
                m.failover_state = FailoverState::ReconfSlaves;
                m.failover_state_change_time = now;
                self.flush_config(ctx);
                self.event(ctx, '#', "+promoted-slave", Some((master, who)), "");
                if self.simfailure_flags & SIMFAILURE_CRASH_AFTER_PROMOTION != 0 {
                    return self.simulated_crash(ctx);
                }
                self.event(ctx, '#', "+failover-state-reconf-slaves", Some((master, &Who::Master)), "");
                self.force_hello(master);
            } else {
                // A replica that says it is a master: after a grace period (so a
                // newer configuration can reach us first) make it follow ours.
                let wait = self.timing.publish_period * 4;
                if !inst.promoted
                    && m.looks_sane(now, self.timing.info_period)
                    && inst.no_down_for(now, wait)
                    && now - inst.role_reported_time > wait
                {
                    let target = (m.inst.ip.clone(), m.inst.port);
                    if self.send_slaveof(ctx, master, who, Some(target)) {
                        self.event(ctx, '*', "+convert-to-slave", Some((master, who)), "");
                    }
                }
            }
            return;
        }
        if role != Some(Role::Slave) {
            return;
        }
        let wrong_master =
            inst.slave_master_port != m.inst.port || inst.slave_master_host.as_deref() != Some(m.inst.ip.as_str());
        if wrong_master {
            let wait = m.failover_timeout;
            if m.looks_sane(now, self.timing.info_period)
                && inst.no_down_for(now, wait)
                && now - inst.slave_conf_change_time > wait
            {
                let target = (m.inst.ip.clone(), m.inst.port);
                if self.send_slaveof(ctx, master, who, Some(target)) {
                    self.event(ctx, '*', "+fix-slave-config", Some((master, who)), "");
                }
            }
        }
        let Some(m) = self.masters.get(master) else { return };
        let promoted = m.promoted.as_ref().and_then(|k| m.slaves.get(k)).map(|p| (p.ip.clone(), p.port));
        let Some(inst) = m.slaves.get(key) else { return };
        if let Some((pip, pport)) = promoted {
            if inst.reconf_sent
                && inst.slave_master_host.as_deref() == Some(pip.as_str())
                && inst.slave_master_port == pport
            {
                let inst = self.masters.get_mut(master).and_then(|m| m.slaves.get_mut(key)).expect("checked above");
                inst.reconf_sent = false;
                inst.reconf_inprog = true;
                self.event(ctx, '*', "+slave-reconf-inprog", Some((master, who)), "");
            }
            let inst = self.masters.get_mut(master).and_then(|m| m.slaves.get_mut(key)).expect("checked above");
            if inst.reconf_inprog && inst.slave_master_link_up {
                inst.reconf_inprog = false;
                inst.reconf_done = true;
                self.event(ctx, '*', "+slave-reconf-done", Some((master, who)), "");
            }
        }
    }

    /// `sentinelProcessHelloMessage`.
    pub(crate) fn process_hello(&mut self, ctx: &mut Ctx<'_>, hello: &str) {
        let t: Vec<&str> = hello.split(',').collect();
        if t.len() != 8 {
            return;
        }
        let (ip, runid, name, mip) = (t[0].to_owned(), t[2].to_owned(), t[4].to_owned(), t[5].to_owned());
        let (Ok(port), Ok(epoch), Ok(mport), Ok(mconfig_epoch)) =
            (t[1].parse::<u16>(), t[3].parse::<u64>(), t[6].parse::<u16>(), t[7].parse::<u64>())
        else {
            return;
        };
        if runid == self.myid {
            return;
        }
        let now = ctx.wall_clock_ms();
        let Some(m) = self.masters.get_mut(&name) else { return };
        let known = m.sentinels.get(&runid).is_some_and(|s| s.ip == ip && s.port == port);
        if !known {
            // The same run id at a new address replaces the old entry; so does a
            // new run id at a known address (a restarted Sentinel without its config).
            let stale: Vec<String> = m
                .sentinels
                .iter()
                .filter(|(id, s)| **id == runid || (s.ip == ip && s.port == port))
                .map(|(id, _)| id.clone())
                .collect();
            let moved = stale.contains(&runid);
            let mut dead = Vec::new();
            for id in stale {
                if let Some(s) = m.sentinels.remove(&id) {
                    dead.extend([s.link.cc, s.link.pc].into_iter().flatten());
                }
            }
            let mut si = Instance::new(Role::Sentinel, runid.clone(), ip, port, now);
            si.runid = Some(runid.clone());
            m.sentinels.insert(runid.clone(), si);
            for conn in dead {
                self.link_lost(ctx, conn, true);
            }
            let kind = if moved { "+sentinel-address-switch" } else { "+sentinel" };
            self.event(ctx, '*', kind, Some((&name, &Who::Sentinel(runid.clone()))), "");
            self.flush_config(ctx);
        }
        if epoch > self.current_epoch {
            self.current_epoch = epoch;
            self.flush_config(ctx);
            self.event(ctx, '#', "+new-epoch", None, &epoch.to_string());
        }
        let Some(m) = self.masters.get_mut(&name) else { return };
        if m.config_epoch < mconfig_epoch {
            m.config_epoch = mconfig_epoch;
            if mport != m.inst.port || mip != m.inst.ip {
                let (oip, oport) = (m.inst.ip.clone(), m.inst.port);
                self.event(ctx, '#', "+config-update-from", Some((&name, &Who::Sentinel(runid.clone()))), "");
                self.event(ctx, '#', "+switch-master", None, &format!("{name} {oip} {oport} {mip} {mport}"));
                self.reset_master_and_change_address(ctx, &name, &mip, mport);
            }
        }
        if let Some(si) = self.masters.get_mut(&name).and_then(|m| m.sentinels.get_mut(&runid)) {
            si.last_hello_time = now;
        }
    }

    // ----- SDOWN / ODOWN / asking ----------------------------------------------------------

    fn check_sdown(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who) {
        let now = ctx.wall_clock_ms();
        let Some(m) = self.masters.get(master) else { return };
        let down_after = m.down_after;
        let Some(inst) = m.get(who) else { return };
        let l = &inst.link;
        let elapsed = if l.act_ping_time != 0 {
            now - l.act_ping_time
        } else if l.disconnected {
            now - l.last_avail_time
        } else {
            0
        };
        let mut to_close = Vec::new();
        if let Some(cc) = l.cc
            && now - l.cc_conn_time > self.timing.min_link_reconnect_period
            && l.act_ping_time != 0
            && now - l.act_ping_time > down_after / 2
            && now - l.last_pong_time > down_after / 2
        {
            to_close.push(cc);
        }
        if let Some(pc) = l.pc
            && now - l.pc_conn_time > self.timing.min_link_reconnect_period
            && now - l.pc_last_activity > self.timing.publish_period * 3
        {
            to_close.push(pc);
        }
        let reboot_overdue =
            *who == Who::Master && m.rebooted_since.is_some_and(|t| now - t > m.master_reboot_down_after);
        let down = elapsed > down_after
            || (inst.role == Role::Master
                && inst.role_reported == Role::Slave
                && now - inst.role_reported_time > down_after + self.timing.info_period * 2)
            || reboot_overdue;
        let was_down = inst.s_down;
        for conn in to_close {
            self.link_lost(ctx, conn, true);
        }
        if down && !was_down {
            self.event(ctx, '#', "+sdown", Some((master, who)), "");
            if let Some(i) = self.masters.get_mut(master).and_then(|m| m.get_mut(who)) {
                i.s_down = true;
                i.s_down_since = now;
            }
        } else if !down && was_down {
            self.event(ctx, '#', "-sdown", Some((master, who)), "");
            if let Some(i) = self.masters.get_mut(master).and_then(|m| m.get_mut(who)) {
                i.s_down = false;
            }
        }
    }

    fn check_odown(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let now = ctx.wall_clock_ms();
        let Some(m) = self.masters.get_mut(master) else { return };
        let mut votes = 0;
        let mut odown = false;
        if m.inst.s_down {
            votes = 1 + m.sentinels.values().filter(|s| s.master_down).count();
            odown = votes >= m.quorum;
        }
        let q = m.quorum;
        if odown && !m.inst.o_down {
            m.inst.o_down = true;
            m.inst.o_down_since = now;
            self.event(ctx, '#', "+odown", Some((master, &Who::Master)), &format!("#quorum {votes}/{q}"));
        } else if !odown && m.inst.o_down {
            m.inst.o_down = false;
            self.event(ctx, '#', "-odown", Some((master, &Who::Master)), "");
        }
    }

    /// `sentinelAskMasterStateToOtherSentinels`.
    fn ask_others(&mut self, ctx: &mut Ctx<'_>, master: &str, forced: bool) {
        let now = ctx.wall_clock_ms();
        let epoch = self.current_epoch;
        let myid = self.myid.clone();
        let Some(m) = self.masters.get_mut(master) else { return };
        let (ip, port) = (m.inst.ip.clone(), m.inst.port);
        let s_down = m.inst.s_down;
        let runid = if m.failover_state > FailoverState::None { myid } else { "*".to_owned() };
        let mut asked = Vec::new();
        let renames = m.renamed_commands.clone();
        for (key, s) in m.sentinels.iter_mut() {
            if now - s.last_master_down_reply_time > self.timing.ask_period * 5 {
                s.master_down = false;
                s.leader = None;
            }
            if !s_down || s.link.disconnected {
                continue;
            }
            if !forced && now - s.last_master_down_reply_time < self.timing.ask_period {
                continue;
            }
            let args = [
                b"SENTINEL".as_slice(),
                b"is-master-down-by-addr",
                ip.as_bytes(),
                port.to_string().as_bytes(),
                epoch.to_string().as_bytes(),
                runid.as_bytes(),
            ]
            .map(<[u8]>::to_vec);
            queue(s, &renames, &args, Pending::IsMasterDown, false);
            asked.push(Who::Sentinel(key.clone()));
        }
        for who in asked {
            self.flush_link(ctx, master, &who);
        }
    }

    // ----- election ------------------------------------------------------------------------

    /// `sentinelVoteLeader`.
    pub(crate) fn vote_leader(
        &mut self,
        ctx: &mut Ctx<'_>,
        master: &str,
        req_epoch: u64,
        req_runid: &str,
    ) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            self.flush_config(ctx);
            self.event(ctx, '#', "+new-epoch", None, &req_epoch.to_string());
        }
        let now = ctx.wall_clock_ms();
        let jitter = ctx.rng().below(MAX_DESYNC) as i64;
        let current = self.current_epoch;
        let myid = self.myid.clone();
        let Some(m) = self.masters.get_mut(master) else { return (None, 0) };
        if m.leader_epoch < req_epoch && current <= req_epoch {
            m.leader = Some(req_runid.to_owned());
            m.leader_epoch = current;
            if req_runid != myid {
                // Voting for someone else holds off my own attempt.
                m.failover_start_time = now + jitter;
            }
            self.flush_config(ctx);
            self.event(ctx, '#', "+vote-for-leader", None, &format!("{req_runid} {current}"));
        }
        let m = &self.masters[master];
        (m.leader.clone(), m.leader_epoch)
    }

    /// `sentinelGetLeader`: the winner of `epoch`, if any has a majority and the quorum.
    fn get_leader(&mut self, ctx: &mut Ctx<'_>, master: &str, epoch: u64) -> Option<String> {
        let current = self.current_epoch;
        let m = self.masters.get(master)?;
        let voters = m.sentinels.len() + 1;
        let quorum = m.quorum;
        let mut counters: BTreeMap<String, usize> = BTreeMap::new();
        for s in m.sentinels.values() {
            if let Some(l) = &s.leader
                && s.leader_epoch == current
            {
                *counters.entry(l.clone()).or_default() += 1;
            }
        }
        let mut winner: Option<String> = None;
        let mut max_votes = 0;
        for (id, &votes) in &counters {
            if votes > max_votes {
                max_votes = votes;
                winner = Some(id.clone());
            }
        }
        let candidate = winner.clone().unwrap_or_else(|| self.myid.clone());
        let (myvote, leader_epoch) = self.vote_leader(ctx, master, epoch, &candidate);
        if let Some(v) = myvote
            && leader_epoch == epoch
        {
            let votes = counters.entry(v.clone()).or_default();
            *votes += 1;
            if *votes > max_votes {
                max_votes = *votes;
                winner = Some(v);
            }
        }
        winner.filter(|_| max_votes > voters / 2 && max_votes >= quorum)
    }

    // ----- failover ------------------------------------------------------------------------

    fn start_failover_if_needed(&mut self, ctx: &mut Ctx<'_>, master: &str) -> bool {
        let now = ctx.wall_clock_ms();
        let Some(m) = self.masters.get_mut(master) else { return false };
        if !m.inst.o_down || m.failover_in_progress {
            return false;
        }
        if now - m.failover_start_time < m.failover_timeout * 2 {
            if m.failover_delay_logged != m.failover_start_time {
                m.failover_delay_logged = m.failover_start_time;
                let at = (m.failover_start_time + m.failover_timeout * 2).div_euclid(1000);
                self.log(ctx, '#', &format!("Next failover delay: I will not start a failover before {}", ctime(at)));
            }
            return false;
        }
        self.start_failover(ctx, master);
        true
    }

    pub(crate) fn start_failover(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let now = ctx.wall_clock_ms();
        let jitter = ctx.rng().below(MAX_DESYNC) as i64;
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        let Some(m) = self.masters.get_mut(master) else { return };
        m.failover_state = FailoverState::WaitStart;
        m.failover_in_progress = true;
        m.failover_epoch = epoch;
        self.event(ctx, '#', "+new-epoch", None, &epoch.to_string());
        self.event(ctx, '#', "+try-failover", Some((master, &Who::Master)), "");
        let Some(m) = self.masters.get_mut(master) else { return };
        m.failover_start_time = now + jitter;
        m.failover_state_change_time = now;
    }

    fn abort_failover(&mut self, master: &str, now: i64) {
        let Some(m) = self.masters.get_mut(master) else { return };
        m.failover_in_progress = false;
        m.force_failover = false;
        m.failover_state = FailoverState::None;
        m.failover_state_change_time = now;
        if let Some(p) = m.promoted.take().and_then(|k| m.slaves.get_mut(&k)) {
            p.promoted = false;
        }
    }

    fn failover_state_machine(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let Some(m) = self.masters.get(master) else { return };
        if !m.failover_in_progress {
            return;
        }
        match m.failover_state {
            FailoverState::WaitStart => self.failover_wait_start(ctx, master),
            FailoverState::SelectSlave => self.failover_select_slave(ctx, master),
            FailoverState::SendSlaveofNoone => self.failover_send_slaveof_noone(ctx, master),
            FailoverState::WaitPromotion => {
                let now = ctx.wall_clock_ms();
                if now - m.failover_state_change_time > m.failover_timeout {
                    self.event(ctx, '#', "-failover-abort-slave-timeout", Some((master, &Who::Master)), "");
                    self.abort_failover(master, now);
                }
            }
            FailoverState::ReconfSlaves => self.failover_reconf_next_slave(ctx, master),
            FailoverState::None | FailoverState::UpdateConfig => {}
        }
    }

    fn failover_wait_start(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let now = ctx.wall_clock_ms();
        let epoch = self.masters[master].failover_epoch;
        let leader = self.get_leader(ctx, master, epoch);
        let is_leader = leader.as_deref() == Some(self.myid.as_str());
        let m = &self.masters[master];
        if !is_leader && !m.force_failover {
            let timeout = self.timing.election_timeout.min(m.failover_timeout);
            if now - m.failover_start_time > timeout {
                self.event(ctx, '#', "-failover-abort-not-elected", Some((master, &Who::Master)), "");
                self.abort_failover(master, now);
            }
            return;
        }
        self.event(ctx, '#', "+elected-leader", Some((master, &Who::Master)), "");
        if self.simfailure_flags & SIMFAILURE_CRASH_AFTER_ELECTION != 0 {
            return self.simulated_crash(ctx);
        }
        let m = self.masters.get_mut(master).expect("exists");
        m.failover_state = FailoverState::SelectSlave;
        m.failover_state_change_time = now;
        self.event(ctx, '#', "+failover-state-select-slave", Some((master, &Who::Master)), "");
    }

    /// `sentinelSelectSlave`: the best candidate, in Sentinel's order.
    pub(crate) fn select_slave(&self, master: &str, now: i64) -> Option<String> {
        let m = self.masters.get(master)?;
        let mut max_down = m.down_after * 10;
        if m.inst.s_down {
            max_down += now - m.inst.s_down_since;
        }
        let validity = if m.inst.s_down { self.timing.ping_period * 5 } else { self.timing.info_period * 3 };
        let mut candidates: Vec<&Instance> = m
            .slaves
            .values()
            .filter(|s| {
                !s.s_down
                    && !s.o_down
                    && !s.link.disconnected
                    && now - s.link.last_avail_time <= self.timing.ping_period * 5
                    && s.slave_priority != 0
                    && now - s.info_refresh <= validity
                    && s.master_link_down_time <= max_down
            })
            .collect();
        candidates.sort_by(|a, b| {
            a.slave_priority.cmp(&b.slave_priority).then(b.slave_repl_offset.cmp(&a.slave_repl_offset)).then_with(
                || match (&a.runid, &b.runid) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                },
            )
        });
        candidates.first().map(|s| s.name.clone())
    }

    fn failover_select_slave(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let now = ctx.wall_clock_ms();
        match self.select_slave(master, now) {
            None => {
                self.event(ctx, '#', "-failover-abort-no-good-slave", Some((master, &Who::Master)), "");
                self.abort_failover(master, now);
            }
            Some(key) => {
                let who = Who::Slave(key.clone());
                self.event(ctx, '#', "+selected-slave", Some((master, &who)), "");
                let m = self.masters.get_mut(master).expect("exists");
                if let Some(s) = m.slaves.get_mut(&key) {
                    s.promoted = true;
                }
                m.promoted = Some(key);
                m.failover_state = FailoverState::SendSlaveofNoone;
                m.failover_state_change_time = now;
                self.event(ctx, '*', "+failover-state-send-slaveof-noone", Some((master, &who)), "");
            }
        }
    }

    fn failover_send_slaveof_noone(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let now = ctx.wall_clock_ms();
        let m = &self.masters[master];
        let Some(key) = m.promoted.clone() else { return };
        let who = Who::Slave(key.clone());
        let disconnected = m.slaves.get(&key).is_none_or(|s| s.link.disconnected);
        if disconnected {
            if now - m.failover_state_change_time > m.failover_timeout {
                self.event(ctx, '#', "-failover-abort-slave-timeout", Some((master, &Who::Master)), "");
                self.abort_failover(master, now);
            }
            return;
        }
        if !self.send_slaveof(ctx, master, &who, None) {
            return;
        }
        self.event(ctx, '*', "+failover-state-wait-promotion", Some((master, &who)), "");
        let m = self.masters.get_mut(master).expect("exists");
        m.failover_state = FailoverState::WaitPromotion;
        m.failover_state_change_time = now;
    }

    fn failover_reconf_next_slave(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let now = ctx.wall_clock_ms();
        let m = &self.masters[master];
        let Some(target) = m.promoted.as_ref().and_then(|k| m.slaves.get(k)).map(|p| (p.ip.clone(), p.port)) else {
            return;
        };
        let mut in_progress = m.slaves.values().filter(|s| s.reconf_sent || s.reconf_inprog).count();
        let keys: Vec<String> = m.slaves.keys().cloned().collect();
        let parallel = m.parallel_syncs;
        for key in keys {
            if in_progress >= parallel {
                break;
            }
            let who = Who::Slave(key.clone());
            let Some(s) = self.masters.get_mut(master).and_then(|m| m.slaves.get_mut(&key)) else { continue };
            if s.promoted || s.reconf_done {
                continue;
            }
            if s.reconf_sent && now - s.slave_reconf_sent_time > self.timing.slave_reconf_timeout {
                s.reconf_sent = false;
                s.reconf_done = true;
                self.event(ctx, '*', "-slave-reconf-sent-timeout", Some((master, &who)), "");
                continue;
            }
            let Some(s) = self.masters.get(master).and_then(|m| m.slaves.get(&key)) else { continue };
            if s.reconf_sent || s.reconf_inprog || s.link.disconnected {
                continue;
            }
            if self.send_slaveof(ctx, master, &who, Some(target.clone())) {
                let s = self.masters.get_mut(master).and_then(|m| m.slaves.get_mut(&key)).expect("exists");
                s.reconf_sent = true;
                s.slave_reconf_sent_time = now;
                self.event(ctx, '*', "+slave-reconf-sent", Some((master, &who)), "");
                in_progress += 1;
            }
        }
        self.failover_detect_end(ctx, master, target);
    }

    fn failover_detect_end(&mut self, ctx: &mut Ctx<'_>, master: &str, target: (String, u16)) {
        let now = ctx.wall_clock_ms();
        let m = &self.masters[master];
        if m.promoted.as_ref().and_then(|k| m.slaves.get(k)).is_none_or(|p| p.s_down) {
            return;
        }
        let mut not_reconfigured = m.slaves.values().filter(|s| !(s.promoted || s.reconf_done || s.s_down)).count();
        let timeout = now - m.failover_state_change_time > m.failover_timeout;
        if timeout {
            not_reconfigured = 0;
            self.event(ctx, '#', "+failover-end-for-timeout", Some((master, &Who::Master)), "");
        }
        if not_reconfigured == 0 {
            self.event(ctx, '#', "+failover-end", Some((master, &Who::Master)), "");
            let m = self.masters.get_mut(master).expect("exists");
            m.failover_state = FailoverState::UpdateConfig;
            m.failover_state_change_time = now;
        }
        if timeout {
            let keys: Vec<String> = self.masters[master].slaves.keys().cloned().collect();
            for key in keys {
                let Some(s) = self.masters[master].slaves.get(&key) else { continue };
                if s.promoted || s.reconf_done || s.reconf_sent || s.link.disconnected {
                    continue;
                }
                let who = Who::Slave(key.clone());
                if self.send_slaveof(ctx, master, &who, Some(target.clone())) {
                    self.event(ctx, '*', "+slave-reconf-sent-be", Some((master, &who)), "");
                    if let Some(s) = self.masters.get_mut(master).and_then(|m| m.slaves.get_mut(&key)) {
                        s.reconf_sent = true;
                    }
                }
            }
        }
    }

    /// `sentinelSendSlaveOf`: the reconfiguration transaction. `None` is NO ONE.
    fn send_slaveof(&mut self, ctx: &mut Ctx<'_>, master: &str, who: &Who, target: Option<(String, u16)>) -> bool {
        let Some(m) = self.masters.get_mut(master) else { return false };
        let renames = m.renamed_commands.clone();
        let Some(inst) = m.get_mut(who) else { return false };
        if inst.link.cc.is_none() || inst.link.disconnected {
            return false;
        }
        let (host, port) = target.map_or(("NO".to_owned(), "ONE".to_owned()), |(h, p)| (h, p.to_string()));
        queue(inst, &renames, &[b"MULTI".as_slice()], Pending::Discard, false);
        queue(inst, &renames, &[b"SLAVEOF".as_slice(), host.as_bytes(), port.as_bytes()], Pending::Discard, false);
        queue(inst, &renames, &[b"CONFIG".as_slice(), b"REWRITE"], Pending::Discard, false);
        for kind in [b"normal".as_slice(), b"pubsub"] {
            queue(inst, &renames, &[b"CLIENT".as_slice(), b"KILL", b"TYPE", kind], Pending::Discard, false);
        }
        queue(inst, &renames, &[b"EXEC".as_slice()], Pending::Discard, false);
        self.flush_link(ctx, master, who);
        true
    }

    fn switch_to_promoted(&mut self, ctx: &mut Ctx<'_>, master: &str) {
        let m = &self.masters[master];
        let (oip, oport) = (m.inst.ip.clone(), m.inst.port);
        let (nip, nport) =
            m.promoted.as_ref().and_then(|k| m.slaves.get(k)).map_or((oip.clone(), oport), |p| (p.ip.clone(), p.port));
        self.event(ctx, '#', "+switch-master", None, &format!("{master} {oip} {oport} {nip} {nport}"));
        self.reset_master_and_change_address(ctx, master, &nip, nport);
    }

    /// Closes every link of a master and forgets its replicas (and, unless
    /// `keep_sentinels`, the other Sentinels), as `sentinelResetMaster`.
    pub(crate) fn reset_master(&mut self, ctx: &mut Ctx<'_>, master: &str, keep_sentinels: bool) {
        let now = ctx.wall_clock_ms();
        let Some(m) = self.masters.get_mut(master) else { return };
        let mut dead: Vec<ConnId> = Vec::new();
        for s in m.slaves.values() {
            dead.extend([s.link.cc, s.link.pc].into_iter().flatten());
        }
        m.slaves.clear();
        if !keep_sentinels {
            for s in m.sentinels.values() {
                dead.extend([s.link.cc, s.link.pc].into_iter().flatten());
            }
            m.sentinels.clear();
        }
        let i = &mut m.inst;
        dead.extend([i.link.cc, i.link.pc].into_iter().flatten());
        let fresh = Instance::new(Role::Master, i.name.clone(), i.ip.clone(), i.port, now);
        let link = std::mem::replace(&mut i.link, fresh.link);
        i.link.last_reconn_time = link.last_reconn_time;
        i.s_down = false;
        i.o_down = false;
        i.master_down = false;
        i.runid = None;
        i.slave_master_host = None;
        i.role_reported = Role::Master;
        i.role_reported_time = now;
        m.leader = None;
        m.failover_in_progress = false;
        m.force_failover = false;
        m.failover_state = FailoverState::None;
        m.failover_state_change_time = 0;
        m.failover_start_time = 0;
        m.promoted = None;
        for conn in dead {
            self.links.remove(&conn);
            ctx.close(conn);
        }
    }

    /// `sentinelResetMasterAndChangeAddress`.
    fn reset_master_and_change_address(&mut self, ctx: &mut Ctx<'_>, master: &str, ip: &str, port: u16) {
        let now = ctx.wall_clock_ms();
        let Some(m) = self.masters.get(master) else { return };
        let mut replicas: Vec<(String, u16)> =
            m.slaves.values().filter(|s| !(s.ip == ip && s.port == port)).map(|s| (s.ip.clone(), s.port)).collect();
        if !(m.inst.ip == ip && m.inst.port == port) {
            replicas.push((m.inst.ip.clone(), m.inst.port));
        }
        self.reset_master(ctx, master, true);
        let m = self.masters.get_mut(master).expect("exists");
        m.inst.ip = ip.to_owned();
        m.inst.port = port;
        m.inst.s_down_since = 0;
        m.inst.o_down_since = 0;
        for (rip, rport) in replicas {
            let name = format!("{rip}:{rport}");
            let m = self.masters.get_mut(master).expect("exists");
            m.slaves.insert(name.clone(), Instance::new(Role::Slave, name.clone(), rip, rport, now));
            self.event(ctx, '*', "+slave", Some((master, &Who::Slave(name))), "");
        }
        self.flush_config(ctx);
    }
}

/// Queues a command on an instance's command (or pub/sub) link; it goes out
/// when the connection is established, or at the next flush.
/// A command renamed on the instance (`sentinel rename-command`) goes out under its new name.
fn queue<A: AsRef<[u8]>>(
    inst: &mut Instance,
    renames: &[(String, String)],
    args: &[A],
    pending: Pending,
    pubsub: bool,
) {
    let mut args: Vec<&[u8]> = args.iter().map(AsRef::as_ref).collect();
    if let Some((_, new)) = renames.iter().find(|(old, _)| old.as_bytes().eq_ignore_ascii_case(args[0])) {
        args[0] = new.as_bytes();
    }
    if pubsub {
        resp::encode_command(&args, &mut inst.link.pc_out);
    } else {
        resp::encode_command(&args, &mut inst.link.cc_out);
        inst.link.cc_pending.push_back(pending);
    }
}

fn send_ping(inst: &mut Instance, renames: &[(String, String)], now: i64) {
    queue(inst, renames, &[b"PING".as_slice()], Pending::Ping, false);
    inst.link.last_ping_time = now;
    if inst.link.act_ping_time == 0 {
        inst.link.act_ping_time = now;
    }
}

/// `ctime()` without the newline: `Sat Nov 21 11:08:08 2026` (UTC).
fn ctime(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let line = common::log::line(0, 'X', secs * 1000, '#', "");
    // "0:X 21 Nov 2026 11:08:08.000 # " → day, month, year, time.
    let parts: Vec<&str> = line.split(' ').collect();
    let (day, month, year, time) = (parts[1], parts[2], parts[3], &parts[4][..8]);
    let weekday = DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize];
    let day: u32 = day.parse().unwrap_or(0);
    format!("{weekday} {month} {day:>2} {time} {year}")
}

impl Process for Sentinel {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            // It writes with `send`, never short: no `Writable` comes.
            Input::Writable { .. } => {}
            Input::Start => self.start(ctx),
            // The signal handler only schedules the shutdown; serverCron runs it.
            Input::Shutdown => {
                let msg = format!("{}:signal-handler ({}) Received SIGTERM scheduling shutdown...", self.pid, {
                    ctx.wall_clock_ms() / 1000
                });
                ctx.log(msg);
                ctx.defer_exit();
                self.shutdown_asap = true;
            }
            Input::Accepted { conn, local_port, peer } => self.accept(ctx, conn, local_port, peer),
            Input::Connected { conn } => self.on_connected(ctx, conn),
            Input::ConnectFailed { conn, .. } => self.link_lost(ctx, conn, false),
            Input::Data { conn, bytes } => match ConnOwner::from_tag(ctx.conn_tag(conn)) {
                ConnOwner::Link => {
                    debug_assert!(self.links.contains_key(&conn), "a tagged link is in the link table");
                    self.on_link_data(ctx, conn, bytes);
                }
                ConnOwner::Client => self.on_client_data(ctx, conn, bytes),
            },
            // The kernel has freed the connection, and its tag, before it
            // reports the close: the table says whose it was.
            Input::Closed { conn, .. } => {
                if self.links.contains_key(&conn) {
                    self.link_lost(ctx, conn, false);
                } else {
                    self.clients.remove(&conn);
                    self.pubsub.remove_client(conn);
                }
            }
            Input::Timer { id, tag } => match Timer::from_tag(tag) {
                Some(Timer::Tick) => self.tick(ctx),
                None => unreachable!("sentinel: timer {id:?} has tag {tag}, which names no timer"),
            },
        }
        if ctx.observing() {
            self.publish_master_addrs(ctx);
        }
    }
}
