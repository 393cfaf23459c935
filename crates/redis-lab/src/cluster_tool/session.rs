//! redis-cli's cluster manager is a synchronous program: it sends one command
//! to one node and blocks for the reply. A [`Session`] gives the manager that
//! shape over the kernel: each call sends through the [`ToolClient`] process
//! and runs the world, through a [`Driver`], from one event to the next until
//! the reply arrives, the connection fails, or the I/O timeout passes.

use super::client::{LinkState, ToolClient};
use resp::Value;
use scenario::RunError;
use sim::{Instant, ProcId, Sim};
use std::net::SocketAddrV4;
use std::time::Duration;

/// What lets the manager's synchronous code make time pass.
pub trait Driver {
    /// The world.
    fn sim(&mut self) -> &mut Sim;
    /// Runs the world up to `until`, with whatever else must happen meanwhile
    /// (a scenario's timed faults and invariants).
    fn run_to(&mut self, until: Instant) -> Result<(), RunError>;
}

impl Driver for Sim {
    fn sim(&mut self) -> &mut Sim {
        self
    }

    fn run_to(&mut self, until: Instant) -> Result<(), RunError> {
        self.run_until(until);
        Ok(())
    }
}

/// A failed command: what redis-cli printed is already in the output.
#[derive(Debug)]
pub struct Failed;

pub(super) type Res<T> = Result<T, Failed>;

/// Where redis-cli's output goes, with the connections it uses.
pub(super) struct Session<'d> {
    pub(super) driver: &'d mut dyn Driver,
    pub(super) tool: ProcId,
    pub(super) out: Vec<String>,
    pub(super) partial: Option<String>,
    /// How long one reply may take before redis-cli gives up on the node.
    pub(super) io_timeout: Duration,
    /// When the whole program is given up (the step's timeout).
    pub(super) deadline: Instant,
    pub(super) password: Option<String>,
    /// What stopped the world while the tool waited (a broken invariant, a
    /// timed fault that failed): the step fails with it, not with the tool's exit.
    pub(super) interrupted: Option<RunError>,
}

