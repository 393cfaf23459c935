//! One turn of an event loop over what a process queued while it was paused
//! or busy.
//!
//! A real process that comes back to its event loop after a SIGCONT or a long
//! command finds its sockets ready all at once: `epoll_wait` lists each ready
//! socket once, in the order they became ready, and one read of a socket
//! returns every byte that piled up in it. Redis's loop (`aeProcessEvents`)
//! handles those file events first and its timers after them. So a resumed
//! node reads a client's queued pipeline whole before it reads the cluster
//! bus messages that arrived after the pipeline began, where handing it the
//! packets one at a time in arrival order interleaves the two.
//!
//! [`World::order_turn`] puts a process's queued inputs in that order before a
//! drain hands them over: per connection, its inputs in their order with
//! adjacent data merged into one read; connections in the order of their
//! first queued input; timers last, in their order.

use super::*;

/// A connection's queued inputs, in their order.
struct Ready {
    conn: ConnId,
    inputs: Vec<OwnedInput>,
}

impl OwnedInput {
    /// The connection this input is an event of; `None` for a timer.
    fn conn(&self) -> Option<ConnId> {
        match *self {
            OwnedInput::Accepted { conn, .. }
            | OwnedInput::Connected { conn }
            | OwnedInput::ConnectFailed { conn, .. }
            | OwnedInput::Data { conn, .. }
            | OwnedInput::Closed { conn, .. }
            | OwnedInput::Writable { conn } => Some(conn),
            OwnedInput::Timer { .. } => None,
        }
    }
}

impl World {
    /// Reorders the first `n` inputs of `p`'s queue as one turn of its event
    /// loop handles them (see the module doc). Nothing is dropped: the same
    /// inputs and the same bytes of each connection, in the same order per
    /// connection.
    pub(super) fn order_turn(&mut self, p: ProcId, n: usize) {
        let deferred = &mut self.procs[p.index()].deferred;
        if n < 2 || !needs_reordering(deferred.iter().take(n)) {
            return;
        }
        let queued: Vec<OwnedInput> = deferred.drain(..n).collect();
        let mut ready: Vec<Ready> = Vec::new();
        let mut open: BTreeMap<ConnId, usize> = BTreeMap::new();
        let mut timers = Vec::new();
        for input in queued {
            let Some(conn) = input.conn() else {
                timers.push(input);
                continue;
            };
            let closes = matches!(input, OwnedInput::Closed { .. });
            let at = *open.entry(conn).or_insert_with(|| {
                ready.push(Ready { conn, inputs: Vec::new() });
                ready.len() - 1
            });
            debug_assert_eq!(ready[at].conn, conn);
            self.push_merging(&mut ready[at].inputs, input);
            if closes {
                // Nothing reads a closed socket again: a later input of the id starts afresh.
                open.remove(&conn);
            }
        }
        let turn: Vec<OwnedInput> = ready.into_iter().flat_map(|r| r.inputs).chain(timers).collect();
        let deferred = &mut self.procs[p.index()].deferred;
        for input in turn.into_iter().rev() {
            deferred.push_front(input);
        }
    }

    /// Appends `input` to a connection's queued inputs, its bytes to the
    /// data just before it if that came the same way (one read of the socket).
    fn push_merging(&mut self, inputs: &mut Vec<OwnedInput>, input: OwnedInput) {
        let joins_last = match (&input, inputs.last()) {
            (OwnedInput::Data { dir, .. }, Some(OwnedInput::Data { dir: last_dir, .. })) => dir == last_dir,
            _ => false,
        };
        if !joins_last {
            inputs.push(input);
            return;
        }
        let OwnedInput::Data { bytes, .. } = input else { unreachable!("checked above") };
        let Some(OwnedInput::Data { bytes: last, .. }) = inputs.last_mut() else { unreachable!() };
        let mut joined = self.bytes_of(std::mem::replace(last, Payload::Bytes(Vec::new())));
        let more = self.bytes_of(bytes);
        joined.extend_from_slice(&more);
        self.recycle(more);
        *last = Payload::Bytes(joined);
    }
}

/// Whether handing `inputs` over in turn order differs from their arrival
/// order: two inputs of one connection with another's (or a timer) between
/// them, adjacent data to merge, or a timer before a file event.
fn needs_reordering<'a>(inputs: impl Iterator<Item = &'a OwnedInput>) -> bool {
    let mut seen_timer = false;
    let mut last: Option<ConnId> = None;
    let mut finished: BTreeSet<ConnId> = BTreeSet::new();
    for input in inputs {
        match input.conn() {
            None => seen_timer = true,
            Some(_) if seen_timer => return true,
            Some(conn) if last == Some(conn) => {
                if matches!(input, OwnedInput::Data { .. }) {
                    return true;
                }
            }
            Some(conn) => {
                if finished.contains(&conn) {
                    return true;
                }
                if let Some(prev) = last {
                    finished.insert(prev);
                }
                last = Some(conn);
            }
        }
    }
    false
}
