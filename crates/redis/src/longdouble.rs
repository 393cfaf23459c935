//! Redis's `long double` arithmetic as a Linux x86-64 build does it: the x87
//! 80-bit extended format (a 64-bit significand, exponents down to 2^-16445
//! with denormals, up to ~1.19e4932). INCRBYFLOAT and HINCRBYFLOAT parse both
//! operands with `strtold` (`string2ld`), add them once, and print the sum with
//! `"%.17Lf"`, trailing zeros removed (`ld2string`'s `LD_STR_HUMAN`). Each step
//! is emulated exactly: parsing and the sum are correctly rounded to nearest,
//! ties to even, as glibc and the FPU do; the print is glibc's exact decimal
//! expansion, rounded at the 17th decimal the same way.

use std::cmp::Ordering;

/// Exponent of the least significant bit of the smallest denormal.
const EXP_MIN: i32 = -16445;
/// Exponent of the least significant bit of the largest finite value.
const EXP_MAX: i32 = 16320;
/// The longest string `string2ld` takes (`MAX_LONG_DOUBLE_CHARS` less its NUL).
const MAX_CHARS: usize = 5 * 1024 - 1;

/// A finite x87 extended value: `mant * 2^exp`, with bit 63 of `mant` set
/// unless it is a denormal (then `exp` is [`EXP_MIN`]) or zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i32,
}

/// What `strtold` made of a string Redis accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Finite(LongDouble),
    /// `inf` or `infinity` (NaN and out-of-range values are refused).
    Infinite,
}

impl LongDouble {
    const ZERO: LongDouble = LongDouble { neg: false, mant: 0, exp: 0 };

    /// `(long double)n`: exact.
    pub(crate) fn from_i64(n: i64) -> LongDouble {
        round(n < 0, u128::from(n.unsigned_abs()), 0).unwrap_or(LongDouble::ZERO)
    }

    /// `string2ld`: the value of `s`, or `None` where Redis answers "not a
    /// valid float" (empty, too long, leading space, trailing bytes, NaN, a
    /// finite value that overflows or underflows to zero).
    pub(crate) fn parse(s: &[u8]) -> Option<Parsed> {
        if s.is_empty() || s.len() > MAX_CHARS {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(Parsed::Infinite);
        }
        let value = match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(neg, hex)?,
            _ => parse_decimal(neg, body)?,
        };
        value.map(Parsed::Finite)
    }

    /// `a + b` in extended precision; `None` when it overflows to infinity.
    pub(crate) fn add(self, other: LongDouble) -> Option<LongDouble> {
        if self.mant == 0 {
            return Some(if other.mant == 0 { LongDouble { neg: self.neg && other.neg, ..other } } else { other });
        }
        if other.mant == 0 {
            return Some(self);
        }
        let (hi, lo) = if self.exp >= other.exp { (self, other) } else { (other, self) };
        // Both on the scale of hi's bit 0 shifted up 62 places: 62 guard bits
        // below hi, and what lo has further down jammed into bit 0.
        let base = hi.exp - 62;
        let a = u128::from(hi.mant) << 62;
        let shift = lo.exp - base;
        let b = if shift >= 0 {
            u128::from(lo.mant) << shift
        } else {
            let right = shift.unsigned_abs();
            if right >= 128 { 1 } else { jam(u128::from(lo.mant), right) }
        };
        let (neg, m) = if hi.neg == lo.neg {
            (hi.neg, a + b)
        } else {
            match a.cmp(&b) {
                Ordering::Greater => (hi.neg, a - b),
                Ordering::Less => (lo.neg, b - a),
                Ordering::Equal => return Some(LongDouble::ZERO),
            }
        };
        round(neg, m, base)
    }

    /// `ld2string(..., LD_STR_HUMAN)`: `"%.17Lf"`, trailing zeros and a bare
    /// point dropped, `-0` written `0`.
    pub(crate) fn to_human(self) -> String {
        let mut text = if self.exp >= 0 {
            let mut big = Big::from_u128(u128::from(self.mant));
            big.shl(self.exp.unsigned_abs());
            big.to_decimal()
        } else {
            fraction_digits(self.mant, self.exp.unsigned_abs())
        };
        if self.neg && text != "0" {
            text.insert(0, '-');
        }
        text
    }
}

/// `m >> right` with every bit shifted out ORed into bit 0.
fn jam(m: u128, right: u32) -> u128 {
    let lost = m & ((1u128 << right) - 1);
    (m >> right) | u128::from(lost != 0)
}

