//! Identifiers drawn from a process's own random stream.

use sim::Ctx;
use std::fmt::Write as _;

/// 40 random hex digits from the process's own stream: run ids, Sentinel ids.
pub fn random_hex40(ctx: &mut Ctx<'_>) -> String {
    let mut id = [0u8; 20];
    ctx.rng().fill(&mut id);
    let mut s = String::with_capacity(40);
    for b in id {
        let _ = write!(s, "{b:02x}");
    }
    s
}
