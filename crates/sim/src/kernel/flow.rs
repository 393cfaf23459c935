//! TCP flow control: how many bytes one direction of a connection may hold
//! that its reader has not read (the sender's send buffer plus the receiver's
//! receive buffer, each autotuned as Linux does; see [`SocketBuffers`]), the
//! short write a writer gets when they are full, and the `Writable` wake-up
//! once its reader has made room.
//!
//! The common case costs an addition when a write is accepted and a
//! subtraction and a comparison when it is read; the rest runs only when a
//! buffer fills.
//!
//! [`SocketBuffers`]: crate::SocketBuffers

use super::*;

/// Receive autotuning measures how fast the reader reads in windows of
/// 2^20 ns (about a millisecond; Linux measures per round trip, and a
/// loopback or bridge round trip is well under it).
const RCV_WINDOW_SHIFT: u32 = 20;

/// An input's `dir` once its bytes have been counted as read.
pub(super) const READ: u8 = u8::MAX;

// Flow control's fields keep a wire within 64 bytes (a million connections
// in a 1,000-node cluster: every 8 bytes per wire is 16 MB).
const _: () = assert!(std::mem::size_of::<Wire>() <= 64);

impl World {
    /// The most bytes `wire` may hold unread.
    fn capacity(&self, wire: &Wire) -> u64 {
        let b = &self.net.buffers;
        b.sndbuf(wire.snd_grown) + b.rcvbuf(wire.rcv_growth)
    }

    /// A non-blocking write: takes as much of `bytes` as the buffers have room
    /// for and returns how much. After a short write the writer is told
    /// (`Writable`) once its reader has read enough. A write on a connection
    /// that is closed or unknown is dropped whole, as `send`'s.
    pub(crate) fn write(&mut self, p: ProcId, id: ConnId, bytes: &[u8]) -> usize {
        let Some(dir) = self.sending_dir(p, id) else {
            return bytes.len();
        };
        let mut room = self.room(id, dir);
        if room < bytes.len() as u64 && !self.conns[id.slot()].wires[dir].snd_grown {
            self.conns[id.slot()].wires[dir].snd_grown = true;
            room = self.room(id, dir);
        }
        let n = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
        if n < bytes.len() {
            self.conns[id.slot()].wires[dir].writer_waiting = true;
        }
        if n > 0 {
            let mut buf = self.take_buffer();
            buf.extend_from_slice(&bytes[..n]);
            self.transmit(id, dir, PacketKind::Data, buf);
        }
        n
    }

    /// Free bytes on `wires[dir]` of a live connection.
    fn room(&self, id: ConnId, dir: usize) -> u64 {
        let wire = &self.conns[id.slot()].wires[dir];
        self.capacity(wire).saturating_sub(wire.unread)
    }

    /// A packet of `len` bytes for `p` arrived by `wires[dir]` of a live
    /// connection: if `p` runs, it reads them now (counted here, where the
    /// connection is at hand) and the input's `dir` becomes [`READ`].
    pub(super) fn read_now_if_running(&mut self, p: ProcId, id: ConnId, dir: usize, len: usize) -> u8 {
        if !self.reads_now(p) {
            return dir as u8;
        }
        self.count_read(id, dir, len);
        READ
    }

    /// The receiving process read `len` bytes that came by `wires[dir]`
    /// (queued while it was paused).
    pub(super) fn read(&mut self, id: ConnId, dir: usize, len: usize) {
        if self.conn(id).is_some() {
            self.count_read(id, dir, len);
        }
    }

    #[inline(always)]
    fn count_read(&mut self, id: ConnId, dir: usize, len: usize) {
        let quarter = u64::from(self.net.buffers.rmem[1] >> 2).max(1);
        let Some(c) = self.conns.get_mut(id.slot()) else { return };
        let wire = &mut c.wires[dir & 1];
        wire.unread -= len as u64;
        wire.read_since = wire.read_since.saturating_add(len as u32);
        // A quarter of the receive buffer read, or a writer waiting for room.
        if u64::from(wire.read_since) >= quarter << wire.rcv_growth || wire.writer_waiting {
            self.after_read(id, dir);
        }
    }

