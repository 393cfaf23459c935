//! Connections: allocation and release, the wires that carry each direction's
//! packets, transmission with partitions and loss, retransmission with TCP's
//! backoff, delivery to the owning process, and closing everything a process
//! owned when it goes away.

use super::*;

impl World {
    pub(super) fn conn(&self, id: ConnId) -> Option<&Conn> {
        self.conns.get(id.slot()).filter(|c| c.live && c.generation == id.generation())
    }

    pub(super) fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns.get_mut(id.slot()).filter(|c| c.live && c.generation == id.generation())
    }

    /// Process `p`'s end of `id`, if it has one.
    fn end_of(&mut self, p: ProcId, id: ConnId) -> Option<&mut End> {
        self.conn_mut(id)?.ends.iter_mut().find(|e| e.proc == Some(p))
    }

    pub(crate) fn tag_conn(&mut self, p: ProcId, id: ConnId, tag: u32) {
        if let Some(end) = self.end_of(p, id) {
            end.tag = tag;
        }
    }

    pub(crate) fn conn_tag(&self, p: ProcId, id: ConnId) -> u32 {
        let end = self.conn(id).and_then(|c| c.ends.iter().find(|e| e.proc == Some(p)));
        end.map_or(0, |e| e.tag)
    }

    pub(crate) fn connect(&mut self, p: ProcId, to: SocketAddrV4) -> ConnId {
        let host_id = self.procs[p.index()].host;
        let host = &mut self.hosts[host_id.index()];
        let port = host.next_ephemeral;
        host.next_ephemeral = if port >= 60999 { 32768 } else { port + 1 };
        let from = End { host: host_id, proc: Some(p), addr: SocketAddrV4::new(host.ip, port), open: true, tag: 0 };
        let target_host = self.hosts.iter().position(|h| h.ip == *to.ip()).map(|i| HostId(i as u32));
        let to_end = End { host: target_host.unwrap_or(host_id), proc: None, addr: to, open: false, tag: 0 };
        let id = self.alloc_conn(from, to_end);
        if target_host.is_none() {
            // ARP gets no answer on the local network: EHOSTUNREACH after about 3 s.
            let incarnation = self.procs[p.index()].incarnation;
            let input = Box::new(OwnedInput::ConnectFailed { conn: id, error: ConnectError::Unreachable });
            self.conns[id.slot()].ends[0].open = false;
            self.push(self.now + Duration::from_secs(3), Event::Notify { proc: p, incarnation, input });
            self.maybe_free(id);
        } else {
            self.transmit(id, 0, PacketKind::Syn, Vec::new());
        }
        id
    }

    fn alloc_conn(&mut self, a: End, b: End) -> ConnId {
        let slot = match self.free_conns.pop() {
            Some(slot) => {
                let c = &mut self.conns[slot as usize];
                c.generation = c.generation.wrapping_add(1);
                c.live = true;
                c.established = false;
                c.ends = [a, b];
                c.wires = [Wire::default(), Wire::default()];
                slot
            }
            None => {
                self.conns.push(Conn {
                    generation: 0,
                    live: true,
                    established: false,
                    ends: [a, b],
                    wires: [Wire::default(), Wire::default()],
                });
                (self.conns.len() - 1) as u32
            }
        };
        ConnId::new(slot, self.conns[slot as usize].generation)
    }

    fn maybe_free(&mut self, id: ConnId) {
        let free = self.conn(id).is_some_and(|c| {
            !c.ends[0].open && !c.ends[1].open && c.wires.iter().all(|w| w.queue.is_empty() && !w.scheduled)
        });
        if free {
            // Both wires are empty (checked above): nothing to drain, and
            // `alloc_conn` resets them when the slot is reused.
            self.conns[id.slot()].live = false;
            self.free_conns.push(id.slot() as u32);
        }
    }

    pub(crate) fn send(&mut self, p: ProcId, id: ConnId, data: impl Into<Payload>) {
        let data = data.into();
        match self.sending_dir(p, id) {
            Some(dir) => self.transmit(id, dir, PacketKind::Data, data),
            None => self.recycle_payload(data),
        }
    }

    /// The direction `p` writes on `id`, if its end is open.
    pub(super) fn sending_dir(&self, p: ProcId, id: ConnId) -> Option<usize> {
        self.conn(id).and_then(|c| c.ends.iter().position(|e| e.open && e.proc == Some(p)))
    }

    pub(crate) fn close(&mut self, p: ProcId, id: ConnId) {
        let dir = self.conn(id).and_then(|c| c.ends.iter().position(|e| e.open && e.proc == Some(p)));
        if let Some(dir) = dir {
            self.conns[id.slot()].ends[dir].open = false;
            self.transmit(id, dir, PacketKind::Fin, Vec::new());
        }
    }

    /// The link a packet from `a` to `b` travels (`b` may be a SYN's
    /// destination, whose process is whoever listens there).
    fn link_config(&self, a: &End, b: &End) -> LinkConfig {
        let default = if a.host == b.host { self.net.same_host } else { self.net.cross_host };
        if self.links.is_empty() {
            return default;
        }
        let b = &self.with_listener(*b);
        let matches = |e: &Endpoint, end: &End| match *e {
            Endpoint::Host(h) => h == end.host,
            Endpoint::Process(p) => Some(p) == end.proc,
        };
        self.links
            .iter()
            .rev()
            .find(|(x, y, _)| (matches(x, a) && matches(y, b)) || (matches(x, b) && matches(y, a)))
            .map_or(default, |(_, _, c)| *c)
    }

    /// Puts a packet on the wire from `ends[dir]`; FIFO per direction. A packet
    /// first waits for the wire to finish the ones before it, so a big transfer
    /// costs time in proportion to its size.
    pub(super) fn transmit(&mut self, id: ConnId, dir: usize, kind: PacketKind, data: impl Into<Payload>) {
        let data = data.into();
        let (from, to) = {
            let c = &self.conns[id.slot()];
            (c.ends[dir], c.ends[1 - dir])
        };
        let link = self.link_config(&from, &to);
        let rng = match from.proc {
            Some(p) => &mut self.procs[p.index()].net_rng,
            None => &mut self.net_rng,
        };
        let mut delay = link.latency.sample(rng);
        if link.loss > 0.0 {
            delay += net::loss_delay(link.loss, rng);
        }
        // A process's output leaves once the CPU time it has spent is over.
        let now = from.proc.map_or(self.now, |p| self.procs[p.index()].busy_until.max(self.now));
        let wire = &mut self.conns[id.slot()].wires[dir];
        if kind == PacketKind::Data {
            wire.unread += data.len() as u64;
        }
        let sent = wire.sent_until.max(now) + net::serialization(data.len(), link.bandwidth);
        wire.sent_until = sent;
        let at = (sent + delay).max(wire.last_at);
        wire.last_at = at;
        let digest = match &data {
            Payload::Bytes(bytes) if !bytes.is_empty() => packet_digest(bytes),
            _ => 0,
        };
        self.packets.push_back(&mut wire.queue, Packet { at, kind, data, digest });
        if !wire.scheduled {
            wire.scheduled = true;
            self.push(at, Event::Deliver { conn: id, dir: dir as u8 });
        }
    }

    /// A SYN's destination is whoever listens on its port when it gets there.
    fn with_listener(&self, mut end: End) -> End {
        if end.proc.is_none() {
            let host = &self.hosts[end.host.index()];
            end.proc = host.listeners.iter().find(|(port, _)| *port == end.addr.port()).map(|(_, p)| *p);
        }
        end
    }

    fn group_of(&self, end: &End) -> u32 {
        match end.proc.map(|p| self.procs[p.index()].group) {
            Some(g) if g != 0 => g,
            _ => self.hosts[end.host.index()].group,
        }
    }

    fn blocked(&self, from: &End, to: &End) -> bool {
        if self.hosts_down == 0 && !self.grouped && self.one_way.is_empty() {
            return false;
        }
        if !self.hosts[to.host.index()].up || self.group_of(from) != self.group_of(to) {
            return true;
        }
        let matches = |e: &Endpoint, end: &End| match *e {
            Endpoint::Host(h) => h == end.host,
            Endpoint::Process(p) => Some(p) == end.proc,
        };
        self.one_way.iter().any(|(src, dst)| src.iter().any(|e| matches(e, from)) && dst.iter().any(|e| matches(e, to)))
    }

    /// The head packet of `wires[dir]` arrives (or is retransmitted).
    pub(super) fn deliver(&mut self, id: ConnId, dir: usize) -> Option<(ProcId, OwnedInput)> {
        let (from, mut to) = {
            let c = self.conn_mut(id)?;
            c.wires[dir].scheduled = false;
            (c.ends[dir], c.ends[1 - dir])
        };
        let head_kind = self.packets.front(&self.conns[id.slot()].wires[dir].queue)?.kind;
        if head_kind == PacketKind::Syn {
            to = self.with_listener(to);
        }
        if self.blocked(&from, &to) {
            return self.retransmit(id, dir, head_kind);
        }
        let now = self.now;
        let c = &mut self.conns[id.slot()];
        let wire = &mut c.wires[dir];
        let mut packet = self.packets.pop_front(&mut wire.queue)?;
        wire.retries = 0;
        wire.rto = Duration::ZERO;
        if let Some(next) = self.packets.front(&wire.queue) {
            wire.scheduled = true;
            let at = next.at.max(now);
            self.push(at, Event::Deliver { conn: id, dir: dir as u8 });
        }
        let c = &self.conns[id.slot()];
        let receiver = c.ends[1 - dir];
        let trace_to = if packet.kind == PacketKind::Syn { to.proc } else { receiver.proc };
        let digest = self.frame_arrives(&mut packet, receiver.proc.filter(|_| receiver.open));
        self.trace.record_delivery(
            now,
            Delivery {
                conn: id,
                from: from.proc,
                to: trace_to,
                kind: packet.kind,
                len: packet.data.len() as u32,
                digest,
            },
        );
        let result = self.receive(id, dir, packet, to.proc);
        self.maybe_free(id);
        result
    }

    fn retransmit(&mut self, id: ConnId, dir: usize, kind: PacketKind) -> Option<(ProcId, OwnedInput)> {
        let now = self.now;
        let c = &mut self.conns[id.slot()];
        let sender = c.ends[dir];
        let wire = &mut c.wires[dir];
        let (first_rto, limit) =
            if kind == PacketKind::Syn { (net::SYN_RTO, net::SYN_RETRIES) } else { (net::RTO_MIN, net::DATA_RETRIES) };
        // The OS keeps retransmitting for a socket whose process is gone (its FIN
        // or RST), but a connect the process abandoned is dropped at once.
        let abandoned = kind == PacketKind::Syn && !sender.open;
        if !abandoned && wire.retries <= limit {
            wire.retries += 1;
            wire.rto = if wire.rto.is_zero() { first_rto } else { (wire.rto * 2).min(net::RTO_MAX) };
            wire.scheduled = true;
            let at = now + wire.rto;
            self.push(at, Event::Deliver { conn: id, dir: dir as u8 });
            return None;
        }
        // Gave up, or nobody is left to retransmit: the OS drops the socket.
        self.drop_wire(id, dir);
        let was_open = sender.open;
        self.conns[id.slot()].ends[dir].open = false;
        let result = match (was_open, sender.proc) {
            (true, Some(p)) if kind == PacketKind::Syn => {
                Some((p, OwnedInput::ConnectFailed { conn: id, error: ConnectError::TimedOut }))
            }
            (true, Some(p)) => Some((p, OwnedInput::Closed { conn: id, reason: CloseReason::TimedOut })),
            _ => None,
        };
        self.maybe_free(id);
        result
    }

    /// What the receiving host does with an arrived packet.
    fn receive(
        &mut self,
        id: ConnId,
        dir: usize,
        packet: Packet,
        listener: Option<ProcId>,
    ) -> Option<(ProcId, OwnedInput)> {
        let back = 1 - dir;
        let receiver = self.conns[id.slot()].ends[back];
        match packet.kind {
            PacketKind::Syn => {
                let sender_open = self.conns[id.slot()].ends[dir].open;
                match listener {
                    Some(l) if sender_open => {
                        let c = &mut self.conns[id.slot()];
                        c.ends[1].proc = Some(l);
                        c.ends[1].open = true;
                        let peer = c.ends[0].addr;
                        let local_port = c.ends[1].addr.port();
                        self.transmit(id, 1, PacketKind::SynAck, Vec::new());
                        Some((l, OwnedInput::Accepted { conn: id, local_port, peer }))
                    }
                    _ => {
                        self.transmit(id, 1, PacketKind::Rst, Vec::new());
                        None
                    }
                }
            }
            PacketKind::SynAck => {
                if receiver.open {
                    self.conns[id.slot()].established = true;
                    receiver.proc.map(|p| (p, OwnedInput::Connected { conn: id }))
                } else {
                    self.transmit(id, dir, PacketKind::Rst, Vec::new());
                    None
                }
            }
            PacketKind::Data => {
                if receiver.open {
                    if let Some(p) = receiver.proc {
                        let dir = self.read_now_if_running(p, id, dir, packet.data.len());
                        return Some((p, OwnedInput::Data { conn: id, dir, bytes: packet.data }));
                    }
                    self.unread_gone(id, dir, packet.data.len());
                    self.recycle_payload(packet.data);
                    return None;
                }
                self.unread_gone(id, dir, packet.data.len());
                self.recycle_payload(packet.data);
                self.transmit(id, back, PacketKind::Rst, Vec::new());
                None
            }
            PacketKind::Fin => {
                if !receiver.open {
                    return None;
                }
                self.conns[id.slot()].ends[back].open = false;
                receiver.proc.map(|p| (p, OwnedInput::Closed { conn: id, reason: CloseReason::PeerClosed }))
            }
            PacketKind::Rst => {
                if !receiver.open {
                    return None;
                }
                let c = &mut self.conns[id.slot()];
                c.ends[back].open = false;
                let connecting = back == 0 && !c.established;
                self.drop_wire(id, back);
                let input = if connecting {
                    OwnedInput::ConnectFailed { conn: id, error: ConnectError::Refused }
                } else {
                    OwnedInput::Closed { conn: id, reason: CloseReason::Reset }
                };
                receiver.proc.map(|p| (p, input))
            }
        }
    }

    pub(super) fn close_all_of(&mut self, p: ProcId, how: Termination) {
        for slot in 0..self.conns.len() {
            let c = &self.conns[slot];
            if !c.live {
                continue;
            }
            let id = ConnId::new(slot as u32, c.generation);
            for dir in 0..2 {
                let end = self.conns[slot].ends[dir];
                if !(end.open && end.proc == Some(p)) {
                    continue;
                }
                self.conns[slot].ends[dir].open = false;
                match how {
                    Termination::Graceful => self.transmit(id, dir, PacketKind::Fin, Vec::new()),
                    Termination::Abort => self.transmit(id, dir, PacketKind::Rst, Vec::new()),
                    Termination::PowerLoss => self.drop_wire(id, dir),
                }
            }
            self.maybe_free(id);
        }
    }
}
