//! The simulated side: `redis::server::Server` processes in an in-process
//! `sim::Sim` on 127.0.0.1, and a driver process that holds the client
//! connections, sends raw RESP and keeps the raw bytes it receives.

use super::target::{Conn, Reply, Signal, Target, whole_reply};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use redis::server::Server;
use redis_lab::cluster_tool::ToolClient;
use sim::{ConnId, Ctx, Fault, HostId, Input, ProcId, Process, Sim, SimConfig};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// Virtual time a reply may take (WAIT and DEBUG SLEEP cases stay well below).
const REPLY_LIMIT: Duration = Duration::from_secs(15);
const TICK: Duration = Duration::from_millis(1);

/// One client connection of the driver.
#[derive(Default)]
struct Link {
    conn: Option<ConnId>,
    connected: bool,
    failed: bool,
    closed: bool,
    received: Vec<u8>,
}

/// The client side: connections opened and fed from outside, bytes kept as received.
#[derive(Default)]
struct Driver {
    links: Vec<Link>,
}

impl Driver {
    fn link(&mut self, conn: ConnId) -> Option<&mut Link> {
        self.links.iter_mut().find(|l| l.conn == Some(conn))
    }
}

impl Process for Driver {
    fn handle(&mut self, _ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Connected { conn } => {
                if let Some(l) = self.link(conn) {
                    l.connected = true;
                }
            }
            Input::ConnectFailed { conn, .. } => {
                if let Some(l) = self.link(conn) {
                    l.failed = true;
                }
            }
            Input::Data { conn, bytes } => {
                if let Some(l) = self.link(conn) {
                    l.received.extend_from_slice(bytes);
                }
            }
            Input::Closed { conn, .. } => {
                if let Some(l) = self.link(conn) {
                    l.closed = true;
                }
            }
            _ => {}
        }
    }
}

/// The simulator with Redis servers added on demand.
pub struct Simulated {
    /// The kernel (public so cases can read a server's state directly).
    pub sim: Sim,
    host: HostId,
    driver: ProcId,
    servers: BTreeMap<u16, ProcId>,
    /// redis-cli processes started so far (each gets its own name).
    tools: usize,
}

