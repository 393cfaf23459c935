//! The harness the lab's tests drive servers with: Redis servers on one
//! simulated host and one redis-cli process per command, as a shell would run
//! them. (The `redis` crate's own tests have the same shape in `tests_repl`;
//! they cannot share one because node tests must not see the lab.)

use redis::server::Server;
use redis_client::cli::RedisCli;
use sim::{Fault, HostId, Sim, SimConfig};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

pub(crate) struct Cluster {
    pub(crate) sim: Sim,
    host: HostId,
    clients: u32,
}

impl Cluster {
    pub(crate) fn new(seed: u64) -> Cluster {
        let mut sim = Sim::new(SimConfig { seed, record_trace: true, ..SimConfig::default() });
        let host = sim.add_host("localhost", Ipv4Addr::LOCALHOST);
        Cluster { sim, host, clients: 0 }
    }

    /// Adds and starts a server on `port` with the given redis.conf text.
    pub(crate) fn server(&mut self, port: u16, conf: &str) -> sim::ProcId {
        let config = redis::config::parse(conf, port).expect("valid test config");
        let factory: sim::Factory = Box::new(move || Box::new(Server::new(config.clone())));
        let p = self.sim.add_process(self.host, &port.to_string(), factory);
        self.sim.apply(Fault::Start(p)).unwrap();
        p
    }

    /// One redis-cli invocation; the printed reply.
    pub(crate) fn cli(&mut self, port: u16, line: &str) -> String {
        self.cli_auth(port, None, line)
    }

    /// One `redis-cli -a` invocation, given a virtual second to answer.
    pub(crate) fn cli_auth(&mut self, port: u16, auth: Option<&str>, line: &str) -> String {
        let args = resp::split_args(line.as_bytes()).unwrap();
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        self.clients += 1;
        let auth = auth.map(str::to_owned);
        let factory: sim::Factory = Box::new(move || Box::new(RedisCli::new(addr, auth.clone(), args.clone())));
        let p = self.sim.add_process(self.host, &format!("cli{}", self.clients), factory);
        self.sim.apply(Fault::Start(p)).unwrap();
        for _ in 0..1000 {
            self.sim.run_for(Duration::from_millis(1));
            if let Some(out) = self.sim.process::<RedisCli>(p).and_then(|c| c.output.clone()) {
                return out;
            }
        }
        panic!("no reply to {line}")
    }
}
