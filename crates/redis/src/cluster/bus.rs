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
const NAME_LEN: usize = 40;
const IP_LEN: usize = 46;

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

/// `mflags[0]`: the master is paused for a manual failover.
pub(crate) const MFLAG_PAUSED: u8 = 1;
/// `mflags[0]`: vote even though the master is up (manual failover).
pub(crate) const MFLAG_FORCEACK: u8 = 2;

/// A slot bitmap as the bus carries it: bit `slot % 8` of byte `slot / 8`.
pub(crate) type SlotBits = [u8; SLOT_BYTES];

pub(crate) fn bit(bits: &SlotBits, slot: usize) -> bool {
    bits[slot / 8] & (1 << (slot % 8)) != 0
}

pub(crate) fn set_bit(bits: &mut SlotBits, slot: usize, on: bool) {
    if on {
        bits[slot / 8] |= 1 << (slot % 8);
    } else {
        bits[slot / 8] &= !(1 << (slot % 8));
    }
}

/// The header every message starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: u16,
    pub(crate) port: u16,
    pub(crate) current_epoch: u64,
    pub(crate) config_epoch: u64,
    pub(crate) offset: u64,
    pub(crate) sender: String,
    pub(crate) slots: Box<SlotBits>,
    /// The sender's master, or `None` (all zero bytes) for a master.
    pub(crate) slaveof: Option<String>,
    pub(crate) myip: String,
    pub(crate) cport: u16,
    pub(crate) pport: u16,
    pub(crate) flags: u16,
    /// 0 ok, 1 fail.
    pub(crate) state: u8,
    pub(crate) mflags: u8,
}

/// One node described inside a PING/PONG/MEET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Gossip {
    pub(crate) name: Field<NAME_LEN>,
    /// Seconds, as Redis truncates `ping_sent / 1000`.
    pub(crate) ping_sent: u32,
    pub(crate) pong_received: u32,
    pub(crate) ip: Field<IP_LEN>,
    pub(crate) port: u16,
    pub(crate) cport: u16,
    pub(crate) flags: u16,
    pub(crate) pport: u16,
}

/// A NUL-padded text field kept as the wire carries it: a gossip section of a
/// hundred entries decodes and encodes without a heap allocation per entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<const N: usize>([u8; N]);

impl<const N: usize> Field<N> {
    /// The text, truncated to the field as `put_str` writes it.
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

    /// The text up to the first NUL, as `get_str` reads it (borrowed unless it is not UTF-8).
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
pub(crate) enum Body {
    /// AUTH_REQUEST, AUTH_ACK, MFSTART.
    Empty,
    /// PING, PONG, MEET.
    Gossip(Vec<Gossip>),
    /// FAIL: the failing node's name.
    Fail(String),
    /// UPDATE: a node's configEpoch and slots.
    Update { config_epoch: u64, name: String, slots: Box<SlotBits> },
    /// PUBLISH: a channel and a message, for every node's subscribers.
    Publish { channel: Vec<u8>, message: Vec<u8> },
}

/// A whole bus message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) header: Header,
    pub(crate) body: Body,
}

fn put_str(out: &mut Vec<u8>, s: &str, len: usize) {
    let bytes = s.as_bytes();
    let n = bytes.len().min(len);
    out.extend_from_slice(&bytes[..n]);
    out.resize(out.len() + len - n, 0);
}

