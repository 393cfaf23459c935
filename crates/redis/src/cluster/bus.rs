//! Cluster bus messages in Redis 7.0's binary layout (`clusterMsg` in cluster.h):
//! a 2256-byte header, then a type-specific payload (104-byte gossip entries,
//! a FAIL name, an UPDATE bitmap). Integers are big-endian as Redis's
//! htonl/htonu64 write them, so a message costs on the simulated wire exactly
//! the bytes it costs on a real one.

/// Size of the fixed header before the payload.
pub(crate) const HEADER_LEN: usize = 2256;
/// Size of one gossip entry (`clusterMsgDataGossip`).
pub(crate) const GOSSIP_LEN: usize = 104;
/// Size of an UPDATE payload: configEpoch, node name, slot bitmap.
const UPDATE_LEN: usize = 8 + 40 + SLOT_BYTES;
/// Bytes of a slot bitmap (16384 bits).
pub(crate) const SLOT_BYTES: usize = 2048;
pub(crate) const NAME_LEN: usize = 40;
pub(crate) const IP_LEN: usize = 46;

/// Message types, with the names CLUSTER INFO's stats use.
pub(crate) const TYPE_NAMES: [&str; 11] =
    ["ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "module", "publishshard"];
pub(crate) const PING: u16 = 0;
pub(crate) const PONG: u16 = 1;
pub(crate) const MEET: u16 = 2;
pub(crate) const FAIL: u16 = 3;
pub(crate) const AUTH_REQUEST: u16 = 5;
pub(crate) const AUTH_ACK: u16 = 6;
pub(crate) const UPDATE: u16 = 7;
pub(crate) const MFSTART: u16 = 8;
pub(crate) const PUBLISH: u16 = 4;
pub(crate) const PUBLISHSHARD: u16 = 10;

/// `mflags[0]`: the master is paused for a manual failover.
pub(crate) const MFLAG_PAUSED: u8 = 1;
/// `mflags[0]`: vote even though the master is up (manual failover).
pub(crate) const MFLAG_FORCEACK: u8 = 2;

/// A slot bitmap as the bus carries it: bit `slot % 8` of byte `slot / 8`.
pub(crate) type SlotBits = [u8; SLOT_BYTES];

#[cfg(any(debug_assertions, test))]
pub(crate) fn bit(bits: &SlotBits, slot: usize) -> bool {
    bits[slot / 8] & (1 << (slot % 8)) != 0
}

/// Sets slots `first..=last` in `bits`, a byte at a time between the ends.
pub(crate) fn set_range(bits: &mut SlotBits, first: usize, last: usize) {
    let (lo, hi) = (first / 8, last / 8);
    if lo == hi {
        bits[lo] |= (0xffu8 << (first % 8)) & (0xffu8 >> (7 - last % 8));
        return;
    }
    bits[lo] |= 0xffu8 << (first % 8);
    bits[lo + 1..hi].fill(0xff);
    bits[hi] |= 0xffu8 >> (7 - last % 8);
}

/// The slots set in `bits`, in order: a word of 64 at a time, so that a
/// bitmap's empty stretches cost one test each (every PING of a master
/// whose slots a table does not agree with is walked this way).
pub(crate) fn set_slots(bits: &SlotBits) -> impl Iterator<Item = usize> + '_ {
    bits.chunks_exact(8).enumerate().flat_map(|(w, chunk)| {
        let mut word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        std::iter::from_fn(move || {
            (word != 0).then(|| {
                let k = word.trailing_zeros() as usize;
                word &= word - 1;
                w * 64 + k
            })
        })
    })
}

#[cfg(test)]
pub(crate) fn set_bit(bits: &mut SlotBits, slot: usize, on: bool) {
    if on {
        bits[slot / 8] |= 1 << (slot % 8);
    } else {
        bits[slot / 8] &= !(1 << (slot % 8));
    }
}

/// A node name: 40 bytes on the bus, in nodes.conf and in every reply, as
/// Redis's `CLUSTER_NAMELEN`. Kept inline rather than as a `String`: a gossip
/// section names a hundred nodes per packet, each looked up by its name, and
/// an inline name is compared without chasing a pointer. Always valid UTF-8
/// (every constructor checks), so it reads as a `&str`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NodeName([u8; NAME_LEN]);