/// `mant * 2^-right` printed with 17 decimals, rounded to nearest (ties to
/// even), trailing zeros dropped.
fn fraction_digits(mant: u64, right: u32) -> String {
    const SCALE: u128 = 100_000_000_000_000_000; // 10^17
    let scaled = u128::from(mant) * SCALE; // < 2^121
    let q = if right >= 128 {
        0 // below 2^121 / 2^128: under half a unit of the 17th decimal
    } else {
        let q = scaled >> right;
        let rest = scaled & ((1u128 << right) - 1);
        let half = 1u128 << (right - 1);
        match rest.cmp(&half) {
            Ordering::Greater => q + 1,
            Ordering::Equal if q & 1 == 1 => q + 1,
            _ => q,
        }
    };
    let (int, frac) = (q / SCALE, q % SCALE);
    let frac = format!("{frac:017}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}

/// Rounds the exact value `m * 2^exp` to the format (a nonzero value may
/// come out as zero); `None` on overflow.
fn round(neg: bool, m: u128, exp: i32) -> Option<LongDouble> {
    let bits = 128 - m.leading_zeros() as i32;
    // Keep 64 bits, fewer below the smallest exponent (a denormal).
    let shift = (bits - 64).max(EXP_MIN - exp);
    let mant = if shift <= 0 { m << shift.unsigned_abs() } else { shr_round(m, shift.unsigned_abs()) };
    let (mant, exp) = if mant >> 64 != 0 { (mant >> 1, exp + shift + 1) } else { (mant, exp + shift) };
    if mant == 0 {
        return Some(LongDouble { neg, ..LongDouble::ZERO });
    }
    (exp <= EXP_MAX).then_some(LongDouble { neg, mant: mant as u64, exp })
}

/// `m / 2^shift` rounded to nearest, ties to even.
fn shr_round(m: u128, shift: u32) -> u128 {
    match shift {
        // Under half of one unit (m < 2^128 <= 2^(shift-1)).
        129.. => 0,
        128 => u128::from(m > 1 << 127),
        _ => {
            let kept = m >> shift;
            let rest = m & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            kept + u128::from(rest > half || (rest == half && kept & 1 == 1))
        }
    }
}

/// The decimal forms `strtold` takes: digits with an optional point (at least
/// one digit), then an optional `e` exponent. `Some(None)`: out of range.
fn parse_decimal(neg: bool, s: &[u8]) -> Option<Option<LongDouble>> {
    let (digits, exp10) = split_number(s, |b| b.is_ascii_digit(), b"eE")?;
    let significant = &digits[digits.iter().take_while(|&&c| c == b'0').count()..];
    if significant.is_empty() {
        return Some(Some(LongDouble { neg, ..LongDouble::ZERO }));
    }
    // The value is below 10^magnitude and at least a tenth of it: far out of
    // range (over ~1.19e4932, under half the smallest denormal, ~1.8e-4951)
    // needs no powers built.
    let magnitude = exp10.saturating_add(significant.len() as i64);
    if !(-4950..=4933).contains(&magnitude) {
        return Some(None);
    }
    let mut d = Big::default();
    for &c in significant {
        d.mul_add(10, u32::from(c - b'0'));
    }
    let value = if exp10 >= 0 {
        d.mul_pow10(exp10.unsigned_abs() as u32);
        d.round_to(neg, 0)
    } else {
        let mut p = Big::from_u128(1);
        p.mul_pow10(exp10.unsigned_abs() as u32);
        // Enough quotient bits for the significand, its rounding bit and more.
        let extra = (p.bits() + 70).saturating_sub(d.bits());
        d.shl(extra);
        let (q, inexact) = d.div(&p);
        let (m, (low, sticky)) = q.top_bits();
        round(neg, m | u128::from(inexact || sticky), low as i32 - extra as i32)
    };
    Some(value.filter(|v| v.mant != 0))
}

/// Hex floats: `0x` then hex digits with an optional point (at least one
/// digit), then an optional `p` binary exponent.
fn parse_hex(neg: bool, s: &[u8]) -> Option<Option<LongDouble>> {
    let (digits, exp4) = split_number(s, |b| b.is_ascii_hexdigit(), b"pP")?;
    let mut h = Big::default();
    for &c in &digits {
        h.mul_add(16, (c as char).to_digit(16).unwrap_or(0));
    }
    if h.is_zero() {
        return Some(Some(LongDouble { neg, ..LongDouble::ZERO }));
    }
    Some(h.round_to(neg, exp4.clamp(-100_000, 100_000) as i32).filter(|v| v.mant != 0))
}

/// Splits `int[.frac][<e>[sign]exp]` into all its digits and the exponent
/// applying to them as an integer (for hex, in bits: a point moves 4 of them).
/// `None` if anything else is left.
fn split_number(s: &[u8], digit: impl Fn(u8) -> bool, marks: &[u8]) -> Option<(Vec<u8>, i64)> {
    let int_len = s.iter().take_while(|&&b| digit(b)).count();
    let mut digits = s[..int_len].to_vec();
    let mut rest = &s[int_len..];
    let mut frac_len = 0i64;
    if let [b'.', after @ ..] = rest {
        let n = after.iter().take_while(|&&b| digit(b)).count();
        digits.extend_from_slice(&after[..n]);
        frac_len = n as i64;
        rest = &after[n..];
    }
    if digits.is_empty() {
        return None;
    }
    let per_digit = if marks == b"pP" { 4 } else { 1 };
    let mut exp = -frac_len * per_digit;
    if let [m, after @ ..] = rest
        && marks.contains(m)
    {
        let (neg, body) = match after {
            [b'-', b @ ..] => (true, b),
            [b'+', b @ ..] => (false, b),
            b => (false, b),
        };
        if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = body.iter().fold(0i64, |n, &d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
        exp = exp.saturating_add(if neg { -n } else { n });
        rest = &[];
    }
    rest.is_empty().then_some((digits, exp))
}

/// An unsigned big integer, little-endian 32-bit limbs: just what parsing and
/// printing need.
#[derive(Clone, Debug, Default)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut n: u128) -> Big {
        let mut limbs = Vec::new();
        while n != 0 {
            limbs.push(n as u32);
            n >>= 32;
        }
        Big(limbs)
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u32 {
        self.0.last().map_or(0, |top| (self.0.len() as u32 - 1) * 32 + 32 - top.leading_zeros())
    }

    /// `self = self * m + a`.
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u32) {
        while n >= 9 {
            self.mul_add(1_000_000_000, 0);
            n -= 9;
        }
        self.mul_add(10u32.pow(n), 0);
    }

    fn shl(&mut self, n: u32) {
        if self.is_zero() {
            return;
        }
        let (limbs, bits) = ((n / 32) as usize, n % 32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &limb in &self.0 {
            out.push(if bits == 0 { limb } else { (limb << bits) | carry });
            carry = if bits == 0 { 0 } else { limb >> (32 - bits) };
        }
        if carry != 0 {
            out.push(carry);
        }
        self.0 = out;
    }

    fn bit(&self, i: u32) -> bool {
        self.0.get((i / 32) as usize).is_some_and(|l| l >> (i % 32) & 1 == 1)
    }

    /// The top (up to) 100 bits as an integer, the exponent of its bit 0, and
    /// whether any bit below them is set.
    fn top_bits(&self) -> (u128, (u32, bool)) {
        let bits = self.bits();
        let low = bits.saturating_sub(100);
        let m = (low..bits).rev().fold(0u128, |m, i| (m << 1) | u128::from(self.bit(i)));
        let sticky = (0..low).any(|i| self.bit(i));
        (m, (low, sticky))
    }

    /// Rounds `self * 2^exp` to the format.
    fn round_to(&self, neg: bool, exp: i32) -> Option<LongDouble> {
        let (m, (low, sticky)) = self.top_bits();
        round(neg, (m << 1) | u128::from(sticky), exp + low as i32 - 1)
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let v = i64::from(*limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            *limb = v.rem_euclid(1 << 32) as u32;
            borrow = i64::from(v < 0);
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// `(self / d, self % d != 0)` by shift and subtract.
    fn div(&self, d: &Big) -> (Big, bool) {
        let mut rest = self.clone();
        let mut q = Big::default();
        let top = self.bits().saturating_sub(d.bits());
        for i in (0..=top).rev() {
            let mut shifted = d.clone();
            shifted.shl(i);
            if rest.cmp(&shifted) != Ordering::Less {
                rest.sub(&shifted);
                let mut one = Big::from_u128(1);
                one.shl(i);
                q = q.or(&one);
            }
        }
        (q, !rest.is_zero())
    }

    fn or(mut self, other: &Big) -> Big {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
        self
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            let mut rem = 0u64;
            for limb in n.0.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*limb);
                *limb = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            while n.0.last() == Some(&0) {
                n.0.pop();
            }
            chunks.push(rem);
        }
        let mut out = chunks.pop().map_or_else(|| "0".to_owned(), |top| top.to_string());
        for c in chunks.iter().rev() {
            out.push_str(&format!("{c:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{LongDouble, Parsed};

    fn ld(s: &str) -> LongDouble {
        match LongDouble::parse(s.as_bytes()) {
            Some(Parsed::Finite(v)) => v,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn sum(a: &str, b: &str) -> Option<String> {
        ld(a).add(ld(b)).map(LongDouble::to_human)
    }

    /// INCRBYFLOAT on a real 7.0.15: the stored string is parsed again each time.
    #[test]
    fn sums_print_as_redis_prints_them() {
        let mut v = "0".to_owned();
        let mut seen = Vec::new();
        for _ in 0..10 {
            v = sum(&v, "0.1").expect("finite");
            seen.push(v.clone());
        }
        assert_eq!(seen, ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"]);
        let cases = [
            ("100000000000000000", "1", "100000000000000001"),
            ("0", "3.0e3", "3000"),
            ("0", "5.0e-2", "0.05"),
            ("0", "-0.0", "0"),
            ("0", "1e-18", "0"),
            ("0", "-1e-18", "0"),
            ("0", "1.5e-17", "0.00000000000000002"),
            ("0", "2.5e-17", "0.00000000000000002"),
            ("0", "0.000000000000000015", "0.00000000000000002"),
            ("0", "0.000000000000000025", "0.00000000000000002"),
            ("0", "0.1", "0.1"),
            ("0.1", "0.2", "0.3"),
            ("0", "123456789012345678901234567890", "123456789012345678899921813504"),
            ("0", "0.123456789012345678901234567890", "0.12345678901234568"),
            ("0", "0.30000000000000004", "0.30000000000000004"),
            ("0", "1.00000000000000000005", "1"),
            ("0", "99999999999999999999.999999999999999995", "100000000000000000000"),
            ("9223372036854775807", "1", "9223372036854775808"),
            ("9223372036854775808", "-9223372036854775808", "0"),
            ("0", "-5", "-5"),
            ("-5", "5", "0"),
            ("0.25", ".5", "0.75"),
            ("0", "0x1p-2", "0.25"),
            ("0", "0X10", "16"),
            ("0", "0x1.8", "1.5"),
            ("0", "0x.8p1", "1"),
            ("0", "00012.5000", "12.5"),
            ("0", "1e-4940", "0"),
            ("0", "2e-4951", "0"),
            ("1.5", "-1.6", "-0.1"),
            ("1.6", "-1.6", "0"),
        ];
        for (a, b, want) in cases {
            assert_eq!(sum(a, b).as_deref(), Some(want), "{a} + {b}");
        }
        assert_eq!(sum("1.1e4932", "1.1e4932"), None, "overflow");
        assert!(sum("1e4932", "1e4932").is_none());
    }

    #[test]
    fn strtold_refuses_what_redis_refuses() {
        for bad in [
            "",
            " 1",
            "1 ",
            "abc",
            "1,5",
            "nan",
            "NaN",
            "0x",
            "1e",
            "1e+",
            "-",
            ".",
            "+-1",
            "0x1p",
            "1e5000",
            "1e-5000",
            "1e-4951",
            "1.18973149535723176509e+4932",
            "infin",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        for inf in ["inf", "-INF", "Infinity", "+infinity"] {
            assert_eq!(LongDouble::parse(inf.as_bytes()), Some(Parsed::Infinite), "{inf}");
        }
        let max = ld("1.18973149535723176502e+4932");
        assert_eq!(max, ld("0x1.fffffffffffffffep16383"));
    }

    /// Integers up to 64 significant bits print exactly and parse back to themselves.
    #[test]
    fn big_integers_round_trip() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for _ in 0..300 {
            let n = next() | 1;
            let shift = (next() % 400) as u32;
            let v = super::round(n & 1 == 0, u128::from(n), shift as i32).expect("in range");
            let text = v.to_human();
            assert_eq!(ld(&text), v, "{text}");
            assert_eq!(LongDouble::from_i64(n as i64 >> 1).to_human(), ((n as i64) >> 1).to_string());
        }
    }
}
