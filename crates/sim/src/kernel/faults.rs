//! Faults as the kernel applies them: starting, stopping, killing, pausing,
//! restarting and wiping processes, crashing and restarting hosts, partitions,
//! link settings and clock skew, each recorded in the trace.

use super::*;
use std::time::Duration;

impl Sim {
    /// Applies a fault now.
    pub fn apply(&mut self, fault: Fault) -> Result<(), FaultError> {
        let text = fault.describe(&|p| self.proc_name(p).to_owned(), &|h| self.host_name(h).to_owned());
        let result = self.apply_inner(&fault);
        let now = self.world.now;
        let text = match &result {
            Ok(()) => text,
            Err(e) => format!("{text} (not applied: {e})"),
        };
        self.world.trace.record(now, TraceEvent::Fault { text });
        result
    }

    fn apply_inner(&mut self, fault: &Fault) -> Result<(), FaultError> {
        match fault {
            Fault::Start(p) => self.start(*p),
            Fault::Stop(p) => {
                self.require(*p, &[ProcState::Running, ProcState::Paused])?;
                self.sigterm(*p);
                Ok(())
            }
            Fault::Kill(p) => {
                self.require(*p, &[ProcState::Running, ProcState::Paused])?;
                self.terminate(*p, Termination::Abort, "killed");
                Ok(())
            }
            Fault::Restart(p) => {
                if self.world.procs[p.index()].state != ProcState::Down {
                    self.apply_inner(&Fault::Stop(*p))?;
                }
                if self.world.procs[p.index()].state != ProcState::Down {
                    // It finishes its shutdown first; `terminate` starts it again.
                    self.world.procs[p.index()].restart_on_exit = true;
                    return Ok(());
                }
                self.start(*p)
            }
            Fault::CrashHost(h) => {
                if !self.world.hosts[h.index()].up {
                    return Err(FaultError::HostDown(self.host_name(*h).to_owned()));
                }
                let on_host: Vec<ProcId> = self.procs().filter(|p| self.host_of(*p) == *h).collect();
                for p in on_host {
                    if self.proc_state(p) != ProcState::Down {
                        self.terminate(p, Termination::PowerLoss, "crashed");
                    }
                    let slot = &mut self.world.procs[p.index()];
                    slot.disk.lose_unsynced();
                    slot.writeback_at = None;
                }
                self.world.hosts[h.index()].up = false;
                self.world.hosts_down += 1;
                Ok(())
            }
            Fault::StartHost(h) => {
                if self.world.hosts[h.index()].up {
                    return Err(FaultError::HostUp(self.host_name(*h).to_owned()));
                }
                self.world.hosts[h.index()].up = true;
                self.world.hosts_down -= 1;
                Ok(())
            }
            Fault::Pause(p) => {
                self.require(*p, &[ProcState::Running])?;
                self.world.procs[p.index()].state = ProcState::Paused;
                self.world.process_change(*p, "paused");
                Ok(())
            }
            Fault::Resume(p) => {
                self.require(*p, &[ProcState::Paused])?;
                self.world.procs[p.index()].state = ProcState::Running;
                self.world.process_change(*p, "resumed");
                self.world.schedule_drain(*p);
                Ok(())
            }
            Fault::Wipe(p) => {
                if self.proc_state(*p) != ProcState::Down {
                    self.terminate(*p, Termination::Abort, "killed");
                }
                let slot = &mut self.world.procs[p.index()];
                slot.disk.wipe();
                slot.writeback_at = None;
                self.world.process_change(*p, "wiped");
                Ok(())
            }
            Fault::Partition(groups) => {
                self.clear_groups();
                self.world.grouped = groups.iter().any(|g| !g.is_empty());
                for (i, group) in groups.iter().enumerate() {
                    for e in group {
                        match *e {
                            Endpoint::Host(h) => self.world.hosts[h.index()].group = i as u32 + 1,
                            Endpoint::Process(p) => self.world.procs[p.index()].group = i as u32 + 1,
                        }
                    }
                }
                Ok(())
            }
            Fault::PartitionOneWay { from, to } => {
                self.world.one_way.push((from.clone(), to.clone()));
                Ok(())
            }
            Fault::Heal => {
                self.clear_groups();
                self.world.grouped = false;
                self.world.one_way.clear();
                Ok(())
            }
            Fault::Link { a, b, config } => {
                self.world.links.retain(|(x, y, _)| !((x, y) == (a, b) || (x, y) == (b, a)));
                self.world.links.push((*a, *b, *config));
                Ok(())
            }
            Fault::ClockSet { proc, offset_ms } => {
                self.world.procs[proc.index()].clock_offset_ms = *offset_ms;
                Ok(())
            }
            Fault::ClockJump { proc, delta_ms } => {
                let slot = &mut self.world.procs[proc.index()];
                slot.clock_offset_ms = slot.clock_offset_ms.saturating_add(*delta_ms);
                Ok(())
            }
        }
    }

