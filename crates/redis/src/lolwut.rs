//! LOLWUT [VERSION v] (lolwut.c): 7.0's own version prints the server's
//! version; VERSION picks another release's art by the number's `%u.0.0`
//! form.

use resp::Value;

/// LOLWUT's reply (a verbatim string in RESP3).
pub(crate) fn lolwut(args: &[Vec<u8>]) -> Value {
    let mut version = None;
    if args.len() >= 3 && args[1].eq_ignore_ascii_case(b"version") {
        match crate::commands::parse_int(&args[2]) {
            // `snprintf("%u.0.0", (unsigned int)ver)`: only the low 32 bits count.
            Some(v) => version = Some(v as u32),
            None => return Value::error("ERR value is not an integer or out of range"),
        }
    }
    match version {
        Some(5 | 6) => Value::error(
            "ERR LOLWUT VERSION 5 and 6 (random art) are not simulated by chaoslab; LOLWUT without VERSION is",
        ),
        _ => Value::Verbatim(format!("Redis ver. {}\n", common::VERSION).into_bytes()),
    }
}
