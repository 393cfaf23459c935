//! INFO's error counters (`afterErrorReply`): every error reply a client is
//! sent, in all (`total_error_replies`) and by its code, the word before the
//! first space (`errorstat_WRONGTYPE:count=1`); errors inside EXEC's reply
//! count one by one, as each queued command replied with its own.

use resp::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The counters; CONFIG RESETSTAT clears them.
#[derive(Debug, Default)]
pub(crate) struct ErrorStats {
    pub(crate) total: u64,
    /// Kept sorted, as Redis's radix tree lists them.
    by_code: BTreeMap<String, u64>,
}

impl ErrorStats {
    /// Counts the errors in a reply about to be sent (inside it too when
    /// `exec` says the reply is EXEC's; asked only for an array).
    pub(crate) fn count(&mut self, reply: &Value, exec: impl FnOnce() -> bool) {
        match reply {
            Value::Error(text) => self.one(text),
            Value::Array(items) if exec() => {
                for item in items {
                    if let Value::Error(text) = item {
                        self.one(text);
                    }
                }
            }
            _ => {}
        }
    }

    /// The code is what precedes the first space within the first 32 bytes
    /// of the error (its `-` included), else `ERR`.
    fn one(&mut self, text: &str) {
        self.total += 1;
        let head = &text.as_bytes()[..text.len().min(31)];
        let code = head.iter().position(|&b| b == b' ').map_or("ERR", |at| &text[..at]);
        match self.by_code.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                self.by_code.insert(code.to_owned(), 1);
            }
        }
    }

    /// `# Errorstats`.
    pub(crate) fn section(&self) -> String {
        let mut out = String::from("# Errorstats\r\n");
        for (code, n) in &self.by_code {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
        out
    }

    pub(crate) fn reset(&mut self) {
        *self = ErrorStats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session measured on a real 7.0.15 (INCR on a string, an unknown
    /// command, GET's arity, MULTI with INCR and LPUSH on a string, a script's
    /// own error): errorstat_ERR:count=6, MYERR 1, WRONGTYPE 1, 8 in all.
    #[test]
    fn errors_count_by_code_and_inside_exec() {
        let mut s = ErrorStats::default();
        let err = |t: &str| Value::error(t);
        s.count(&err("ERR value is not an integer or out of range"), || false);
        s.count(&err("ERR unknown command 'NOSUCHCMD', with args beginning with: "), || false);
        s.count(&err("ERR wrong number of arguments for 'get' command"), || false);
        let exec = Value::Array(vec![
            err("ERR value is not an integer or out of range"),
            err("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ]);
        s.count(&exec, || true);
        s.count(&err("ERR value is not an integer or out of range script: c243, on @user_script:1."), || false);
        s.count(&err("ERR value is not an integer or out of range"), || false);
        s.count(&err("MYERR boom"), || false);
        s.count(&Value::Array(vec![err("ERR not counted outside EXEC")]), || false);
        assert_eq!(s.total, 8);
        assert_eq!(
            s.section(),
            "# Errorstats\r\nerrorstat_ERR:count=6\r\nerrorstat_MYERR:count=1\r\nerrorstat_WRONGTYPE:count=1\r\n"
        );
        s.count(&err("NOSPACEHERE"), || false);
        assert!(s.section().contains("errorstat_ERR:count=7"));
    }
}
