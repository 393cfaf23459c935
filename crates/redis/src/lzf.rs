//! LZF as Redis builds it (`lzf_c.c`/`lzf_d.c` with `HLOG 16`, `VERY_FAST`):
//! RDB strings longer than 20 bytes are stored compressed when that saves at
//! least 4 bytes, so a DUMP payload or an RDB file is byte-identical to Redis's
//! only if the compressor makes the same choices. The output format is
//! literal runs (`000LLLLL` + L+1 bytes) and back references (`LLLooooo
//! oooooooo`, or `111ooooo LLLLLLLL oooooooo` for long ones).

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn hash_index(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `max_out` bytes; `None` if it does not fit
/// (Redis then stores the string as it is).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if input.is_empty() || max_out == 0 {
        return None;
    }
    TABLE.with_borrow_mut(|t| compress_with(t, input, max_out))
}

/// Last positions seen per hash, stamped with the call that wrote them, so the
/// table is reused without clearing 64 Ki entries per string. Redis leaves its
/// table uninitialised; a slot from another call is treated as empty, which is
/// what lzf_c.c's position checks make of stale entries.
struct Table {
    call: u32,
    slots: Vec<(u32, usize)>,
}

impl Table {
    fn get(&self, i: usize) -> usize {
        let (call, pos) = self.slots[i];
        if call == self.call { pos } else { 0 }
    }

    fn set(&mut self, i: usize, pos: usize) {
        self.slots[i] = (self.call, pos);
    }
}

std::thread_local! {
    static TABLE: std::cell::RefCell<Table> = const { std::cell::RefCell::new(Table { call: 0, slots: Vec::new() }) };
}

fn compress_with(table: &mut Table, input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if table.slots.is_empty() {
        table.slots = vec![(0, 0); HSIZE];
    }
    table.call = table.call.wrapping_add(1);
    if table.call == 0 {
        // Stamps wrapped: forget everything once every 4 billion calls.
        table.slots.iter_mut().for_each(|s| *s = (u32::MAX, 0));
        table.call = 1;
    }
    let mut out: Vec<u8> = Vec::with_capacity(max_out);
    let len = input.len();
    let byte = |i: usize| u32::from(input[i]);
    // `lit_at` is where the pending literal run's length byte goes.
    let mut lit_at = 0usize;
    out.push(0);
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut hval = (byte(0) << 8) | input.get(1).map_or(0, |&b| u32::from(b));
    while ip + 2 < len {
        hval = (hval << 8) | byte(ip + 2);
        let slot = hash_index(hval);
        let candidate = table.get(slot);
        table.set(slot, ip);
        // A reference must lie strictly after the first byte (Redis's `ref > in_data`).
        let matches = candidate > 0
            && candidate < ip
            && ip - candidate - 1 < MAX_OFF
            && ip + 4 < len
            && input[candidate..candidate + 3] == input[ip..ip + 3];
        if matches {
            let off = ip - candidate - 1;
            let maxlen = (len - ip - 2).min(MAX_REF);
            // Close the literal run (or drop its unused length byte).
            if lit == 0 {
                out.pop();
            } else {
                out[lit_at] = (lit - 1) as u8;
            }
            if out.len() + 3 + 1 >= max_out {
                return None;
            }
            // `mlen` ends as the number of equal bytes. Like lzf_c.c's unrolled loop, the
            // first 16 comparisons ignore `maxlen` once it exceeds 16 (there is room).
            let same = |i: usize| input[candidate + i] == input[ip + i];
            let mut mlen = 2;
            let mut mismatch = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    mlen += 1;
                    if !same(mlen) {
                        mismatch = true;
                        break;
                    }
                }
            }
            if !mismatch {
                loop {
                    mlen += 1;
                    if mlen >= maxlen || !same(mlen) {
                        break;
                    }
                }
            }
            let mlen = mlen - 2; // octets - 1
            ip += 1;
            if mlen < 7 {
                out.push(((off >> 8) + (mlen << 5)) as u8);
            } else {
                out.push(((off >> 8) + (7 << 5)) as u8);
                out.push((mlen - 7) as u8);
            }
            out.push(off as u8);
            lit = 0;
            lit_at = out.len();
            out.push(0);
            ip += mlen + 1;
            if ip + 2 >= len {
                break;
            }
            // VERY_FAST: rehash the two positions before the new cursor.
            ip -= 2;
            hval = (byte(ip) << 8) | byte(ip + 1);
            hval = (hval << 8) | byte(ip + 2);
            table.set(hash_index(hval), ip);
            ip += 1;
            hval = (hval << 8) | byte(ip + 2);
            table.set(hash_index(hval), ip);
            ip += 1;
        } else {
            if out.len() >= max_out {
                return None;
            }
            lit += 1;
            out.push(input[ip]);
            ip += 1;
            if lit == MAX_LIT {
                out[lit_at] = (lit - 1) as u8;
                lit = 0;
                lit_at = out.len();
                out.push(0);
            }
        }
    }
    if out.len() + 3 > max_out {
        return None;
    }
    while ip < len {
        lit += 1;
        out.push(input[ip]);
        ip += 1;
        if lit == MAX_LIT {
            out[lit_at] = (lit - 1) as u8;
            lit = 0;
            lit_at = out.len();
            out.push(0);
        }
    }
    if lit == 0 {
        out.pop();
    } else {
        out[lit_at] = (lit - 1) as u8;
    }
    (out.len() <= max_out).then_some(out)
}

/// Decompresses `input`, which must expand to exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let bytes = input.get(ip..ip + run)?;
            if out.len() + run > out_len {
                return None;
            }
            out.extend_from_slice(bytes);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?) + 1;
            ip += 1;
            let start = out.len().checked_sub(back)?;
            if out.len() + len + 2 > out_len {
                return None;
            }
            // Byte by byte: a reference may overlap what it is producing.
            for i in 0..len + 2 {
                out.push(out[start + i]);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_repeated_bytes_compress_as_redis_does() {
        // `SET big <30 × a>` then `DUMP big` on redis-server 7.0.15: \xc3 \t \x1e then these 9 bytes.
        let input = vec![b'a'; 30];
        let out = compress(&input, 26).unwrap();
        assert_eq!(out, b"\x01aa\xe0\x11\x00\x01aa");
        assert_eq!(decompress(&out, 30).unwrap(), input);
    }

    #[test]
    fn incompressible_input_does_not_fit_and_round_trips_otherwise() {
        let text = b"qwertyuiopasdfghjklzxcvbnm0123456789";
        assert_eq!(compress(text, text.len() - 4), None);
        let mut seed = 7u32;
        for n in [1usize, 2, 3, 5, 21, 100, 1000, 70_000] {
            let data: Vec<u8> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    if i % 7 < 4 { b'x' } else { (seed >> 16) as u8 % 4 }
                })
                .collect();
            let out = compress(&data, data.len() + 64).unwrap();
            assert_eq!(decompress(&out, n).as_deref(), Some(data.as_slice()), "length {n}");
        }
    }

    #[test]
    fn corrupt_input_is_refused_not_a_panic() {
        assert_eq!(decompress(b"\x20\x05", 10), None);
        assert_eq!(decompress(b"\x05ab", 6), None);
        assert_eq!(decompress(b"\x00a", 2), None);
    }
}