impl NodeName {
    /// The name of a deleted slab entry: never a node's (not 40 hex digits).
    pub(crate) const NONE: NodeName = NodeName([0; NAME_LEN]);

    /// The name if `s` is one: exactly 40 bytes (`verifyClusterNodeId`'s length rule).
    pub(crate) fn parse(s: &str) -> Option<NodeName> {
        let bytes: [u8; NAME_LEN] = s.as_bytes().try_into().ok()?;
        Some(NodeName(bytes))
    }

    /// The 40 bytes a message carries, if they are text.
    pub(crate) fn from_wire(bytes: &[u8; NAME_LEN]) -> Option<NodeName> {
        std::str::from_utf8(bytes).ok()?;
        Some(NodeName(*bytes))
    }

    pub(crate) fn as_str(&self) -> &str {
        // Every constructor checked the bytes, so the fallback is never taken.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub(crate) fn bytes(&self) -> &[u8; NAME_LEN] {
        &self.0
    }
}

text_traits!(NodeName);

impl PartialEq<String> for NodeName {
    fn eq(&self, other: &String) -> bool {
        self.0[..] == *other.as_bytes()
    }
}

impl PartialEq<str> for NodeName {
    fn eq(&self, other: &str) -> bool {
        self.0[..] == *other.as_bytes()
    }
}

/// The header every message starts with. Decoded in place: the slot bitmap
/// is borrowed from the frame (or, when sending, from the node's table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) kind: u16,
    pub(crate) port: u16,
    pub(crate) current_epoch: u64,
    pub(crate) config_epoch: u64,
    pub(crate) offset: u64,
    pub(crate) sender: NodeName,
    pub(crate) slots: &'a SlotBits,
    /// Bit `b` clear when bytes `64b..64b + 64` of `slots` are all zero:
    /// encoding copies only the others. A node's bitmap is cached where it
    /// is read once per message sent, long after the last, so each line
    /// copied is a cache miss, and a master of a big cluster has one or
    /// two lines of slots.
    pub(crate) slot_blocks: u32,
    /// The sender's master, or `None` (all zero bytes) for a master.
    pub(crate) slaveof: Option<NodeName>,
    pub(crate) myip: Field<IP_LEN>,
    pub(crate) cport: u16,
    pub(crate) pport: u16,
    pub(crate) flags: u16,
    /// 0 ok, 1 fail.
    pub(crate) state: u8,
    pub(crate) mflags: u8,
}

impl Header<'_> {
    /// Appends the 2256 header bytes for a message whose payload is
    /// `payload` bytes and names `count` gossip entries.
    pub(crate) fn encode(&self, count: usize, payload: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + HEADER_LEN, 0);
        let b = &mut out[start..];
        b[..4].copy_from_slice(b"RCmb");
        b[4..8].copy_from_slice(&((HEADER_LEN + payload) as u32).to_be_bytes());
        b[8..10].copy_from_slice(&1u16.to_be_bytes());
        b[10..12].copy_from_slice(&self.port.to_be_bytes());
        b[12..14].copy_from_slice(&self.kind.to_be_bytes());
        b[14..16].copy_from_slice(&(count as u16).to_be_bytes());
        b[16..24].copy_from_slice(&self.current_epoch.to_be_bytes());
        b[24..32].copy_from_slice(&self.config_epoch.to_be_bytes());
        b[32..40].copy_from_slice(&self.offset.to_be_bytes());
        b[40..80].copy_from_slice(&self.sender.0);
        if self.slot_blocks == u32::MAX {
            b[80..2128].copy_from_slice(self.slots);
        } else {
            let mut blocks = self.slot_blocks;
            while blocks != 0 {
                let at = blocks.trailing_zeros() as usize * 64;
                b[80 + at..80 + at + 64].copy_from_slice(&self.slots[at..at + 64]);
                blocks &= blocks - 1;
            }
        }
        if let Some(master) = &self.slaveof {
            b[2128..2168].copy_from_slice(&master.0);
        }
        b[2168..2214].copy_from_slice(&self.myip.0);
        // 2214: extensions (none), 2216..2246: notused1.
        b[2246..2248].copy_from_slice(&self.pport.to_be_bytes());
        b[2248..2250].copy_from_slice(&self.cport.to_be_bytes());
        b[2250..2252].copy_from_slice(&self.flags.to_be_bytes());
        b[2252] = self.state;
        b[2253] = self.mflags;
    }
}

