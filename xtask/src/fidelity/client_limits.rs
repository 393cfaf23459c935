//! `maxclients` and `timeout` at runtime (issue 24): several connections
//! and a wait, which the one-connection catalogue cannot do. Past
//! `maxclients` a connection gets the error and is closed, and counts as
//! rejected; an idle normal client is closed by the cron with a verbose log
//! line, a subscribed one is not.

use super::observe::{Expect, Mask, Obs};
use super::target::{Conn, Target, args};
use std::time::Duration;

const PORT: u16 = 7728;

/// One command on `conn`, its reply observed.
fn call(t: &mut dyn Target, conn: Conn, who: &str, line: &str) -> Result<Obs, String> {
    Ok(Obs::reply(format!("{who}> {line}"), &t.call(conn, &args(line))?, Expect::Same, Mask::None))
}

/// What `conn` received since the last look, or that it is closed.
fn received(t: &mut dyn Target, conn: Conn, who: &str, when: &str) -> Obs {
    let seen = match t.received(conn) {
        Ok(bytes) => format!("received {:?}", String::from_utf8_lossy(&bytes)),
        Err(_) => "closed".to_owned(),
    };
    Obs::fact(format!("{who} {when}"), seen, Expect::Same)
}

/// A field of INFO stats, asked on `conn`.
fn stat(t: &mut dyn Target, conn: Conn, field: &str) -> Result<Obs, String> {
    let info = t.call(conn, &args("INFO stats"))?.text();
    let prefix = format!("{field}:");
    let value = info.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("").to_owned();
    Ok(Obs::fact(format!("INFO stats {field}"), value, Expect::Same))
}

/// The group: maxclients first, then timeout.
pub fn catalogue(t: &mut dyn Target) -> Result<Vec<Obs>, String> {
    t.start(PORT, "save \"\"\nloglevel verbose\n")?;
    let admin = t.connect(PORT)?;
    let mut out =
        vec![call(t, admin, "admin", "CONFIG RESETSTAT")?, call(t, admin, "admin", "CONFIG SET maxclients 2")?];
    let second = t.connect(PORT)?;
    out.push(call(t, second, "second", "PING")?);
    let third = t.connect(PORT)?;
    t.sleep(Duration::from_millis(300));
    out.push(received(t, third, "third", "past maxclients"));
    t.sleep(Duration::from_millis(100));
    out.push(received(t, third, "third", "then"));
    out.push(stat(t, admin, "rejected_connections")?);
    out.push(stat(t, admin, "total_connections_received")?);
    out.push(call(t, admin, "admin", "CONFIG SET maxclients 1")?);
    out.push(call(t, second, "second", "PING")?);
    out.push(call(t, admin, "admin", "CONFIG SET maxclients 10000")?);
    out.push(call(t, admin, "admin", "CONFIG SET timeout 1")?);
    let idle = t.connect(PORT)?;
    out.push(call(t, idle, "idle", "PING")?);
    let sub = t.connect(PORT)?;
    t.send(sub, &args("SUBSCRIBE ch"))?;
    t.sleep(Duration::from_millis(300));
    out.push(received(t, sub, "subscriber", "subscribed"));
    // Closed once more than one whole second passed: within 2.1 s.
    t.sleep(Duration::from_millis(2500));
    out.push(received(t, idle, "idle client", "after 2.8 s"));
    out.push(received(t, second, "second client", "after 2.8 s"));
    out.push(received(t, sub, "subscriber", "after 2.8 s"));
    let closing = t.log(PORT).iter().filter(|l| l.as_str() == "Closing idle client").count();
    out.push(Obs::fact("log: Closing idle client", closing.to_string(), Expect::Same));
    Ok(out)
}
