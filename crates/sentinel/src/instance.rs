//! What a Sentinel knows about each instance it monitors (sentinel.c's
//! `sentinelRedisInstance` and `instanceLink`): masters with their replicas and
//! the other Sentinels, link timings, flags, what INFO last said.

use crate::config::MasterConf;
use resp::ReplyDecoder;
use sim::ConnId;
use std::collections::{BTreeMap, VecDeque};

/// An instance's kind, and the role an INFO reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A monitored master.
    Master,
    /// A replica.
    Slave,
    /// Another Sentinel.
    Sentinel,
}

/// Which instance of a master: the master itself, a replica (`ip:port`) or a
/// Sentinel (run id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Who {
    Master,
    Slave(String),
    Sentinel(String),
}

/// `SENTINEL_FAILOVER_STATE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailoverState {
    /// No failover.
    None,
    /// Waiting to be elected.
    WaitStart,
    /// Choosing a replica.
    SelectSlave,
    /// Sending SLAVEOF NO ONE.
    SendSlaveofNoone,
    /// Waiting for the replica to report `role:master`.
    WaitPromotion,
    /// Pointing the other replicas at the new master.
    ReconfSlaves,
    /// Done: switch to the promoted replica.
    UpdateConfig,
}

impl FailoverState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// What a reply on the command link answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pending {
    Ping,
    Info,
    Publish,
    IsMasterDown,
    Discard,
}

/// The command and pub/sub connections to one instance and their timings
/// (`instanceLink`). Times are the Sentinel's wall clock in ms, as `mstime()`.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) cc: Option<ConnId>,
    pub(crate) cc_open: bool,
    /// Commands written before the connection was established (hiredis buffers them).
    pub(crate) cc_out: Vec<u8>,
    pub(crate) cc_pending: VecDeque<Pending>,
    pub(crate) cc_decoder: ReplyDecoder,
    pub(crate) pc: Option<ConnId>,
    pub(crate) pc_open: bool,
    pub(crate) pc_out: Vec<u8>,
    pub(crate) pc_decoder: ReplyDecoder,
    pub(crate) disconnected: bool,
    pub(crate) cc_conn_time: i64,
    pub(crate) pc_conn_time: i64,
    pub(crate) pc_last_activity: i64,
    pub(crate) last_avail_time: i64,
    /// When the oldest unanswered PING was sent; 0 when none is outstanding.
    pub(crate) act_ping_time: i64,
    pub(crate) last_ping_time: i64,
    pub(crate) last_pong_time: i64,
    pub(crate) last_reconn_time: i64,
}

impl Link {
    fn new(now: i64) -> Link {
        Link {
            cc: None,
            cc_open: false,
            cc_out: Vec::new(),
            cc_pending: VecDeque::new(),
            cc_decoder: ReplyDecoder::default(),
            pc: None,
            pc_open: false,
            pc_out: Vec::new(),
            pc_decoder: ReplyDecoder::default(),
            disconnected: true,
            cc_conn_time: 0,
            pc_conn_time: 0,
            pc_last_activity: 0,
            last_avail_time: now,
            act_ping_time: now,
            last_ping_time: 0,
            last_pong_time: now,
            last_reconn_time: i64::MIN / 2,
        }
    }
}

/// One monitored instance.
#[derive(Debug)]
pub(crate) struct Instance {
    pub(crate) role: Role,
    /// Master name, `ip:port` for a replica, run id for a Sentinel.
    pub(crate) name: String,
    pub(crate) runid: Option<String>,
    pub(crate) ip: String,
    pub(crate) port: u16,
    pub(crate) s_down: bool,
    pub(crate) o_down: bool,
    pub(crate) master_down: bool,
    pub(crate) promoted: bool,
    pub(crate) reconf_sent: bool,
    pub(crate) reconf_inprog: bool,
    pub(crate) reconf_done: bool,
    pub(crate) link: Link,
    pub(crate) last_pub_time: i64,
    pub(crate) last_hello_time: i64,
    pub(crate) last_master_down_reply_time: i64,
    pub(crate) s_down_since: i64,
    pub(crate) o_down_since: i64,
    pub(crate) info_refresh: i64,
    /// The last INFO reply, as SENTINEL INFO-CACHE gives it back.
    pub(crate) info: String,
    pub(crate) role_reported: Role,
    pub(crate) role_reported_time: i64,
    pub(crate) slave_conf_change_time: i64,
    pub(crate) master_link_down_time: i64,
    pub(crate) slave_priority: u64,
    pub(crate) slave_reconf_sent_time: i64,
    pub(crate) slave_master_host: Option<String>,
    pub(crate) slave_master_port: u16,
    pub(crate) slave_master_link_up: bool,
    pub(crate) slave_repl_offset: u64,
    pub(crate) replica_announced: bool,
    /// For a Sentinel: whom it voted for, and in which epoch.
    pub(crate) leader: Option<String>,
    pub(crate) leader_epoch: u64,
}

