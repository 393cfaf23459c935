//! A HyperLogLog as the string Redis 7.0 stores (hyperloglog.c): a 16-byte
//! header ("HYLL", the encoding, three unused bytes, the cached cardinality
//! little-endian with its top bit meaning "stale"), then 16384 registers of 6
//! bits, either dense (packed, least significant bits first) or sparse (ZERO,
//! XZERO and VAL opcodes). Every edit is made the way Redis makes it, so the
//! bytes GET and DUMP show are Redis's.
use crate::keyspace::Str;

/// Registers (`HLL_REGISTERS`, 2^14).
pub(crate) const REGISTERS: usize = 1 << 14;
/// Hash bits left after the register index (`HLL_Q`).
const Q: usize = 64 - 14;
/// The header (`struct hllhdr`).
pub(crate) const HDR: usize = 16;
/// A dense HLL's exact length (`HLL_DENSE_SIZE`).
pub(crate) const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
/// `hll-sparse-max-bytes`' default: a sparse HLL longer than this turns dense.
pub(crate) const SPARSE_MAX_BYTES: usize = 3000;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
/// `HLL_ALPHA_INF`, 0.5/ln(2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The sparse opcodes could not be walked to exactly [`REGISTERS`] registers
/// (Redis's `INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Corrupt;

/// MurmurHash64A (Austin Appleby), as Redis hashes an element.
pub(crate) fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> 47;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 47;
    h = h.wrapping_mul(M);
    h ^ (h >> 47)
}

/// `hllPatLen`: the register an element falls in, and the length of the
/// 0...01 run that follows the index bits (1 to Q+1).
pub(crate) fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash as usize) & (REGISTERS - 1);
    let rest = (hash >> 14) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A new, empty HLL (`createHLLObject`): sparse, one XZERO over every register.
pub(crate) fn new_sparse() -> Str {
    let mut s = b"HYLL".to_vec();
    s.extend_from_slice(&[SPARSE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    push_xzero(&mut s, REGISTERS);
    Str::from_vec(s)
}

/// Whether a string is a HyperLogLog (`isHLLObjectOrReply`'s checks).
pub(crate) fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR && &s[..4] == b"HYLL" && s[4] <= SPARSE && (s[4] == SPARSE || s.len() == DENSE_SIZE)
}

/// Whether the encoding byte says dense.
pub(crate) fn is_dense(s: &[u8]) -> bool {
    s[4] == DENSE
}

/// The cached cardinality, if it is not stale.
pub(crate) fn cached(s: &[u8]) -> Option<u64> {
    (s[15] & 0x80 == 0).then(|| u64::from_le_bytes(s[8..16].try_into().expect("8 bytes")))
}

/// Stores a freshly computed cardinality.
pub(crate) fn set_cache(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

/// `HLL_INVALIDATE_CACHE`.
pub(crate) fn invalidate(s: &mut [u8]) {
    s[15] |= 0x80;
}

/// The 6-bit register `i` of dense registers.
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let (byte, fb) = (i * 6 / 8, (i * 6) & 7);
    let b0 = u32::from(regs[byte]);
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

fn dense_put(regs: &mut [u8], i: usize, v: u8) {
    let (byte, fb) = (i * 6 / 8, (i * 6) & 7);
    let v = u32::from(v);
    regs[byte] = (u32::from(regs[byte]) & !(63 << fb) | (v << fb)) as u8;
    if let Some(b1) = regs.get_mut(byte + 1) {
        *b1 = (u32::from(*b1) & !(63 >> (8 - fb)) | (v >> (8 - fb))) as u8;
    }
}

/// `hllDenseSet`: raises register `i` to `count`; whether it changed.
fn dense_set(s: &mut [u8], i: usize, count: u8) -> bool {
    let regs = &mut s[HDR..];
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        return true;
    }
    false
}

/// One sparse opcode at `p`: (registers it covers, its length in bytes,
/// its value). An XZERO cut short reads a zero second byte, as Redis reads
/// the string's terminator.
fn opcode(s: &[u8], p: usize) -> (usize, usize, u8) {
    let b = s[p];
    match b & 0xc0 {
        0x00 => (usize::from(b & 0x3f) + 1, 1, 0),
        0x40 => ((usize::from(b & 0x3f) << 8 | usize::from(s.get(p + 1).copied().unwrap_or(0))) + 1, 2, 0),
        _ => (usize::from(b & 3) + 1, 1, ((b >> 2) & 0x1f) + 1),
    }
}

fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push((l >> 8) as u8 | 0x40);
    out.push((l & 0xff) as u8);
}