/// One node described inside a PING/PONG/MEET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gossip {
    pub(crate) name: [u8; NAME_LEN],
    /// Seconds, as Redis truncates `ping_sent / 1000`.
    pub(crate) ping_sent: u32,
    pub(crate) pong_received: u32,
    pub(crate) ip: Field<IP_LEN>,
    pub(crate) port: u16,
    pub(crate) cport: u16,
    pub(crate) flags: u16,
    pub(crate) pport: u16,
}

impl Gossip {
    /// Appends the entry's 104 bytes.
    #[cfg(test)]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + GOSSIP_LEN, 0);
        self.write(&mut out[start..]);
    }

    /// Writes the entry over the first 104 bytes of `g`, which are zero.
    #[cfg(test)]
    pub(crate) fn write(&self, g: &mut [u8]) {
        let fields = GossipFields {
            name: &self.name,
            ping_sent: self.ping_sent,
            pong_received: self.pong_received,
            ip: &self.ip.0,
            port: self.port,
            cport: self.cport,
            flags: self.flags,
        };
        if let Ok(g) = g.try_into() {
            fields.write(g);
        }
    }

    fn decode(g: &[u8]) -> Gossip {
        let u16g = |i: usize| u16::from_be_bytes([g[i], g[i + 1]]);
        let u32g = |i: usize| u32::from_be_bytes([g[i], g[i + 1], g[i + 2], g[i + 3]]);
        let mut name = [0; NAME_LEN];
        name.copy_from_slice(&g[..NAME_LEN]);
        Gossip {
            name,
            ping_sent: u32g(40),
            pong_received: u32g(44),
            ip: Field::from_wire(&g[48..94]),
            port: u16g(94),
            cport: u16g(96),
            flags: u16g(98),
            pport: u16g(100),
        }
    }
}

/// A gossip entry's fields where they live, for writing one without first
/// copying its name and address into a [`Gossip`] (a PING at 1,000 nodes
/// writes a hundred). The cluster bus port field (`pport`) is always 0.
pub(crate) struct GossipFields<'a> {
    pub(crate) name: &'a [u8; NAME_LEN],
    pub(crate) ping_sent: u32,
    pub(crate) pong_received: u32,
    pub(crate) ip: &'a [u8; IP_LEN],
    pub(crate) port: u16,
    pub(crate) cport: u16,
    pub(crate) flags: u16,
}

impl GossipFields<'_> {
    /// Writes the entry over `g`, which is zero.
    pub(crate) fn write(&self, g: &mut [u8; GOSSIP_LEN]) {
        g[..40].copy_from_slice(self.name);
        g[40..44].copy_from_slice(&self.ping_sent.to_be_bytes());
        g[44..48].copy_from_slice(&self.pong_received.to_be_bytes());
        g[48..94].copy_from_slice(self.ip);
        g[94..96].copy_from_slice(&self.port.to_be_bytes());
        g[96..98].copy_from_slice(&self.cport.to_be_bytes());
        g[98..100].copy_from_slice(&self.flags.to_be_bytes());
    }
}

/// A gossip section as received: whole entries, read one at a time from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GossipSection<'a>(&'a [u8]);

impl<'a> GossipSection<'a> {
    /// `bytes` must be whole 104-byte entries.
    #[cfg(test)]
    pub(crate) fn new(bytes: &'a [u8]) -> Option<GossipSection<'a>> {
        bytes.len().is_multiple_of(GOSSIP_LEN).then_some(GossipSection(bytes))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len() / GOSSIP_LEN
    }

    /// The name bytes of entry `k`, without decoding the rest.
    pub(crate) fn name_at(&self, k: usize) -> &'a [u8; NAME_LEN] {
        let at = k * GOSSIP_LEN;
        self.0[at..at + NAME_LEN].try_into().unwrap_or(&[0; NAME_LEN])
    }

