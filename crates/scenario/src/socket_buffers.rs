//! The `network:` section's TCP buffer sizes, `tcp-rmem` and `tcp-wmem`:
//! three byte counts (min, default, max) as Linux's `net.ipv4.tcp_rmem` and
//! `net.ipv4.tcp_wmem` hold them, written as a list or as the line
//! `/proc/sys/net/ipv4/tcp_rmem` prints.

use crate::diag::Diagnostic;
use crate::yaml::{MapReader, Node, Value};
use sim::{NetConfig, SocketBuffers};

const FORMS: &str = "write three byte counts, min default max, as `[4096, 131072, 33554432]` or \
                     `\"4096 131072 33554432\"` (what /proc/sys/net/ipv4/tcp_rmem prints), with min <= default <= max";

/// Reads `tcp-rmem` and `tcp-wmem`, if present, into `net.buffers`.
pub(crate) fn read(m: &mut MapReader<'_>, net: &mut NetConfig) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut buffers: SocketBuffers = net.buffers;
    for (key, slot) in [("tcp-rmem", &mut buffers.rmem), ("tcp-wmem", &mut buffers.wmem)] {
        if let Some(n) = m.get(key) {
            match triple(n, key) {
                Ok(t) => *slot = t,
                Err(d) => errors.push(d),
            }
        }
    }
    net.buffers = buffers;
    errors
}

fn triple(n: &Node, key: &str) -> Result<[u32; 3], Diagnostic> {
    let bad = |message: String| Diagnostic::new(n.span, message).with_hint(FORMS);
    let values: Vec<u64> = match &n.value {
        Value::Seq(items) => items.iter().map(|i| i.u64(key)).collect::<Result<_, _>>()?,
        Value::Str(text) => {
            let words = text.split_whitespace().map(|w| w.parse::<u64>());
            words
                .collect::<Result<_, _>>()
                .map_err(|_| bad(format!("`{key}` must be three byte counts, found `{text}`")))?
        }
        _ => return Err(bad(format!("`{key}` must be three byte counts, found {}", n.kind_phrase()))),
    };
    let [min, default, max] = values[..] else {
        return Err(bad(format!("`{key}` takes three byte counts (min default max), found {}", values.len())));
    };
    if !(1..=u64::from(i32::MAX as u32)).contains(&default) || max > u64::from(i32::MAX as u32) {
        return Err(bad(format!("`{key}` sizes must be between 1 and {} bytes", i32::MAX)));
    }
    if min > default || default > max {
        return Err(bad(format!("`{key}` must have min <= default <= max, found {min} {default} {max}")));
    }
    Ok([min as u32, default as u32, max as u32])
}