/// A run of zero registers, as ZERO when it fits one, XZERO otherwise.
fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push(len as u8 - 1);
    }
}

/// Calls `f(first register, run length, value)` for each sparse opcode, in
/// order, while it returns true.
fn walk_sparse(s: &[u8], mut f: impl FnMut(usize, usize, u8) -> bool) {
    let (mut p, mut idx) = (HDR, 0);
    while p < s.len() {
        let (run, oplen, value) = opcode(s, p);
        if !f(idx, run, value) {
            return;
        }
        idx += run;
        p += oplen;
    }
}

/// Sparse registers into `out` (one call per non-zero register): the walk
/// of `hllMerge` and `hllSparseToDense`. Corrupt unless the runs cover every
/// register and no run goes past the last (the Redis 7.0.15 measured here
/// refuses a VAL run past the end even after all registers were covered).
fn sparse_registers(s: &[u8], mut out: impl FnMut(usize, u8)) -> Result<(), Corrupt> {
    let mut covered = 0;
    let mut past = false;
    walk_sparse(s, |first, run, value| {
        covered = first + run;
        past = covered > REGISTERS;
        if value > 0 && !past {
            (first..covered).for_each(|i| out(i, value));
        }
        !past
    });
    if covered == REGISTERS && !past { Ok(()) } else { Err(Corrupt) }
}

/// `hllSparseToDense`: rewrites a sparse HLL dense (the header, cache
/// included, is kept); a dense one is left alone.
pub(crate) fn to_dense(s: &mut Str) -> Result<(), Corrupt> {
    if is_dense(s) {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&s[..HDR]);
    dense[4] = DENSE;
    sparse_registers(s, |i, v| dense_put(&mut dense[HDR..], i, v))?;
    *s = Str::from_vec(dense);
    Ok(())
}

/// Raises register `index` to `count` (`hllDenseSet`/`hllSparseSet`), the
/// sparse form turning dense when the value or the length no longer fits it;
/// whether it changed.
pub(crate) fn set(s: &mut Str, index: usize, count: u8, max_sparse: usize) -> Result<bool, Corrupt> {
    if is_dense(s) { Ok(dense_set(s, index, count)) } else { sparse_set(s, index, count, max_sparse) }
}

/// `hllAdd`: adds one element; whether a register changed.
pub(crate) fn add(s: &mut Str, ele: &[u8], max_sparse: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    set(s, index, count, max_sparse)
}

/// `hllSparseSet`.
fn sparse_set(s: &mut Str, index: usize, count: u8, max_sparse: usize) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: the opcode covering `index`, and the one before it.
    let (mut p, mut first, mut prev, mut span) = (HDR, 0, None, 0);
    while p < s.len() {
        let (run, oplen, _) = opcode(s, p);
        span = run;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= s.len() {
        return Err(Corrupt);
    }
    let (runlen, oplen, value) = opcode(s, p);
    // Steps 2 and 3: update in place, or split the opcode.
    if value >= count {
        return Ok(false);
    }
    // Cases B and C: a one-register VAL or ZERO becomes the new VAL.
    let in_place = runlen == 1 && oplen == 1;
    if in_place {
        s[p] = val_op(count, 1);
    } else {
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if index != first {
            if value > 0 { seq.push(val_op(value, index - first)) } else { push_zeros(&mut seq, index - first) }
        }
        seq.push(val_op(count, 1));
        if index != last {
            if value > 0 { seq.push(val_op(value, last - index)) } else { push_zeros(&mut seq, last - index) }
        }
        let grown = s.len() + seq.len();
        if seq.len() > oplen && grown - oplen > max_sparse {
            return promote(s, index, count);
        }
        let tail = s.get(p + oplen..).map(<[u8]>::to_vec).unwrap_or_default();
        s.truncate(p);
        s.extend_from_slice(&seq);
        s.extend_from_slice(&tail);
        // An XZERO cut short at the end: Redis's length counts its two bytes.
        s.truncate(grown - oplen);
    }
    merge_vals(s, prev.unwrap_or(HDR));
    invalidate(s);
    Ok(true)
}

