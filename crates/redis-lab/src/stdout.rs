//! `stdout: terminal | pipe`, shared by the redis-cli steps: whether
//! redis-cli's stdout is a terminal (`(integer) 1`, `"v1"`, numbered arrays)
//! or not (`redis-cli ... > file`, `| grep`, `--raw`: `1`, `v1`, one element a
//! line), since redis-cli 7.0 picks its output format by `isatty(stdout)`.

use scenario::diag::Diagnostic;
use scenario::yaml::{MapReader, did_you_mean};
use serde_json::json;

/// The key.
pub const KEY: &str = "stdout";

/// Its JSON Schema.
pub fn schema() -> serde_json::Value {
    json!({"enum": ["terminal", "pipe"], "default": "terminal",
        "description": "redis-cli's stdout: a terminal ((integer) 1, \"v\", numbered arrays) or a pipe or file (1, v, one element a line, errors without (error))"})
}

/// Whether `stdout: pipe` was asked for in the step `what`.
pub fn piped(m: &mut MapReader<'_>, what: &str) -> Result<bool, Diagnostic> {
    let Some(n) = m.get(KEY) else { return Ok(false) };
    let value = n.str(&format!("{what}.{KEY}"))?;
    match value.as_str() {
        "terminal" => Ok(false),
        "pipe" => Ok(true),
        other => {
            let d = Diagnostic::new(n.span, format!("`{other}` is not a kind of stdout")).with_label("unknown");
            Err(match did_you_mean(other, &["terminal", "pipe"]) {
                Some(best) => d.with_hint(format!("did you mean `{best}`? (`terminal` or `pipe`)")),
                None => d.with_hint("`terminal` (the default) or `pipe` (as `redis-cli ... > file` prints)"),
            })
        }
    }
}
