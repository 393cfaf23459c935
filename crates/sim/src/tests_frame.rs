//! Frames ([`Ctx::send_frame`]): a message sent as a frame reaches its
//! reader as exactly the bytes it writes, at the same times, with the same
//! trace, as the same bytes sent with [`Ctx::send`], including while the
//! sender is busy (the frame waits to leave) and while the reader is busy
//! (it waits to be read). A frame read as it arrives is written out once;
//! one that waits for its reader is written for the trace's fingerprint as
//! it arrives and again when read, never while it waits.

use crate::*;
use std::cell::{Cell, RefCell};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;
use std::time::Duration;

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const PORT: u16 = 7200;
const COST: Duration = Duration::from_micros(300);

/// `len` bytes counting up from `seed`, counting its writes.
#[derive(Debug)]
struct Counting {
    seed: u8,
    len: usize,
    writes: Rc<Cell<usize>>,
}

impl Frame for Counting {
    fn len(&self) -> usize {
        self.len
    }
    fn write(&self, out: &mut Vec<u8>) {
        self.writes.set(self.writes.get() + 1);
        out.extend((0..self.len).map(|i| self.seed.wrapping_add(i as u8)));
    }
}

/// Messages read, with when.
type Got = Rc<RefCell<Vec<(Instant, Vec<u8>)>>>;

/// Spends twice [`COST`] per message read (so it falls behind its writer)
/// and records each with when it came.
struct Reader {
    got: Got,
}

impl Process for Reader {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => ctx.listen(PORT).expect("free port"),
            Input::Data { bytes, .. } => {
                ctx.spend(2 * COST);
                self.got.borrow_mut().push((ctx.now(), bytes.to_vec()));
            }
            _ => {}
        }
    }
}

/// Once connected, sends `n` messages of different lengths, spending
/// [`COST`] before each: as frames or as the same bytes.
struct Writer {
    n: u8,
    frames: bool,
    writes: Rc<Cell<usize>>,
}

impl Process for Writer {
    fn handle(&mut self, ctx: &mut Ctx<'_>, input: Input<'_>) {
        match input {
            Input::Start => {
                ctx.connect(SocketAddrV4::new(LOCALHOST, PORT));
            }
            Input::Connected { conn } => {
                for k in 0..self.n {
                    ctx.spend(COST);
                    let frame = Counting { seed: k, len: 1000 + 37 * usize::from(k), writes: self.writes.clone() };
                    if self.frames {
                        ctx.send_frame(conn, Box::new(frame));
                    } else {
                        let mut bytes = Vec::new();
                        frame.write(&mut bytes);
                        ctx.send(conn, &bytes);
                    }
                }
            }
            _ => {}
        }
    }
}

/// What the reader got, the trace's hash, and how many times frames were written.
fn run(frames: bool) -> (Vec<(Instant, Vec<u8>)>, String, usize) {
    let mut sim = Sim::new(SimConfig { seed: 3, ..SimConfig::default() });
    let host = sim.add_host("h", LOCALHOST);
    let got = Rc::new(RefCell::new(Vec::new()));
    let writes = Rc::new(Cell::new(0));
    let g = got.clone();
    let reader = sim.add_process(host, "reader", Box::new(move || Box::new(Reader { got: g.clone() })));
    let w = writes.clone();
    let writer =
        sim.add_process(host, "writer", Box::new(move || Box::new(Writer { n: 20, frames, writes: w.clone() })));
    sim.apply(Fault::Start(reader)).unwrap();
    sim.apply(Fault::Start(writer)).unwrap();
    sim.run_for(Duration::from_secs(1));
    let got = got.borrow().clone();
    (got, sim.trace().hash_hex(), writes.get())
}

#[test]
fn a_frame_arrives_as_its_bytes_at_the_times_the_bytes_would() {
    let (as_bytes, bytes_hash, _) = run(false);
    let (as_frames, frames_hash, writes) = run(true);
    assert!(as_frames == as_bytes, "frames and bytes read differently");
    assert_eq!(frames_hash, bytes_hash);
    // Every message's bytes, in order, whatever the reads.
    let all: Vec<u8> = as_frames.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let sent: Vec<u8> =
        (0..20u8).flat_map(|k| (0..1000 + 37 * usize::from(k)).map(move |i| k.wrapping_add(i as u8))).collect();
    assert!(all == sent, "the bytes read are not the bytes sent");
    // The reader falls behind and then reads what piled up in one go, as a
    // real one's read returns everything in its socket: fewer reads than
    // messages, but more than one.
    assert!(as_frames.len() > 1 && as_frames.len() < 20, "{} reads", as_frames.len());
    // The sender was busy (each message leaves one cost after the last),
    // so the messages waited to leave and came spread in time.
    assert!(as_frames[as_frames.len() - 1].0 - as_frames[0].0 >= COST * 19);
    // The first found its reader free and was written once; each of the
    // other 19 came while the reader was busy with the one before.
    assert_eq!(writes, 1 + 2 * 19);
}