fn get_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Message {
    /// Appends the encoded message to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let h = &self.header;
        let (count, payload) = match &self.body {
            Body::Empty => (0, 0),
            Body::Gossip(g) => (g.len(), g.len() * GOSSIP_LEN),
            Body::Fail(_) => (0, NAME_LEN),
            Body::Update { .. } => (0, UPDATE_LEN),
            // `clusterMsgDataPublish`: two lengths, then the bytes (its 8-byte stub is not sent).
            Body::Publish { channel, message } => (0, 8 + channel.len() + message.len()),
        };
        let start = out.len();
        out.reserve(HEADER_LEN + payload);
        out.extend_from_slice(b"RCmb");
        out.extend_from_slice(&((HEADER_LEN + payload) as u32).to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&h.port.to_be_bytes());
        out.extend_from_slice(&h.kind.to_be_bytes());
        out.extend_from_slice(&(count as u16).to_be_bytes());
        out.extend_from_slice(&h.current_epoch.to_be_bytes());
        out.extend_from_slice(&h.config_epoch.to_be_bytes());
        out.extend_from_slice(&h.offset.to_be_bytes());
        put_str(out, &h.sender, NAME_LEN);
        out.extend_from_slice(&h.slots[..]);
        put_str(out, h.slaveof.as_deref().unwrap_or(""), NAME_LEN);
        put_str(out, &h.myip, IP_LEN);
        out.extend_from_slice(&0u16.to_be_bytes()); // extensions
        out.resize(out.len() + 30, 0); // notused1
        out.extend_from_slice(&h.pport.to_be_bytes());
        out.extend_from_slice(&h.cport.to_be_bytes());
        out.extend_from_slice(&h.flags.to_be_bytes());
        out.push(h.state);
        out.extend_from_slice(&[h.mflags, 0, 0]);
        debug_assert_eq!(out.len() - start, HEADER_LEN);
        match &self.body {
            Body::Empty => {}
            Body::Gossip(entries) => {
                for g in entries {
                    out.extend_from_slice(&g.name.0);
                    out.extend_from_slice(&g.ping_sent.to_be_bytes());
                    out.extend_from_slice(&g.pong_received.to_be_bytes());
                    out.extend_from_slice(&g.ip.0);
                    out.extend_from_slice(&g.port.to_be_bytes());
                    out.extend_from_slice(&g.cport.to_be_bytes());
                    out.extend_from_slice(&g.flags.to_be_bytes());
                    out.extend_from_slice(&g.pport.to_be_bytes());
                    out.extend_from_slice(&[0, 0]);
                }
            }
            Body::Fail(name) => put_str(out, name, NAME_LEN),
            Body::Update { config_epoch, name, slots } => {
                out.extend_from_slice(&config_epoch.to_be_bytes());
                put_str(out, name, NAME_LEN);
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

    /// Decodes one whole message; the error says why it is not one Redis would accept.
    pub(crate) fn decode(buf: &[u8]) -> Result<Message, &'static str> {
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
        let totlen = u32_at(4) as usize;
        if totlen != buf.len() || u16_at(8) != 1 {
            return Err("length or version mismatch");
        }
        let kind = u16_at(12);
        let count = u16_at(14) as usize;
        let mut slots = Box::new([0u8; SLOT_BYTES]);
        slots.copy_from_slice(&buf[80..80 + SLOT_BYTES]);
        let slaveof_raw = &buf[2128..2168];
        let header = Header {
            kind,
            port: u16_at(10),
            current_epoch: u64_at(16),
            config_epoch: u64_at(24),
            offset: u64_at(32),
            sender: get_str(&buf[40..80]),
            slots,
            slaveof: if slaveof_raw.iter().all(|&b| b == 0) { None } else { Some(get_str(slaveof_raw)) },
            myip: get_str(&buf[2168..2214]),
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
                let entries = payload
                    .chunks_exact(GOSSIP_LEN)
                    .map(|g| {
                        let u16g = |i: usize| u16::from_be_bytes([g[i], g[i + 1]]);
                        let u32g = |i: usize| u32::from_be_bytes([g[i], g[i + 1], g[i + 2], g[i + 3]]);
                        Gossip {
                            name: Field::from_wire(&g[..40]),
                            ping_sent: u32g(40),
                            pong_received: u32g(44),
                            ip: Field::from_wire(&g[48..94]),
                            port: u16g(94),
                            cport: u16g(96),
                            flags: u16g(98),
                            pport: u16g(100),
                        }
                    })
                    .collect();
                Body::Gossip(entries)
            }
            FAIL => {
                if payload.len() != NAME_LEN {
                    return Err("bad FAIL length");
                }
                Body::Fail(get_str(payload))
            }
            UPDATE => {
                if payload.len() != UPDATE_LEN {
                    return Err("bad UPDATE length");
                }
                let mut slots = Box::new([0u8; SLOT_BYTES]);
                slots.copy_from_slice(&payload[48..]);
                Body::Update {
                    config_epoch: u64::from_be_bytes(payload[..8].try_into().map_err(|_| "bad UPDATE")?),
                    name: get_str(&payload[8..48]),
                    slots,
                }
            }
            PUBLISH => {
                let len_at =
                    |i: usize| payload.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
                let (Some(c), Some(m)) = (len_at(0), len_at(4)) else { return Err("short PUBLISH") };
                if payload.len() != 8 + c + m {
                    return Err("bad PUBLISH length");
                }
                Body::Publish { channel: payload[8..8 + c].to_vec(), message: payload[8 + c..].to_vec() }
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

    fn header(kind: u16) -> Header {
        let mut slots = Box::new([0u8; SLOT_BYTES]);
        set_bit(&mut slots, 0, true);
        set_bit(&mut slots, 16383, true);
        Header {
            kind,
            port: 6381,
            current_epoch: 7,
            config_epoch: 3,
            offset: 123_456,
            sender: "a".repeat(40),
            slots,
            slaveof: Some("b".repeat(40)),
            myip: "127.0.0.1".to_owned(),
            cport: 16381,
            pport: 0,
            flags: 2,
            state: 1,
            mflags: MFLAG_FORCEACK,
        }
    }

    #[test]
    fn every_kind_round_trips_at_redis_sizes() {
        let gossip = Gossip {
            name: Field::new(&"c".repeat(40)),
            ping_sent: 1_795_251_316,
            pong_received: 1_795_251_317,
            ip: Field::new("10.0.0.3"),
            port: 6383,
            cport: 16383,
            flags: 1,
            pport: 0,
        };
        let cases = [
            (Message { header: header(PING), body: Body::Gossip(vec![gossip.clone(); 3]) }, HEADER_LEN + 3 * 104),
            (Message { header: header(FAIL), body: Body::Fail("d".repeat(40)) }, HEADER_LEN + 40),
            (
                Message {
                    header: header(UPDATE),
                    body: Body::Update { config_epoch: 9, name: "e".repeat(40), slots: Box::new([0x55; SLOT_BYTES]) },
                },
                HEADER_LEN + 2096,
            ),
            (Message { header: header(AUTH_REQUEST), body: Body::Empty }, HEADER_LEN),
            (
                Message {
                    header: header(PUBLISH),
                    body: Body::Publish { channel: b"ch".to_vec(), message: b"hello".to_vec() },
                },
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
        let mut master = header(PONG);
        master.slaveof = None;
        let msg = Message { header: master, body: Body::Gossip(Vec::new()) };
        let mut out = Vec::new();
        msg.encode(&mut out);
        assert_eq!(Message::decode(&out).unwrap().header.slaveof, None);
        assert!(bit(&msg.header.slots, 16383) && !bit(&msg.header.slots, 1));
    }

    #[test]
    fn malformed_messages_are_refused_not_panicking() {
        let mut out = Vec::new();
        Message { header: header(PING), body: Body::Gossip(Vec::new()) }.encode(&mut out);
        assert!(Message::decode(&out[..100]).is_err());
        let mut bad = out.clone();
        bad[0] = b'X';
        assert!(Message::decode(&bad).is_err());
        let mut wrong_count = out.clone();
        wrong_count[15] = 2;
        assert!(Message::decode(&wrong_count).is_err());
        for n in 0..out.len().min(300) {
            let _ = Message::decode(&out[..n]);
        }
    }
}
