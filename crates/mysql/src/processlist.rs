//! SHOW [FULL] PROCESSLIST: the client connections, the binlog dumps a
//! master serves, and a replica's IO and SQL threads, as MariaDB 10.11
//! lists them (measured on 10.11.19: `system user` rows with an empty Host,
//! the IO thread's Command `Connect` until it first reaches its master and
//! `Slave_IO` after, `Binlog Dump` with its waiting state, `Sleep` for idle
//! clients, and the asking connection in `Query` / `starting`).

use super::{IoState, Phase, Server};
use crate::engine::Outcome;
use crate::flavor::Flavor;

/// SHOW PROCESSLIST's columns and whether each is numeric (right-aligned).
const COLUMNS: [(&str, bool); 9] = [
    ("Id", true),
    ("User", false),
    ("Host", false),
    ("db", false),
    ("Command", false),
    ("Time", true),
    ("State", false),
    ("Info", false),
    ("Progress", true),
];

/// How many characters of a statement SHOW PROCESSLIST (without FULL) shows.
const INFO_CHARS: usize = 100;

/// One row: id, user, host, db, command, since (host ms), state, info.
type Row = (u32, String, String, Option<String>, &'static str, i64, String, Option<String>);

impl Server {
    /// The rows of SHOW [FULL] PROCESSLIST at host wall-clock `now_ms`.
    pub(super) fn show_processlist(&self, now_ms: i64, full: bool) -> Outcome {
        let mut rows: Vec<Row> = self.client_rows(now_ms);
        rows.extend(self.replica_rows());
        // without PROCESS, an account sees only its own connections
        let asking = self.current.as_ref().and_then(|(conn, _)| self.clients.get(conn)).map(|c| c.user.as_str());
        if let Some(user) = asking.filter(|u| !self.account(u).is_some_and(|a| a.has("PROCESS"))) {
            rows.retain(|r| r.1 == user);
        }
        rows.sort_by_key(|r| r.0);
        // MySQL 5.7 has no Progress column
        let shown = if self.config.flavor == Flavor::Mysql57 { &COLUMNS[..8] } else { &COLUMNS[..] };
        let columns = shown.iter().map(|(c, n)| (c.to_string(), *n)).collect();
        let rows = rows
            .into_iter()
            .map(|(id, user, host, db, command, since, state, info)| {
                let info = info.map(|i| if full { i } else { i.chars().take(INFO_CHARS).collect() });
                let secs = (now_ms - since).max(0) / 1000;
                let mut row = vec![
                    Some(id.to_string()),
                    Some(user),
                    Some(host),
                    db,
                    Some(command.to_owned()),
                    Some(secs.to_string()),
                    Some(state),
                    info,
                    Some("0.000".to_owned()),
                ];
                row.truncate(shown.len());
                row
            })
            .collect();
        Outcome::Rows { columns, rows, nullable: Vec::new() }
    }

    fn client_rows(&self, now_ms: i64) -> Vec<Row> {
        let asking = self.current.as_ref();
        self.clients
            .iter()
            .filter_map(|(conn, c)| {
                let host = format!("{}:{}", c.host, c.port);
                let row = match &c.phase {
                    Phase::Greeting(_) => return None,
                    Phase::Ready { db, .. } => match asking.filter(|(a, _)| a == conn) {
                        Some((_, text)) => (
                            c.thread_id,
                            c.user.clone(),
                            host,
                            db.as_deref().map(str::to_owned),
                            "Query",
                            now_ms,
                            "starting".into(),
                            Some(text.clone()),
                        ),
                        None => {
                            let db = db.as_deref().map(str::to_owned);
                            (c.thread_id, c.user.clone(), host, db, "Sleep", c.since_ms, String::new(), None)
                        }
                    },
                    Phase::Dump { .. } => (
                        c.thread_id,
                        c.user.clone(),
                        host,
                        None,
                        "Binlog Dump",
                        c.since_ms,
                        "Master has sent all binlog to slave; waiting for more updates".into(),
                        None,
                    ),
                };
                Some(row)
            })
            .collect()
    }

    fn replica_rows(&self) -> Vec<Row> {
        let Some(r) = &self.replica else { return Vec::new() };
        let mut rows = Vec::new();
        if r.io != IoState::Stopped {
            let io_command = self.config.flavor.replica_commands().0;
            let command = if r.io_registered { io_command } else { "Connect" };
            let state = self.io_state_text().to_owned();
            rows.push((r.io_thread.0, "system user".into(), String::new(), None, command, r.io_thread.1, state, None));
        }
        if r.sql_running {
            let state = "Slave has read all relay log; waiting for more updates".to_owned();
            rows.push((
                r.sql_thread.0,
                "system user".into(),
                String::new(),
                None,
                self.config.flavor.replica_commands().1,
                r.sql_thread.1,
                state,
                None,
            ));
        }
        rows
    }
}