impl Instance {
    pub(crate) fn new(role: Role, name: String, ip: String, port: u16, now: i64) -> Instance {
        Instance {
            role,
            name,
            runid: None,
            ip,
            port,
            s_down: false,
            o_down: false,
            master_down: false,
            promoted: false,
            reconf_sent: false,
            reconf_inprog: false,
            reconf_done: false,
            link: Link::new(now),
            last_pub_time: now,
            last_hello_time: now,
            last_master_down_reply_time: now,
            s_down_since: 0,
            o_down_since: 0,
            info_refresh: 0,
            info: String::new(),
            role_reported: if role == Role::Sentinel { Role::Master } else { role },
            role_reported_time: now,
            slave_conf_change_time: now,
            master_link_down_time: 0,
            slave_priority: 100,
            slave_reconf_sent_time: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_repl_offset: 0,
            replica_announced: true,
            leader: None,
            leader_epoch: 0,
        }
    }

    /// Whether nothing put it down for `ms` (`sentinelRedisInstanceNoDownFor`).
    pub(crate) fn no_down_for(&self, now: i64, ms: i64) -> bool {
        let most_recent = self.s_down_since.max(self.o_down_since);
        most_recent == 0 || now - most_recent > ms
    }

    /// The `flags` field of SENTINEL MASTER/REPLICAS/SENTINELS, in Redis's order.
    pub(crate) fn flags(&self, failover_in_progress: bool) -> String {
        let mut f: Vec<&str> = Vec::new();
        let pairs = [
            (self.s_down, "s_down"),
            (self.o_down, "o_down"),
            (self.role == Role::Master, "master"),
            (self.role == Role::Slave, "slave"),
            (self.role == Role::Sentinel, "sentinel"),
            (self.link.disconnected, "disconnected"),
            (self.master_down, "master_down"),
            (failover_in_progress, "failover_in_progress"),
            (self.promoted, "promoted"),
            (self.reconf_sent, "reconf_sent"),
            (self.reconf_inprog, "reconf_inprog"),
            (self.reconf_done, "reconf_done"),
        ];
        for (on, name) in pairs {
            if on {
                f.push(name);
            }
        }
        f.join(",")
    }
}

/// A monitored master with everything that hangs off it.
#[derive(Debug)]
pub(crate) struct Master {
    pub(crate) inst: Instance,
    pub(crate) quorum: usize,
    pub(crate) down_after: i64,
    pub(crate) failover_timeout: i64,
    pub(crate) parallel_syncs: usize,
    pub(crate) auth_pass: Option<String>,
    pub(crate) auth_user: Option<String>,
    pub(crate) master_reboot_down_after: i64,
    /// When the master was seen rebooted with master-reboot-down-after-period
    /// set, until its first PONG (SRI_MASTER_REBOOT).
    pub(crate) rebooted_since: Option<i64>,
    /// `rename-command`: what to send instead of a command, for the master and
    /// everything under it (`sentinelInstanceMapCommand`).
    pub(crate) renamed_commands: Vec<(String, String)>,
    pub(crate) config_epoch: u64,
    /// Whom I voted for as leader, and in which epoch.
    pub(crate) leader: Option<String>,
    pub(crate) leader_epoch: u64,
    pub(crate) failover_epoch: u64,
    pub(crate) failover_in_progress: bool,
    pub(crate) force_failover: bool,
    pub(crate) failover_state: FailoverState,
    pub(crate) failover_state_change_time: i64,
    pub(crate) failover_start_time: i64,
    pub(crate) failover_delay_logged: i64,
    /// The replica chosen for promotion (`ip:port`).
    pub(crate) promoted: Option<String>,
    pub(crate) slaves: BTreeMap<String, Instance>,
    pub(crate) sentinels: BTreeMap<String, Instance>,
}