impl Simulated {
    /// An empty localhost with the driver running. The wall clock starts at a
    /// seed-drawn millisecond within its second: a real run starts at any phase
    /// of the wall-clock second, and Redis Cluster's gossip carries pong times in
    /// whole seconds, so that phase moves when peers ping a node (and so failure
    /// detection); a fixed phase would give every seed the same one.
    pub fn new(seed: u64) -> Simulated {
        let phase = ChaCha8Rng::seed_from_u64(seed).next_u64() % 1000;
        let epoch_ms = SimConfig::default().epoch_ms + phase as i64;
        let mut sim = Sim::new(SimConfig { seed, epoch_ms, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        let driver = sim.add_process(host, "fidelity-driver", Box::new(|| Box::new(Driver::default())));
        sim.apply(Fault::Start(driver)).expect("a fresh process starts");
        Simulated { sim, host, driver, servers: BTreeMap::new(), tools: 0 }
    }

    /// Runs in ticks until `p` listens (its start-up time is over), as the
    /// real side polls until the server answers; 2 s at most.
    fn await_listening(&mut self, p: ProcId) {
        for _ in 0..2000 {
            self.sim.run_for(TICK);
            if self.sim.is_listening(p) || self.sim.proc_state(p) == sim::ProcState::Down {
                return;
            }
        }
    }

    fn server(&self, port: u16) -> Result<ProcId, String> {
        self.servers.get(&port).copied().ok_or_else(|| format!("no simulated server on port {port}"))
    }

    fn link<R>(&mut self, conn: Conn, f: impl FnOnce(&mut Link) -> R) -> R {
        self.sim.with_process::<Driver, _>(self.driver, |d, _| f(&mut d.links[conn.0])).expect("the driver never stops")
    }
}

impl Target for Simulated {
    fn start(&mut self, port: u16, conf: &str) -> Result<(), String> {
        if self.servers.contains_key(&port) {
            return Err(format!("port {port} already has a simulated server"));
        }
        let config = redis::config::parse(conf, port).map_err(|errs| {
            let lines: Vec<String> = errs.iter().map(|(line, e)| format!("line {}: {e}", line + 1)).collect();
            format!("the simulator refuses this config: {}", lines.join("; "))
        })?;
        let p =
            self.sim.add_process(self.host, &port.to_string(), Box::new(move || Box::new(Server::new(config.clone()))));
        self.sim.apply(Fault::Start(p)).map_err(|e| e.to_string())?;
        self.servers.insert(port, p);
        // A real server is ready when `start` returns; give the simulated one its start-up.
        self.await_listening(p);
        Ok(())
    }

    fn start_sentinel(&mut self, port: u16, conf: &str) -> Result<(), String> {
        if self.servers.contains_key(&port) {
            return Err(format!("port {port} already has a simulated process"));
        }
        let config = sentinel::config::parse(conf, port).map_err(|errs| {
            let lines: Vec<String> = errs.iter().map(|(line, e)| format!("line {}: {e}", line + 1)).collect();
            format!("the simulated sentinel refuses this config: {}", lines.join("; "))
        })?;
        let p = self.sim.add_process(
            self.host,
            &port.to_string(),
            Box::new(move || Box::new(sentinel::sentinel::Sentinel::new(config.clone()))),
        );
        self.sim.apply(Fault::Start(p)).map_err(|e| e.to_string())?;
        self.servers.insert(port, p);
        self.sim.run_for(Duration::from_millis(1));
        Ok(())
    }

    fn create_cluster(&mut self, ports: &[u16], replicas: usize) -> Result<(), String> {
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let line = format!("create {} --cluster-replicas {replicas} --cluster-yes", addrs.join(" "));
        let command = redis_lab::cluster_tool::parse_command(&line)?;
        self.tools += 1;
        let name = format!("redis-cli-{}", self.tools);
        let tool = self.sim.add_process(self.host, &name, Box::new(|| Box::new(ToolClient::default())));
        self.sim.apply(Fault::Start(tool)).map_err(|e| e.to_string())?;
        let outcome = redis_lab::cluster_tool::run(&mut self.sim, tool, &command, None, Duration::from_secs(60));
        let (printed, ok) = (outcome.lines, outcome.ok);
        self.sim.apply(Fault::Kill(tool)).map_err(|e| e.to_string())?;
        if ok { Ok(()) } else { Err(format!("redis-cli --cluster {line} failed: {}", printed.join(" / "))) }
    }

    fn now_ms(&mut self) -> f64 {
        self.sim.now().since_start().as_secs_f64() * 1000.0
    }

    fn restart(&mut self, port: u16) -> Result<(), String> {
        let p = self.server(port)?;
        self.sim.apply(Fault::Start(p)).map_err(|e| e.to_string())?;
        self.await_listening(p);
        Ok(())
    }

    fn signal(&mut self, port: u16, signal: Signal) -> Result<(), String> {
        let p = self.server(port)?;
        if signal == Signal::Term {
            // As the real side: wait (10 s at most) for the shutdown to end.
            return match self.sim.stop_within(p, Duration::from_secs(10)) {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!("port {port} did not exit within 10 s of -TERM")),
                Err(e) => Err(e.to_string()),
            };
        }
        // A real harness's write on loopback is in the peer's socket before
        // send() returns, so a signal sent after it finds it there; here the
        // write takes the loopback's latency, so let it land first.
        let landed = match sim::LinkConfig::LOOPBACK.latency {
            sim::Latency::Fixed(d) => d,
            sim::Latency::Uniform { max, .. } => max,
        };
        self.sim.run_for(landed + Duration::from_micros(1));
        let fault = match signal {
            Signal::Kill => Fault::Kill(p),
            Signal::Term => Fault::Stop(p),
            Signal::Stop => Fault::Pause(p),
            Signal::Cont => Fault::Resume(p),
        };
        self.sim.apply(fault).map_err(|e| e.to_string())
    }

    fn connect(&mut self, port: u16) -> Result<Conn, String> {
        let target = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        let index = self
            .sim
            .with_process::<Driver, _>(self.driver, |d, ctx| {
                let conn = ctx.connect(target);
                d.links.push(Link { conn: Some(conn), ..Link::default() });
                d.links.len() - 1
            })
            .ok_or("the driver is not running")?;
        let conn = Conn(index);
        for _ in 0..1000 {
            let (ok, failed) = self.link(conn, |l| (l.connected, l.failed || l.closed));
            if ok {
                return Ok(conn);
            }
            if failed {
                return Err(format!("connect to {port}: refused"));
            }
            self.sim.run_for(TICK);
        }
        Err(format!("connect to {port}: no answer within 1 virtual s"))
    }

    fn call(&mut self, conn: Conn, args: &[Vec<u8>]) -> Result<Reply, String> {
        let mut out = Vec::new();
        resp::encode_command(args, &mut out);
        let id = self.link(conn, |l| {
            l.received.clear();
            l.conn
        });
        let id = id.ok_or("no such connection")?;
        self.sim.with_process::<Driver, _>(self.driver, |_, ctx| ctx.send(id, &out));
        let ticks = REPLY_LIMIT.as_millis() / TICK.as_millis();
        for _ in 0..ticks {
            self.sim.run_for(TICK);
            let (raw, closed) = self.link(conn, |l| (l.received.clone(), l.closed));
            if whole_reply(&raw)? {
                // What `received` returns next starts after this reply.
                self.link(conn, |l| l.received.clear());
                return Ok(Reply { raw });
            }
            if closed {
                return Err(format!("connection closed after {} bytes", raw.len()));
            }
        }
        Err(format!("no whole reply within {REPLY_LIMIT:?} (virtual)"))
    }

    fn sleep(&mut self, d: Duration) {
        self.sim.run_for(d);
    }

    fn send(&mut self, conn: Conn, args: &[Vec<u8>]) -> Result<(), String> {
        let mut out = Vec::new();
        resp::encode_command(args, &mut out);
        let id = self.link(conn, |l| l.conn).ok_or("no such connection")?;
        self.sim
            .with_process::<Driver, _>(self.driver, |_, ctx| ctx.send(id, &out))
            .ok_or_else(|| "the driver is not running".to_owned())
    }

    fn received(&mut self, conn: Conn) -> Result<Vec<u8>, String> {
        let (raw, closed) = self.link(conn, |l| (std::mem::take(&mut l.received), l.closed));
        if raw.is_empty() && closed { Err("connection closed".into()) } else { Ok(raw) }
    }

    fn cuttable(&mut self, port: u16, _via: u16) -> Result<u16, String> {
        Ok(port)
    }

    fn cut(&mut self, port: u16, others: &[u16], cut: bool) -> Result<(), String> {
        if !cut {
            return self.sim.apply(Fault::Heal).map_err(|e| e.to_string());
        }
        // Both directions between the server and the others; the driver is in
        // neither list, so its connections stay up.
        let one = vec![sim::Endpoint::Process(self.server(port)?)];
        let rest = others.iter().map(|&p| self.server(p).map(sim::Endpoint::Process)).collect::<Result<Vec<_>, _>>()?;
        self.sim.apply(Fault::PartitionOneWay { from: one.clone(), to: rest.clone() }).map_err(|e| e.to_string())?;
        self.sim.apply(Fault::PartitionOneWay { from: rest, to: one }).map_err(|e| e.to_string())
    }

    fn log(&mut self, port: u16) -> Vec<String> {
        let Ok(p) = self.server(port) else { return Vec::new() };
        self.sim.log_lines(p).iter().filter_map(|l| super::real::strip_log_prefix(l)).map(str::to_owned).collect()
    }
}