/// Step 4 of `hllSparseSet`: up to five opcodes from `p` on, adjacent VALs
/// of one value are joined while their length fits.
fn merge_vals(s: &mut Str, mut p: usize) {
    let mut scan = 5;
    while p < s.len() && scan > 0 {
        scan -= 1;
        let (run, oplen, value) = opcode(s, p);
        if value == 0 {
            p += oplen;
            continue;
        }
        if p + 1 < s.len() && s[p + 1] & 0x80 != 0 {
            let (run2, _, value2) = opcode(s, p + 1);
            if value == value2 && run + run2 <= VAL_MAX_LEN {
                s[p + 1] = val_op(value, run + run2);
                s.remove(p);
                continue;
            }
        }
        p += 1;
    }
}

/// The `promote` label of `hllSparseSet`: dense, then set there.
fn promote(s: &mut Str, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(s)?;
    Ok(dense_set(s, index, count))
}

/// Raises `max` to every register of a valid HLL (`hllMerge`).
pub(crate) fn merge_into(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    if is_dense(s) {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(&s[HDR..], i));
        }
        return Ok(());
    }
    sparse_registers(s, |i, v| max[i] = max[i].max(v))
}

/// The register histogram of a valid HLL (`hllDenseRegHisto` /
/// `hllSparseRegHisto`); a sparse one whose runs miss the register count is
/// corrupt.
fn histogram(s: &[u8]) -> Result<[u64; 64], Corrupt> {
    let mut h = [0u64; 64];
    if is_dense(s) {
        (0..REGISTERS).for_each(|i| h[usize::from(dense_get(&s[HDR..], i))] += 1);
        return Ok(h);
    }
    let mut covered = 0;
    walk_sparse(s, |first, run, value| {
        h[usize::from(value)] += run as u64;
        covered = first + run;
        true
    });
    if covered == REGISTERS { Ok(h) } else { Err(Corrupt) }
}

/// The cardinality of a valid HLL (`hllCount`).
pub(crate) fn count(s: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(s)?))
}

/// The cardinality of registers one byte each (PFCOUNT of several keys).
pub(crate) fn count_registers(regs: &[u8; REGISTERS]) -> u64 {
    let mut h = [0u64; 64];
    regs.iter().for_each(|&r| h[usize::from(r)] += 1);
    estimate(&h)
}

/// Ertl's estimator from the register histogram, in `hllCount`'s order of
/// double operations.
fn estimate(h: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for &n in h[1..=Q].iter().rev() {
        z += n as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    // `llroundl`: half away from zero; an empty HLL divides by infinity.
    (ALPHA_INF * m * m / z).round() as u64
}

/// `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

/// `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// PFDEBUG DECODE's text for a sparse HLL.
pub(crate) fn decode(s: &[u8]) -> String {
    let mut out = Vec::new();
    let mut p = HDR;
    while p < s.len() {
        let (run, oplen, value) = opcode(s, p);
        out.push(match (s[p] & 0xc0, value) {
            (0x00, _) => format!("z:{run}"),
            (0x40, _) => format!("Z:{run}"),
            _ => format!("v:{value},{run}"),
        });
        p += oplen;
    }
    out.join(" ")
}

/// Overwrites every register of a dense HLL (PFSELFTEST).
pub(crate) fn write_registers(s: &mut [u8], values: &[u8; REGISTERS]) {
    for (i, &v) in values.iter().enumerate() {
        dense_put(&mut s[HDR..], i, v);
    }
}

/// Every register's value (PFDEBUG GETREG) of a dense HLL.
pub(crate) fn registers(s: &[u8]) -> Vec<u8> {
    (0..REGISTERS).map(|i| dense_get(&s[HDR..], i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_pack_six_bits_without_touching_their_neighbours() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        for i in 0..REGISTERS {
            dense_put(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8, "register {i}");
        }
    }

    #[test]
    fn an_empty_hll_counts_zero_and_is_one_xzero() {
        let s = new_sparse();
        assert_eq!(s.len(), 18);
        assert_eq!(&s[HDR..], &[0x7f, 0xff]);
        assert_eq!(count(&s), Ok(0));
        assert_eq!(decode(&s), "Z:16384");
    }

    #[test]
    fn a_truncated_sparse_hll_is_corrupt() {
        let mut s = new_sparse();
        s[HDR + 1] = 0xfe;
        assert_eq!(count(&s), Err(Corrupt));
        assert_eq!(to_dense(&mut s), Err(Corrupt));
        assert_eq!(set(&mut s, REGISTERS - 1, 3, SPARSE_MAX_BYTES), Err(Corrupt));
    }

    #[test]
    fn alpha_is_the_double_redis_parses() {
        assert_eq!(ALPHA_INF, "0.721347520444481703680".parse::<f64>().unwrap());
    }
}