    /// SIGTERM: the process's shutdown path runs. It ends when the handler
    /// returns unless the handler deferred its exit ([`Ctx::defer_exit`]): then
    /// it runs on, a stopped process continued with the inputs it had queued,
    /// until it exits by itself (or is killed).
    fn sigterm(&mut self, p: ProcId) {
        let slot = &mut self.world.procs[p.index()];
        let was_paused = slot.state == ProcState::Paused;
        slot.state = ProcState::Running;
        self.dispatch_now(p, Input::Shutdown);
        let slot = &self.world.procs[p.index()];
        if slot.state == ProcState::Down {
            return;
        }
        if !slot.exit_deferred {
            // Ended on return: the inputs a stopped process had queued are lost with it.
            self.terminate(p, Termination::Graceful, "stopped");
        } else if was_paused {
            self.world.schedule_drain(p);
        }
    }

    /// `docker stop`: SIGTERM, then the kernel runs until the process has
    /// exited or `grace` has passed, then SIGKILL. True if it exited by
    /// itself. The clock stops at the exit (or the kill), not at the deadline.
    pub fn stop_within(&mut self, p: ProcId, grace: Duration) -> Result<bool, FaultError> {
        self.apply(Fault::Stop(p))?;
        let deadline = self.world.now + grace;
        while self.proc_state(p) != ProcState::Down {
            match self.next_event_at() {
                Some(t) if t <= deadline => {
                    self.step();
                }
                _ => {
                    self.run_until(deadline);
                    self.apply(Fault::Kill(p))?;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn require(&self, p: ProcId, allowed: &[ProcState]) -> Result<(), FaultError> {
        let state = self.proc_state(p);
        if allowed.contains(&state) {
            Ok(())
        } else {
            Err(FaultError::WrongState { node: self.proc_name(p).to_owned(), state })
        }
    }

    fn clear_groups(&mut self) {
        self.world.hosts.iter_mut().for_each(|h| h.group = 0);
        self.world.procs.iter_mut().for_each(|p| p.group = 0);
    }

    fn start(&mut self, p: ProcId) -> Result<(), FaultError> {
        self.require(p, &[ProcState::Down])?;
        let host = self.host_of(p);
        if !self.world.hosts[host.index()].up {
            self.world.hosts[host.index()].up = true;
            self.world.hosts_down -= 1;
        }
        let object = (self.factories[p.index()])();
        self.objects[p.index()] = Some(object);
        let slot = &mut self.world.procs[p.index()];
        slot.state = ProcState::Running;
        slot.incarnation += 1;
        slot.exit_requested = false;
        slot.exit_deferred = false;
        slot.restart_on_exit = false;
        self.world.reset_cpu(p);
        self.world.process_change(p, "started");
        self.dispatch_now(p, Input::Start);
        Ok(())
    }

    /// Ends a process. Its connections are closed by its OS (FIN on exit, RST on
    /// SIGKILL) unless the whole host lost power, in which case peers hear nothing.
    pub(super) fn terminate(&mut self, p: ProcId, how: Termination, change: &'static str) {
        self.objects[p.index()] = None;
        let slot = &mut self.world.procs[p.index()];
        slot.state = ProcState::Down;
        self.world.discard_deferred(p);
        let slot = &mut self.world.procs[p.index()];
        slot.exit_requested = false;
        slot.exit_deferred = false;
        let restart = std::mem::take(&mut slot.restart_on_exit) && how != Termination::PowerLoss;
        let host = slot.host;
        self.world.hosts[host.index()].listeners.retain(|(_, owner)| *owner != p);
        self.world.close_all_of(p, how);
        self.world.process_change(p, change);
        if restart {
            let now = self.world.now;
            self.world.push(now, Event::Fault(Box::new(Fault::Start(p))));
        }
    }
}