impl Session<'_> {
    pub(super) fn print(&mut self, line: impl Into<String>) {
        let line = line.into();
        match self.partial.take() {
            Some(p) => self.out.push(p + &line),
            None => self.out.push(line),
        }
    }

    /// Text without a newline yet (`printf` without `\n`).
    pub(super) fn print_partial(&mut self, text: &str) {
        self.partial.get_or_insert_with(String::new).push_str(text);
    }

    pub(super) fn newline(&mut self) {
        let p = self.partial.take().unwrap_or_default();
        self.out.push(p);
    }

    pub(super) fn rand(&mut self) -> u32 {
        self.driver
            .sim()
            .with_process::<ToolClient, _>(self.tool, |_, ctx| ctx.rng().below(1 << 31) as u32)
            .unwrap_or(0)
    }

    pub(super) fn sleep(&mut self, d: Duration) -> Res<()> {
        let until = self.driver.sim().now() + d;
        if until > self.deadline {
            return Err(self.abort("the step's timeout passed".to_owned()));
        }
        self.driver.run_to(until).map_err(|e| self.interrupt(e))
    }

    pub(super) fn abort(&mut self, e: String) -> Failed {
        self.print(format!("Error: {e}"));
        Failed
    }

    /// The world stopped the program: printed as an error, kept for the step.
    pub(super) fn interrupt(&mut self, e: RunError) -> Failed {
        let failed = self.abort(e.to_string());
        self.interrupted.get_or_insert(e);
        failed
    }

    /// Runs the world until `ready` holds for the client, or the I/O timeout.
    pub(super) fn wait(&mut self, mut ready: impl FnMut(&ToolClient) -> bool) -> Result<bool, Failed> {
        let deadline = (self.driver.sim().now() + self.io_timeout).min(self.deadline);
        loop {
            let sim = self.driver.sim();
            match sim.process::<ToolClient>(self.tool) {
                Some(t) if ready(t) => return Ok(true),
                Some(_) => {}
                None => return Err(self.abort("redis-cli is not running".to_owned())),
            }
            let now = sim.now();
            if now >= deadline {
                return Ok(false);
            }
            let next = sim.next_event_at().map_or(deadline, |t| t.min(deadline)).max(now);
            // Nothing scheduled before the deadline: jump there.
            let next = if next == now && sim.next_event_at().is_none() { deadline } else { next };
            self.driver.run_to(next).map_err(|e| self.interrupt(e))?;
        }
    }

    /// `clusterManagerNodeConnect`: a connection to `addr`, authenticated with `-a`.
    pub(super) fn connect(&mut self, addr: SocketAddrV4) -> Res<()> {
        let up = |t: &ToolClient| t.links.get(&addr).is_some_and(|l| matches!(l.state, LinkState::Up));
        if self.driver.sim().process::<ToolClient>(self.tool).is_some_and(up) {
            return Ok(());
        }
        self.driver.sim().with_process::<ToolClient, _>(self.tool, |t, ctx| t.open(ctx, addr));
        let settled = |t: &ToolClient| t.links.get(&addr).is_none_or(|l| !matches!(l.state, LinkState::Connecting));
        let done = self.wait(settled)?;
        let state = self.driver.sim().process::<ToolClient>(self.tool).and_then(|t| {
            t.links.get(&addr).map(|l| match &l.state {
                LinkState::Up => None,
                LinkState::Down(why) => Some(why.clone()),
                LinkState::Connecting => Some("Connection timed out".to_owned()),
            })
        });
        match (done, state.flatten()) {
            (true, None) => {}
            (_, why) => {
                let why = why.unwrap_or_else(|| "Connection timed out".to_owned());
                self.print(format!("Could not connect to Redis at {}:{}: {why}", addr.ip(), addr.port()));
                return Err(Failed);
            }
        }
        if let Some(pass) = self.password.clone() {
            // redis-cli warns and carries on when AUTH fails.
            if let Ok(Value::Error(e)) = self.call(addr, &["AUTH", &pass]) {
                self.print(format!("Warning: AUTH failed: {e}"));
            }
        }
        Ok(())
    }

    /// One command and its reply; `Err` if the connection failed (printed as hiredis reports it).
    pub(super) fn call<A: AsRef<[u8]>>(&mut self, addr: SocketAddrV4, args: &[A]) -> Result<Value, Failed> {
        self.call_encoded(addr, |buf| resp::encode_command(args, buf))
    }

    /// [`Session::call`] of the command `encode` writes, exactly as
    /// [`resp::encode_command`] would write its arguments (a big command
    /// written in one pass, without a list of its arguments).
    pub(super) fn call_encoded(
        &mut self,
        addr: SocketAddrV4,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Value, Failed> {
        let connected = self
            .driver
            .sim()
            .process::<ToolClient>(self.tool)
            .is_some_and(|t| t.links.get(&addr).is_some_and(|l| matches!(l.state, LinkState::Up)));
        if !connected {
            self.connect(addr)?;
        }
        self.driver.sim().with_process::<ToolClient, _>(self.tool, |t, ctx| {
            if let Some(l) = t.links.get(&addr) {
                ctx.send_with(l.conn, encode);
            }
        });
        let arrived = |t: &ToolClient| {
            t.links.get(&addr).is_none_or(|l| !l.replies.is_empty() || matches!(l.state, LinkState::Down(_)))
        };
        let done = self.wait(arrived)?;
        let reply = self
            .driver
            .sim()
            .with_process::<ToolClient, _>(self.tool, |t, _| t.links.get_mut(&addr).and_then(|l| l.replies.pop_front()))
            .flatten();
        match reply {
            Some(v) => Ok(v),
            None => {
                let why = if done { "Server closed the connection" } else { "I/O error" };
                self.print(format!("Error: {why} ({}:{})", addr.ip(), addr.port()));
                Err(Failed)
            }
        }
    }
}
