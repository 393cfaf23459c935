//! `costs:`, at the top of a scenario and on a node: the time a node's work
//! takes (CPU per command, per socket read, per MiB, per cluster bus message;
//! start-up time; load time per MiB of RDB/AOF; fsync), each overriding the
//! kind's measured default. A node's own `costs:` overrides the scenario's.
//! Redis nodes honour them (see `redis::costs::Costs`); other kinds refuse them.

use crate::diag::Diagnostic;
use crate::yaml::Node;
use std::time::Duration;

/// The keys of a `costs:` mapping.
pub const COST_KEYS: &[&str] = &["command", "read", "per-mib", "bus-message", "startup", "load-per-mib", "fsync"];

const STARTUP_FORMS: &str = "write one duration (`startup: 10ms`) or the range each start draws from, \
                             least first (`startup: [8ms, 16ms]`)";

/// Time costs as a scenario sets them; `None` keeps the kind's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Costs {
    /// CPU per command run.
    pub command: Option<Duration>,
    /// CPU per read of a socket.
    pub read: Option<Duration>,
    /// CPU per MiB read or written.
    pub per_mib: Option<Duration>,
    /// CPU per cluster bus message read or sent.
    pub bus_message: Option<Duration>,
    /// Start-up time, drawn in `0..=1` at each start.
    pub startup: Option<(Duration, Duration)>,
    /// Load time per MiB of RDB or AOF at start.
    pub load_per_mib: Option<Duration>,
    /// An fsync the main thread waits for.
    pub fsync: Option<Duration>,
}

impl Costs {
    /// These costs, with `base`'s where these set none.
    pub fn over(self, base: Costs) -> Costs {
        Costs {
            command: self.command.or(base.command),
            read: self.read.or(base.read),
            per_mib: self.per_mib.or(base.per_mib),
            bus_message: self.bus_message.or(base.bus_message),
            startup: self.startup.or(base.startup),
            load_per_mib: self.load_per_mib.or(base.load_per_mib),
            fsync: self.fsync.or(base.fsync),
        }
    }

    /// Whether any cost is set.
    pub fn is_set(&self) -> bool {
        *self != Costs::default()
    }
}

/// Reads a `costs:` mapping.
pub(crate) fn parse(n: &Node) -> Result<Costs, Diagnostic> {
    let mut m = n.map("costs")?;
    let mut costs = Costs::default();
    let mut one = |key: &str| -> Result<Option<Duration>, Diagnostic> {
        m.get(key).map(|v| v.duration(&format!("costs.{key}"))).transpose()
    };
    costs.command = one("command")?;
    costs.read = one("read")?;
    costs.per_mib = one("per-mib")?;
    costs.bus_message = one("bus-message")?;
    costs.load_per_mib = one("load-per-mib")?;
    costs.fsync = one("fsync")?;
    if let Some(s) = m.get("startup") {
        costs.startup = Some(startup(s)?);
    }
    m.finish(COST_KEYS)?;
    Ok(costs)
}

fn startup(n: &Node) -> Result<(Duration, Duration), Diagnostic> {
    let hinted = |d: Diagnostic| d.with_hint(STARTUP_FORMS);
    match &n.value {
        crate::yaml::Value::Seq(items) => {
            let [lo, hi] = &items[..] else {
                return Err(hinted(Diagnostic::new(
                    n.span,
                    format!("`costs.startup` takes two durations (least, most), found {}", items.len()),
                )));
            };
            let (lo, hi) = (lo.duration("costs.startup")?, hi.duration("costs.startup")?);
            if lo > hi {
                return Err(hinted(Diagnostic::new(n.span, "`costs.startup`'s least is more than its most")));
            }
            Ok((lo, hi))
        }
        _ => {
            let d = n.duration("costs.startup").map_err(hinted)?;
            Ok((d, d))
        }
    }
}