impl Master {
    pub(crate) fn from_conf(c: &MasterConf, now: i64) -> Master {
        let mut m = Master {
            inst: Instance::new(Role::Master, c.name.clone(), c.ip.clone(), c.port, now),
            quorum: c.quorum,
            down_after: c.down_after,
            failover_timeout: c.failover_timeout,
            parallel_syncs: c.parallel_syncs,
            auth_pass: c.auth_pass.clone(),
            auth_user: c.auth_user.clone(),
            master_reboot_down_after: c.master_reboot_down_after,
            rebooted_since: None,
            renamed_commands: c.renamed_commands.clone(),
            config_epoch: c.config_epoch,
            leader: None,
            leader_epoch: c.leader_epoch,
            failover_epoch: 0,
            failover_in_progress: false,
            force_failover: false,
            failover_state: FailoverState::None,
            failover_state_change_time: 0,
            failover_start_time: 0,
            failover_delay_logged: 0,
            promoted: None,
            slaves: BTreeMap::new(),
            sentinels: BTreeMap::new(),
        };
        for (ip, port) in &c.known_replicas {
            let name = format!("{ip}:{port}");
            m.slaves.insert(name.clone(), Instance::new(Role::Slave, name, ip.clone(), *port, now));
        }
        for (ip, port, id) in &c.known_sentinels {
            let mut s = Instance::new(Role::Sentinel, id.clone(), ip.clone(), *port, now);
            s.runid = Some(id.clone());
            m.sentinels.insert(id.clone(), s);
        }
        m
    }

    pub(crate) fn get(&self, who: &Who) -> Option<&Instance> {
        match who {
            Who::Master => Some(&self.inst),
            Who::Slave(k) => self.slaves.get(k),
            Who::Sentinel(k) => self.sentinels.get(k),
        }
    }

    pub(crate) fn get_mut(&mut self, who: &Who) -> Option<&mut Instance> {
        match who {
            Who::Master => Some(&mut self.inst),
            Who::Slave(k) => self.slaves.get_mut(k),
            Who::Sentinel(k) => self.sentinels.get_mut(k),
        }
    }

    /// `%@` of sentinelEvent: `master <name> <ip> <port>`, or for others
    /// `<type> <name> <ip> <port> @ <master> <ip> <port>`.
    pub(crate) fn describe(&self, who: &Who) -> Option<String> {
        let i = self.get(who)?;
        let kind = match i.role {
            Role::Master => "master",
            Role::Slave => "slave",
            Role::Sentinel => "sentinel",
        };
        let mut s = format!("{kind} {} {} {}", i.name, i.ip, i.port);
        if *who != Who::Master {
            s.push_str(&format!(" @ {} {} {}", self.inst.name, self.inst.ip, self.inst.port));
        }
        Some(s)
    }

    /// The address clients should use: the promoted replica's once the
    /// failover reached RECONF_SLAVES (`sentinelGetCurrentMasterAddress`).
    pub(crate) fn current_addr(&self) -> (String, u16) {
        if self.failover_in_progress
            && self.failover_state >= FailoverState::ReconfSlaves
            && let Some(p) = self.promoted.as_ref().and_then(|k| self.slaves.get(k))
        {
            return (p.ip.clone(), p.port);
        }
        (self.inst.ip.clone(), self.inst.port)
    }

    /// `sentinelMasterLooksSane`.
    pub(crate) fn looks_sane(&self, now: i64, info_period: i64) -> bool {
        self.inst.role_reported == Role::Master
            && !self.inst.s_down
            && !self.inst.o_down
            && now - self.inst.info_refresh < info_period * 2
    }
}
