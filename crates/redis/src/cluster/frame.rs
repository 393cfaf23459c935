//! A PING, PONG or MEET held as its sender built it until its receiver
//! reads it ([`sim::Frame`]): the header's bytes, shared with the sender's
//! other messages of the same kind while they stay the same, and for each
//! gossip entry the node's shared [`Identity`] and the three facts the
//! sender had of it. At 1,000 nodes a message is 12.6 KB of bytes (a
//! hundred 104-byte entries) and about 2.5 KB held this way; with time
//! costs on, a hundred thousand wait at once for a busy sender or receiver.

use super::bus::{self, GossipFields};
use super::{Identity, Node};
use std::rc::Rc;

/// A message header's bytes.
type HeaderBytes = Rc<[u8; bus::HEADER_LEN]>;

/// One gossip entry as built: what [`GossipFields`] writes of a node.
#[derive(Debug)]
struct Entry {
    id: Rc<Identity>,
    ping_sent: u32,
    pong_received: u32,
    flags: u16,
}

impl Entry {
    fn of(n: &Node) -> Entry {
        Entry {
            id: Rc::clone(&n.id),
            // Seconds, as Redis truncates them.
            ping_sent: (n.ping_sent / 1000) as u32,
            pong_received: (n.pong_received / 1000) as u32,
            flags: n.flags,
        }
    }

    fn write(&self, g: &mut [u8; bus::GOSSIP_LEN]) {
        GossipFields {
            name: self.id.name.bytes(),
            ping_sent: self.ping_sent,
            pong_received: self.pong_received,
            ip: self.id.ip.padded(),
            port: self.id.port,
            cport: self.id.cport,
            flags: self.flags,
        }
        .write(g);
    }
}

/// A message with a gossip section, held as built.
#[derive(Debug)]
pub(crate) struct GossipFrame {
    header: HeaderBytes,
    entries: Vec<Entry>,
}

impl GossipFrame {
    /// The message whose header is `header` (from [`Headers::share`], for
    /// `picked.len()` entries) and whose entries describe `picked`.
    pub(crate) fn new<'a>(header: HeaderBytes, picked: impl ExactSizeIterator<Item = &'a Node>) -> GossipFrame {
        GossipFrame { header, entries: picked.map(Entry::of).collect() }
    }
}

impl sim::Frame for GossipFrame {
    fn len(&self) -> usize {
        bus::HEADER_LEN + self.entries.len() * bus::GOSSIP_LEN
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.reserve(self.len());
        out.extend_from_slice(&self.header[..]);
        let start = out.len();
        out.resize(start + self.entries.len() * bus::GOSSIP_LEN, 0);
        let (slots, _) = out[start..].as_chunks_mut::<{ bus::GOSSIP_LEN }>();
        for (entry, g) in self.entries.iter().zip(slots) {
            entry.write(g);
        }
    }
}

/// The last header built of each gossip kind (PING, PONG, MEET), which the
/// next message of that kind shares when its header is the same bytes (a
/// node's epochs, flags and slots change rarely; a boot's thousand PONGs
/// all carry one header).
#[derive(Debug, Default)]
pub(crate) struct Headers {
    last: [Option<HeaderBytes>; 3],
    /// Where the next header is encoded, kept to reuse its allocation.
    scratch: Vec<u8>,
}

