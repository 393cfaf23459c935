//! CPU time: a process says how long an input kept its CPU ([`Ctx::spend`]),
//! and until that time has passed it reads nothing: its inputs (data, timers,
//! accepts) wait in its queue as a busy real process's do in its sockets, its
//! sockets' receive windows close behind them, and what it sends or the
//! timers it arms start from the end of that time. A burst of queued work
//! (a resumed process, a pipeline) so takes the virtual time it costs.
//!
//! A process that never spends costs one comparison per input.
//!
//! [`Ctx::spend`]: crate::Ctx::spend

use super::*;

impl World {
    /// Whether an input for `p` is handled as it arrives: `p` runs, its CPU is
    /// free and nothing queued is waiting to go before it.
    #[inline(always)]
    pub(super) fn reads_now(&self, p: ProcId) -> bool {
        let slot = &self.procs[p.index()];
        slot.state == ProcState::Running && slot.busy_until <= self.now && slot.deferred.is_empty()
    }

    /// Queues an input for a running process that is busy, behind what is
    /// already queued; a drain hands it over when the CPU is free.
    #[inline(never)]
    pub(super) fn wait_for_cpu(&mut self, p: ProcId, input: OwnedInput) {
        self.procs[p.index()].deferred.push_back(input);
        self.schedule_drain(p);
    }

    /// Makes sure a drain of `p`'s queue runs once its CPU is free (a drain
    /// due earlier schedules the next one itself).
    pub(super) fn schedule_drain(&mut self, p: ProcId) {
        let now = self.now;
        let slot = &mut self.procs[p.index()];
        let at = slot.busy_until.max(now);
        if slot.drain_at.is_some_and(|t| t <= at && t >= now) {
            return;
        }
        slot.drain_at = Some(at);
        let incarnation = slot.incarnation;
        self.push(at, Event::Drain { proc: p, incarnation });
    }

    /// `p` used its CPU for `d` more (see [`Ctx::spend`]).
    pub(crate) fn spend(&mut self, p: ProcId, d: Duration) {
        let now = self.now;
        let slot = &mut self.procs[p.index()];
        slot.busy_until = slot.busy_until.max(now) + d;
    }

    /// A fresh start: the CPU is free, no drain is pending.
    pub(super) fn reset_cpu(&mut self, p: ProcId) {
        let now = self.now;
        let slot = &mut self.procs[p.index()];
        slot.busy_until = now;
        slot.drain_at = None;
    }
}