    #[inline(never)]
    fn after_read(&mut self, id: ConnId, dir: usize) {
        let wire = &self.conns[id.slot()].wires[dir];
        if u64::from(wire.read_since) >= self.net.buffers.rcv_growth_step(wire.rcv_growth) {
            self.autotune_receive(id, dir);
        }
        if self.conns[id.slot()].wires[dir].writer_waiting {
            self.maybe_wake_writer(id, dir);
        }
    }

    /// Dynamic right-sizing: the reader has read a quarter of its receive
    /// buffer since the count started. If that took less than a window
    /// (the count started in the current one), the buffer doubles, up to
    /// `tcp_rmem`'s max, so a reader keeping up with a fast stream gets room
    /// for it; an idle or slow one keeps the default. The count starts over.
    fn autotune_receive(&mut self, id: ConnId, dir: usize) {
        let window = (self.now.as_nanos() >> RCV_WINDOW_SHIFT) as u32;
        let buffers = self.net.buffers;
        let wire = &mut self.conns[id.slot()].wires[dir];
        let grows = buffers.rcvbuf(wire.rcv_growth + 1) > buffers.rcvbuf(wire.rcv_growth);
        if window == wire.read_window && grows {
            wire.rcv_growth += 1;
        }
        wire.read_since = 0;
        wire.read_window = window;
    }

    /// Wakes a writer that found the buffers full once the free space is at
    /// least half of what is still unread (Linux's `sk_stream_is_writeable`).
    fn maybe_wake_writer(&mut self, id: ConnId, dir: usize) {
        let wire = &self.conns[id.slot()].wires[dir];
        let free = self.capacity(wire).saturating_sub(wire.unread);
        if free < wire.unread / 2 {
            return;
        }
        let c = &mut self.conns[id.slot()];
        c.wires[dir].writer_waiting = false;
        let writer = c.ends[dir];
        if let (true, Some(p)) = (writer.open, writer.proc) {
            let incarnation = self.procs[p.index()].incarnation;
            let input = Box::new(OwnedInput::Writable { conn: id });
            self.push(self.now, Event::Notify { proc: p, incarnation, input });
        }
    }

    /// Bytes on `wires[dir]` that nobody will read (the reader is gone).
    pub(super) fn unread_gone(&mut self, id: ConnId, dir: usize, len: usize) {
        if let Some(c) = self.conn_mut(id) {
            c.wires[dir].unread -= len as u64;
        }
    }

    /// Drops every packet queued on `wires[dir]`.
    pub(super) fn drop_wire(&mut self, id: ConnId, dir: usize) {
        let wire = &mut self.conns[id.slot()].wires[dir];
        let dropped = self.packets.drain(&mut wire.queue);
        for packet in dropped {
            if packet.kind == PacketKind::Data {
                self.conns[id.slot()].wires[dir].unread -= packet.data.len() as u64;
            }
            self.recycle_payload(packet.data);
        }
    }

    /// An input that will never be handled (its process is down).
    pub(super) fn discard(&mut self, input: OwnedInput) {
        if let OwnedInput::Data { conn, dir, bytes } = input {
            if dir != READ {
                self.unread_gone(conn, dir as usize, bytes.len());
            }
            self.recycle_payload(bytes);
        }
    }

    /// Drops the inputs a paused process had queued (it is going away).
    pub(super) fn discard_deferred(&mut self, p: ProcId) {
        let deferred = std::mem::take(&mut self.procs[p.index()].deferred);
        for input in deferred {
            self.discard(input);
        }
    }

    /// Bytes written on `id` by `p` that its peer has not read yet, and the
    /// most the connection holds that way (for tests and assertions).
    pub(crate) fn unread(&self, p: ProcId, id: ConnId) -> Option<(u64, u64)> {
        let dir = self.conn(id)?.ends.iter().position(|e| e.proc == Some(p))?;
        let wire = &self.conns[id.slot()].wires[dir];
        Some((wire.unread, self.capacity(wire)))
    }
}
