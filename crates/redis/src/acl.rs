//! ACL as Redis 7.0 answers it for a server with only its `default` user
//! (acl.c): WHOAMI, USERS, LIST, GETUSER, CAT, LOG, GENPASS, DELUSER,
//! DRYRUN, LOAD, SAVE, HELP. The default user allows everything; with
//! `requirepass` its password shows as its SHA-256. ACL SETUSER (other
//! users, permissions) is not simulated: it is in the command table (its
//! arity and COMMAND INFO are Redis's) and answers [`NO_SETUSER`].

use crate::server::{Client, Server};
use resp::Value;
use sim::Ctx;

/// ACL SETUSER's answer: other users are not simulated.
const NO_SETUSER: &str = "ERR ACL SETUSER is not simulated: the node has only the default user";

fn syntax(sub: &[u8]) -> Value {
    Value::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        String::from_utf8_lossy(sub)
    ))
}

impl Server {
    /// ACL's subcommands, arity already checked.
    pub(crate) fn acl_command(&mut self, ctx: &mut Ctx<'_>, _client: &Client, args: &[Vec<u8>]) -> Value {
        let sub = args[1].to_ascii_lowercase();
        let text = |a: &[u8]| String::from_utf8_lossy(a).into_owned();
        match sub.as_slice() {
            b"whoami" => Value::bulk("default"),
            b"users" => Value::Array(vec![Value::bulk("default")]),
            b"list" => Value::Array(vec![Value::Bulk(
                format!("user default on {} ~* &* +@all", self.password_rule()).into_bytes(),
            )]),
            b"getuser" if args[2] == b"default" => self.default_user(),
            b"getuser" => Value::Nil,
            b"cat" => match args.get(2) {
                _ if args.len() > 3 => syntax(&args[1]),
                None => Value::Array(common::acl::CATEGORIES.iter().copied().map(Value::bulk).collect()),
                Some(cat) => category_commands(&text(cat)),
            },
            b"log" => match args.get(2) {
                _ if args.len() > 3 => syntax(&args[1]),
                Some(a) if a.eq_ignore_ascii_case(b"reset") => Value::ok(),
                Some(a) if crate::commands::parse_int(a).is_none() => {
                    Value::error("ERR value is not an integer or out of range")
                }
                _ => Value::Array(Vec::new()),
            },
            b"genpass" => genpass(ctx, args),
            b"deluser" if args[2..].iter().any(|u| u == b"default") => {
                Value::error("ERR The 'default' user cannot be removed")
            }
            b"deluser" => Value::Integer(0),
            b"dryrun" if args[2] != b"default" => Value::error(format!("ERR User '{}' not found", text(&args[2]))),
            b"dryrun" => dryrun(&args[3..]),
            b"setuser" => Value::error(NO_SETUSER),
            b"load" | b"save" => Value::error(
                "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
            ),
            _ => crate::modules::help(common::acl::HELP),
        }
    }

    /// `nopass`, or `#<sha256>` of `requirepass`.
    fn password_rule(&self) -> String {
        match &self.config.requirepass {
            None => "nopass".to_owned(),
            Some(p) => format!("#{}", sha256_hex(p.as_bytes())),
        }
    }

    /// ACL GETUSER default.
    fn default_user(&self) -> Value {
        let (flags, passwords) = match &self.config.requirepass {
            None => (vec![Value::bulk("on"), Value::bulk("nopass")], Vec::new()),
            Some(p) => (vec![Value::bulk("on")], vec![Value::Bulk(sha256_hex(p.as_bytes()).into_bytes())]),
        };
        Value::Map(vec![
            (Value::bulk("flags"), Value::Array(flags)),
            (Value::bulk("passwords"), Value::Array(passwords)),
            (Value::bulk("commands"), Value::bulk("+@all")),
            (Value::bulk("keys"), Value::bulk("~*")),
            (Value::bulk("channels"), Value::bulk("&*")),
            (Value::bulk("selectors"), Value::Array(Vec::new())),
        ])
    }
}

/// ACL CAT <category>: the commands of the table in it (only those this node simulates).
fn category_commands(cat: &str) -> Value {
    if !common::acl::CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(cat)) {
        return Value::error(format!("ERR Unknown category '{cat}'"));
    }
    let tag = format!("@{}", cat.to_ascii_lowercase());
    let mut out = Vec::new();
    for c in crate::command_table::all() {
        if c.doc.acl.contains(&tag.as_str()) {
            out.push(Value::bulk(c.name));
        }
        for s in c.doc.subcommands.iter().filter(|s| s.acl.contains(&tag.as_str())) {
            out.push(Value::bulk(s.name));
        }
    }
    Value::Array(out)
}

/// ACL GENPASS [bits]: `bits` random bits as hex digits, from the seeded stream.
fn genpass(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Value {
    let bits = match args.get(2) {
        _ if args.len() > 3 => return syntax(&args[1]),
        None => 256,
        Some(a) => match crate::commands::parse_int(a) {
            None => return Value::error("ERR value is not an integer or out of range"),
            Some(b) if b <= 0 || b > 4096 => {
                return Value::error(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                );
            }
            Some(b) => b as usize,
        },
    };
    let chars = bits.div_ceil(4);
    let mut hex = String::with_capacity(chars);
    while hex.len() < chars {
        hex.push_str(&format!("{:016x}", ctx.rng().next_u64()));
    }
    hex.truncate(chars);
    Value::Bulk(hex.into_bytes())
}

/// ACL DRYRUN default <command> [args]: the default user may run anything; the arity still counts.
fn dryrun(cmd: &[Vec<u8>]) -> Value {
    let name = String::from_utf8_lossy(&cmd[0]).to_ascii_lowercase();
    let Some(c) = crate::command_table::lookup(&name) else {
        return Value::error(format!("ERR Command '{}' not found", String::from_utf8_lossy(&cmd[0])));
    };
    let argc = cmd.len() as i32;
    if (c.arity > 0 && argc != c.arity) || argc < -c.arity {
        return Value::error(format!("ERR wrong number of arguments for '{name}' command"));
    }
    Value::ok()
}

/// SHA-256 (FIPS 180-4) of `data`, in lowercase hex, as ACL shows passwords.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(v);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_matches_known_digests() {
        // `echo -n 'p@ss' | sha256sum` and ACL LIST on 7.0.15 with requirepass p@ss agree on the first.
        assert_eq!(super::sha256_hex(b"p@ss"), "a4048cba70dad0be0b01a8bb00027c775386c3f6194943ad3bf37204781edbc5");
        assert_eq!(super::sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(super::sha256_hex(&[b'a'; 64]), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    }
}