    /// Entry `k`'s flags, without decoding the rest: most entries need
    /// only these and the PONG time.
    pub(crate) fn flags_at(&self, k: usize) -> u16 {
        let at = k * GOSSIP_LEN + 98;
        self.0.get(at..at + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// Entry `k`'s PONG time (seconds), without decoding the rest.
    pub(crate) fn pong_received_at(&self, k: usize) -> u32 {
        let at = k * GOSSIP_LEN + 44;
        self.0.get(at..at + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn get(&self, k: usize) -> Gossip {
        Gossip::decode(&self.0[k * GOSSIP_LEN..(k + 1) * GOSSIP_LEN])
    }
}

/// A NUL-padded text field kept as the wire carries it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<const N: usize>([u8; N]);

impl<const N: usize> Field<N> {
    /// The text, truncated to the field as Redis's `memcpy` of a bounded string leaves it.
    pub(crate) fn new(s: &str) -> Field<N> {
        let mut bytes = [0; N];
        let n = s.len().min(N);
        bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
        Field(bytes)
    }

    fn from_wire(bytes: &[u8]) -> Field<N> {
        let mut field = [0; N];
        field.copy_from_slice(&bytes[..N]);
        Field(field)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0[0] == 0
    }

    /// The text up to the first NUL (borrowed unless it is not UTF-8).
    pub(crate) fn text(&self) -> std::borrow::Cow<'_, str> {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        String::from_utf8_lossy(&self.0[..end])
    }
}

impl<const N: usize> std::fmt::Debug for Field<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

/// What follows the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    /// AUTH_REQUEST, AUTH_ACK, MFSTART.
    Empty,
    /// PING, PONG, MEET.
    Gossip(GossipSection<'a>),
    /// FAIL: the failing node's name.
    Fail(NodeName),
    /// UPDATE: a node's configEpoch and slots.
    Update { config_epoch: u64, name: NodeName, slots: &'a SlotBits },
    /// PUBLISH (for every node's subscribers) and PUBLISHSHARD (for the
    /// shard-channel subscribers of the sender's shard): a channel and a message.
    Publish { channel: &'a [u8], message: &'a [u8] },
}

impl Body<'_> {
    /// Gossip entries and payload bytes.
    fn sizes(&self) -> (usize, usize) {
        match self {
            Body::Empty => (0, 0),
            Body::Gossip(g) => (g.len(), g.0.len()),
            Body::Fail(_) => (0, NAME_LEN),
            Body::Update { .. } => (0, UPDATE_LEN),
            // `clusterMsgDataPublish`: two lengths, then the bytes (its 8-byte stub is not sent).
            Body::Publish { channel, message } => (0, 8 + channel.len() + message.len()),
        }
    }
}

/// A whole bus message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    pub(crate) header: Header<'a>,
    pub(crate) body: Body<'a>,
}

impl<'a> Message<'a> {
    /// Appends the encoded message to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let (count, payload) = self.body.sizes();
        out.reserve(HEADER_LEN + payload);
        self.header.encode(count, payload, out);
        match &self.body {
            Body::Empty => {}
            Body::Gossip(section) => out.extend_from_slice(section.0),
            Body::Fail(name) => out.extend_from_slice(&name.0),
            Body::Update { config_epoch, name, slots } => {
                out.extend_from_slice(&config_epoch.to_be_bytes());
                out.extend_from_slice(&name.0);
                out.extend_from_slice(&slots[..]);
            }
            Body::Publish { channel, message } => {
                out.extend_from_slice(&(channel.len() as u32).to_be_bytes());
                out.extend_from_slice(&(message.len() as u32).to_be_bytes());
                out.extend_from_slice(channel);
                out.extend_from_slice(message);
            }
        }
    }

    /// The total length a buffered message announces, once 8 bytes are there.
    pub(crate) fn announced_len(buf: &[u8]) -> Option<usize> {
        let b = buf.get(4..8)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// Reads one whole message in place; the error says why it is not one Redis would accept.
    pub(crate) fn decode(buf: &'a [u8]) -> Result<Message<'a>, &'static str> {
        if buf.len() < HEADER_LEN || &buf[..4] != b"RCmb" {
            return Err("bad signature or short header");
        }
        let u16_at = |i: usize| u16::from_be_bytes([buf[i], buf[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[i..i + 8]);
            u64::from_be_bytes(b)
        };
        // Every node this code talks to names itself with 40 hex digits.
        let name_at = |bytes: &[u8]| -> Result<NodeName, &'static str> {
            let raw: &[u8; NAME_LEN] = bytes.get(..NAME_LEN).and_then(|b| b.try_into().ok()).ok_or("short name")?;
            NodeName::from_wire(raw).ok_or("a node name is not text")
        };
        let totlen = u32_at(4) as usize;
        if totlen != buf.len() || u16_at(8) != 1 {
            return Err("length or version mismatch");
        }
        let kind = u16_at(12);
        let count = u16_at(14) as usize;
        let slots: &SlotBits = buf[80..80 + SLOT_BYTES].try_into().map_err(|_| "short header")?;
        let slaveof = &buf[2128..2168];
        let header = Header {
            kind,
            slot_blocks: u32::MAX,
            port: u16_at(10),
            current_epoch: u64_at(16),
            config_epoch: u64_at(24),
            offset: u64_at(32),
            sender: name_at(&buf[40..80])?,
            slots,
            slaveof: if slaveof.iter().all(|&b| b == 0) { None } else { Some(name_at(slaveof)?) },
            myip: Field::from_wire(&buf[2168..2214]),
            pport: u16_at(2246),
            cport: u16_at(2248),
            flags: u16_at(2250),
            state: buf[2252],
            mflags: buf[2253],
        };
        let payload = &buf[HEADER_LEN..];
        let body = match kind {
            PING | PONG | MEET => {
                if payload.len() != count * GOSSIP_LEN {
                    return Err("gossip count does not match the length");
                }
                Body::Gossip(GossipSection(payload))
            }
            FAIL => {
                if payload.len() != NAME_LEN {
                    return Err("bad FAIL length");
                }
                Body::Fail(name_at(payload)?)
            }
            UPDATE => {
                if payload.len() != UPDATE_LEN {
                    return Err("bad UPDATE length");
                }
                Body::Update {
                    config_epoch: u64::from_be_bytes(payload[..8].try_into().map_err(|_| "bad UPDATE")?),
                    name: name_at(&payload[8..48])?,
                    slots: payload[48..].try_into().map_err(|_| "bad UPDATE")?,
                }
            }
            PUBLISH | PUBLISHSHARD => {
                let len_at =
                    |i: usize| payload.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
                let (Some(c), Some(m)) = (len_at(0), len_at(4)) else { return Err("short PUBLISH") };
                if payload.len() != 8 + c + m {
                    return Err("bad PUBLISH length");
                }
                Body::Publish { channel: &payload[8..8 + c], message: &payload[8 + c..] }
            }
            _ => {
                if !payload.is_empty() {
                    return Err("unexpected payload");
                }
                Body::Empty
            }
        };
        Ok(Message { header, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(c: char) -> NodeName {
        NodeName::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn header(kind: u16, slots: &SlotBits) -> Header<'_> {
        Header {
            kind,
            port: 6381,
            current_epoch: 7,
            config_epoch: 3,
            offset: 123_456,
            sender: name('a'),
            slots,
            slot_blocks: u32::MAX,
            slaveof: Some(name('b')),
            myip: Field::new("127.0.0.1"),
            cport: 16381,
            pport: 0,
            flags: 2,
            state: 1,
            mflags: MFLAG_FORCEACK,
        }
    }

    #[test]
    fn every_kind_round_trips_at_redis_sizes() {
        let mut slots = Box::new([0u8; SLOT_BYTES]);
        set_bit(&mut slots, 0, true);
        set_bit(&mut slots, 16383, true);
        let gossip = Gossip {
            name: *name('c').bytes(),
            ping_sent: 1_795_251_316,
            pong_received: 1_795_251_317,
            ip: Field::new("10.0.0.3"),
            port: 6383,
            cport: 16383,
            flags: 1,
            pport: 0,
        };
        let mut section = Vec::new();
        for _ in 0..3 {
            gossip.encode(&mut section);
        }
        assert_eq!(section.len(), 3 * GOSSIP_LEN);
        let update_slots = Box::new([0x55; SLOT_BYTES]);
        let cases = [
            (
                Message { header: header(PING, &slots), body: Body::Gossip(GossipSection::new(&section).unwrap()) },
                HEADER_LEN + 3 * 104,
            ),
            (Message { header: header(FAIL, &slots), body: Body::Fail(name('d')) }, HEADER_LEN + 40),
            (
                Message {
                    header: header(UPDATE, &slots),
                    body: Body::Update { config_epoch: 9, name: name('e'), slots: &update_slots },
                },
                HEADER_LEN + 2096,
            ),
            (Message { header: header(AUTH_REQUEST, &slots), body: Body::Empty }, HEADER_LEN),
            (
                Message { header: header(PUBLISH, &slots), body: Body::Publish { channel: b"ch", message: b"hello" } },
                HEADER_LEN + 8 + 7,
            ),
        ];
        for (msg, len) in cases {
            let mut out = Vec::new();
            msg.encode(&mut out);
            assert_eq!(out.len(), len);
            assert_eq!(Message::announced_len(&out), Some(len));
            assert_eq!(Message::decode(&out).unwrap(), msg);
        }
        let mut out = Vec::new();
        Message { header: header(PING, &slots), body: Body::Gossip(GossipSection::new(&section).unwrap()) }
            .encode(&mut out);
        let Body::Gossip(back) = Message::decode(&out).unwrap().body else { panic!("not gossip") };
        assert_eq!((back.len(), back.get(2), back.name_at(1)), (3, gossip, name('c').bytes()));
        // Field offsets as Redis lays them out (cluster.h), not only as we read them back.
        assert_eq!(&out[HEADER_LEN + 94..HEADER_LEN + 96], &6383u16.to_be_bytes());
        assert_eq!(&out[2168..2177], b"127.0.0.1");
        assert_eq!(&out[2248..2250], &16381u16.to_be_bytes());
        let mut master = header(PONG, &slots);
        master.slaveof = None;
        let msg = Message { header: master, body: Body::Gossip(GossipSection::new(&[]).unwrap()) };
        let mut out = Vec::new();
        msg.encode(&mut out);
        assert_eq!(Message::decode(&out).unwrap().header.slaveof, None);
        assert!(bit(msg.header.slots, 16383) && !bit(msg.header.slots, 1));
    }

    #[test]
    fn a_header_copies_only_the_blocks_it_is_told_hold_slots_and_writes_the_same_bytes() {
        let mut slots = Box::new([0u8; SLOT_BYTES]);
        for slot in [0, 511, 512, 5460, 5461, 16383] {
            set_bit(&mut slots, slot, true);
        }
        let blocks = [0, 511, 512, 5460, 5461, 16383].iter().fold(0u32, |b, s| b | 1 << (s / 512));
        let (mut all, mut some) = (Vec::new(), Vec::new());
        header(PING, &slots).encode(0, 0, &mut all);
        Header { slot_blocks: blocks, ..header(PING, &slots) }.encode(0, 0, &mut some);
        assert_eq!(all, some);
        // Told a block is empty, it leaves it zero: the hint must be right.
        let mut missing = Vec::new();
        Header { slot_blocks: blocks & !1, ..header(PING, &slots) }.encode(0, 0, &mut missing);
        let decoded = Message::decode(&missing).unwrap();
        assert!(!bit(decoded.header.slots, 0) && !bit(decoded.header.slots, 511) && bit(decoded.header.slots, 512));
    }

    #[test]
    fn names_are_forty_bytes_of_text() {
        assert!(NodeName::parse(&"a".repeat(39)).is_none());
        assert!(NodeName::parse(&"a".repeat(41)).is_none());
        let n = NodeName::parse(&"0123456789".repeat(4)).unwrap();
        assert_eq!((n.as_str(), format!("{n}")), ("0123456789".repeat(4).as_str(), "0123456789".repeat(4)));
        let mut garbage = [b'a'; NAME_LEN];
        garbage[7] = 0xff;
        assert!(NodeName::from_wire(&garbage).is_none());
    }

    #[test]
    fn malformed_messages_are_refused_not_panicking() {
        let slots = Box::new([0u8; SLOT_BYTES]);
        let mut out = Vec::new();
        Message { header: header(PING, &slots), body: Body::Gossip(GossipSection::new(&[]).unwrap()) }.encode(&mut out);
        assert!(Message::decode(&out[..100]).is_err());
        let mut bad = out.clone();
        bad[0] = b'X';
        assert!(Message::decode(&bad).is_err());
        let mut wrong_count = out.clone();
        wrong_count[15] = 2;
        assert!(Message::decode(&wrong_count).is_err());
        let mut binary_sender = out.clone();
        binary_sender[45] = 0xfe;
        assert_eq!(Message::decode(&binary_sender), Err("a node name is not text"));
        for n in 0..out.len().min(300) {
            let _ = Message::decode(&out[..n]);
        }
    }
}