impl Headers {
    /// An empty buffer to encode a header into, for [`Headers::share`].
    pub(crate) fn take_scratch(&mut self) -> Vec<u8> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch
    }

    /// The header of kind `kind` encoded in `bytes`, shared with the last
    /// one of its kind if that is the same; `bytes` is kept for the next.
    pub(crate) fn share(&mut self, kind: u16, bytes: Vec<u8>) -> HeaderBytes {
        let last = self.last.get_mut(usize::from(kind));
        let shared = match &last {
            Some(Some(same)) if same[..] == bytes[..] => Some(Rc::clone(same)),
            _ => None,
        };
        let header = shared.unwrap_or_else(|| {
            let mut header = [0; bus::HEADER_LEN];
            let n = bytes.len().min(bus::HEADER_LEN);
            header[..n].copy_from_slice(&bytes[..n]);
            let header = Rc::new(header);
            if let Some(last) = last {
                *last = Some(Rc::clone(&header));
            }
            header
        });
        self.scratch = bytes;
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::machinery::Machinery;
    use crate::cluster::{NodeIp, NodeName};
    use sim::Frame;

    fn node(k: u8, ping_sent: i64, pong_received: i64, flags: u16) -> Node {
        let name = NodeName::parse(&format!("{:040x}", u128::from(k) * 0x1234_5678_9abc)).unwrap();
        let ip = NodeIp::new(&format!("10.0.{k}.{}", 255 - k));
        let id = Identity { name, ip, port: 7000 + u16::from(k), cport: 17000 + u16::from(k) };
        let mut n = Node::new_at(id, flags, 0, Machinery::Plain);
        n.ping_sent = ping_sent;
        n.pong_received = pong_received;
        n
    }

    fn header(kind: u16, epoch: u8, count: usize) -> Vec<u8> {
        let mut bytes = vec![epoch; 40];
        bytes.extend_from_slice(&[kind as u8, count as u8]);
        bytes.resize(bus::HEADER_LEN, 0xab);
        bytes
    }

    /// The frame writes exactly the bytes of a header followed by each
    /// entry as [`bus::Gossip::encode`] writes it, whatever its length.
    #[test]
    fn a_frame_writes_the_bytes_of_its_header_and_entries() {
        let mut headers = Headers::default();
        for count in [0usize, 1, 3, 100] {
            let nodes: Vec<Node> =
                (0..count).map(|k| node(k as u8, 1_767_225_600_123 + k as i64, 7_000 * k as i64, k as u16)).collect();
            let frame = GossipFrame::new(headers.share(bus::PING, header(bus::PING, 1, count)), nodes.iter());
            let mut want = header(bus::PING, 1, count);
            for n in &nodes {
                let id = &n.id;
                bus::Gossip {
                    name: *id.name.bytes(),
                    ping_sent: (n.ping_sent / 1000) as u32,
                    pong_received: (n.pong_received / 1000) as u32,
                    ip: bus::Field::new(id.ip.as_str()),
                    port: id.port,
                    cport: id.cport,
                    flags: n.flags,
                    pport: 0,
                }
                .encode(&mut want);
            }
            let mut out = b"before".to_vec();
            frame.write(&mut out);
            assert_eq!(frame.len(), want.len());
            assert_eq!(&out[..6], b"before", "appended, not overwritten");
            assert!(out[6..] == want[..], "{count} entries");
            let mut again = Vec::new();
            frame.write(&mut again);
            assert!(again == want, "the same bytes every time");
        }
    }

    /// A header is shared with the last of its kind only when its bytes are
    /// the same; the other kinds keep their own.
    #[test]
    fn headers_are_shared_only_when_the_same_bytes() {
        let mut h = Headers::default();
        let ping = h.share(bus::PING, header(bus::PING, 1, 3));
        let pong = h.share(bus::PONG, header(bus::PONG, 1, 3));
        assert!(Rc::ptr_eq(&ping, &h.share(bus::PING, header(bus::PING, 1, 3))));
        assert!(Rc::ptr_eq(&pong, &h.share(bus::PONG, header(bus::PONG, 1, 3))));
        let newer = h.share(bus::PING, header(bus::PING, 2, 3));
        assert!(!Rc::ptr_eq(&ping, &newer));
        assert_eq!(ping[0], 1, "a message already built keeps its header");
        assert_eq!(newer[0], 2);
        assert!(Rc::ptr_eq(&pong, &h.share(bus::PONG, header(bus::PONG, 1, 3))));
        // Kinds without a gossip section are not kept.
        let fail = h.share(bus::FAIL, header(bus::FAIL, 1, 0));
        assert!(!Rc::ptr_eq(&fail, &h.share(bus::FAIL, header(bus::FAIL, 1, 0))));
    }
}
