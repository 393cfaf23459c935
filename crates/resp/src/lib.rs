//! `resp`: the Redis serialization protocol. It owns reply values, their
//! encoding, the server-side request parser (multibulk and inline, with Redis
//! 7.0's limits and exact protocol-error texts), the client-side reply decoder,
//! and rendering of a reply the way `redis-cli` prints it.
//!
//! It must not depend on the simulator or on any node: it is pure byte
//! manipulation, and no input may make it panic.
//!
//! Must not depend on: `sim`, `common`, `redis`, `sentinel`, `redis-client`,
//! `redis-lab`, `sentinel-lab`, `scenario`, `report`, `chaoslab`.

mod ahead;
mod cli;
mod reply;
mod request;
#[cfg(test)]
mod test_rng;

pub use ahead::Ahead;
pub use cli::{quote, render, render_piped};
pub use reply::{Decoded, Encoded, Known, Protocol, ReplyDecoder, Value, encode_command};
pub use request::{MAX_INLINE, MAX_MULTIBULK, PROTO_MAX_BULK_LEN, ProtocolError, RequestParser};
pub use request::{parse_ll, split_args};
