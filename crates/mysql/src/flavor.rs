//! Which server a node is: MySQL 5.7 (the seed's `mysql:5.7` image, 5.7.38
//! in June 2022; the default) or MariaDB 10.11 (measured here, see the
//! crate root). They share the replication protocol and most texts; this
//! module holds what differs in what a user sees: version strings, SHOW
//! MASTER/SLAVE STATUS columns, the product name in error messages, thread
//! names in SHOW PROCESSLIST and the client's timing. Binlog layouts differ
//! too; [`crate::binlog`] writes each flavor's events.

use crate::sql::Stmt;

/// Global privileges in the order MySQL 5.7 prints them (its privilege bits' order).
const PRIVILEGE_ORDER: [&str; 28] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "RELOAD",
    "SHUTDOWN",
    "PROCESS",
    "FILE",
    "GRANT OPTION",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "SHOW DATABASES",
    "SUPER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "REPLICATION SLAVE",
    "REPLICATION CLIENT",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "CREATE USER",
    "EVENT",
    "TRIGGER",
];

/// A GRANT's privilege list in the server's order and words (MariaDB 10.5+
/// calls REPLICATION CLIENT `BINLOG MONITOR`), `None` when empty.
pub fn privilege_list(flavor: Flavor, privileges: &std::collections::BTreeSet<String>) -> Option<String> {
    let mut ordered: Vec<&String> = privileges.iter().collect();
    ordered.sort_by_key(|p| PRIVILEGE_ORDER.iter().position(|o| o == p).unwrap_or(usize::MAX));
    let named: Vec<&str> = ordered
        .iter()
        .map(|p| match (flavor, p.as_str()) {
            (Flavor::Mariadb1011, "REPLICATION CLIENT") => "BINLOG MONITOR",
            (_, p) => p,
        })
        .collect();
    (!named.is_empty()).then(|| named.join(", "))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A server flavor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flavor {
    /// MySQL 5.7.38 Community Server with binary logging on.
    #[default]
    Mysql57,
    /// MariaDB 10.11.19 as Debian 12 ships it.
    Mariadb1011,
}

/// SHOW SLAVE STATUS's columns in MySQL 5.7, in order (57: MariaDB's GTID
/// and parallel-apply columns are absent; Master_UUID, Master_Info_File,
/// the error timestamps, the GTID sets, Auto_Position, Channel_Name and
/// Master_TLS_Version are 5.7's own).
pub const SLAVE_STATUS_COLUMNS_57: [&str; 57] = [
    "Slave_IO_State",
    "Master_Host",
    "Master_User",
    "Master_Port",
    "Connect_Retry",
    "Master_Log_File",
    "Read_Master_Log_Pos",
    "Relay_Log_File",
    "Relay_Log_Pos",
    "Relay_Master_Log_File",
    "Slave_IO_Running",
    "Slave_SQL_Running",
    "Replicate_Do_DB",
    "Replicate_Ignore_DB",
    "Replicate_Do_Table",
    "Replicate_Ignore_Table",
    "Replicate_Wild_Do_Table",
    "Replicate_Wild_Ignore_Table",
    "Last_Errno",
    "Last_Error",
    "Skip_Counter",
    "Exec_Master_Log_Pos",
    "Relay_Log_Space",
    "Until_Condition",
    "Until_Log_File",
    "Until_Log_Pos",
    "Master_SSL_Allowed",
    "Master_SSL_CA_File",
    "Master_SSL_CA_Path",
    "Master_SSL_Cert",
    "Master_SSL_Cipher",
    "Master_SSL_Key",
    "Seconds_Behind_Master",
    "Master_SSL_Verify_Server_Cert",
    "Last_IO_Errno",
    "Last_IO_Error",
    "Last_SQL_Errno",
    "Last_SQL_Error",
    "Replicate_Ignore_Server_Ids",
    "Master_Server_Id",
    "Master_UUID",
    "Master_Info_File",
    "SQL_Delay",
    "SQL_Remaining_Delay",
    "Slave_SQL_Running_State",
    "Master_Retry_Count",
    "Master_Bind",
    "Last_IO_Error_Timestamp",
    "Last_SQL_Error_Timestamp",
    "Master_SSL_Crl",
    "Master_SSL_Crlpath",
    "Retrieved_Gtid_Set",
    "Executed_Gtid_Set",
    "Auto_Position",
    "Replicate_Rewrite_DB",
    "Channel_Name",
    "Master_TLS_Version",
];

/// The 5.7 columns MariaDB does not have, with the values a replica
/// without GTIDs, SSL or channels shows (`None` is NULL). Master_UUID and
/// the error timestamps are filled by the server.
const MYSQL57_ONLY: [(&str, Option<&str>); 13] = [
    ("Master_Info_File", Some("/var/lib/mysql/master.info")),
    ("SQL_Remaining_Delay", None),
    ("Master_Retry_Count", Some("86400")),
    ("Master_Bind", Some("")),
    ("Master_SSL_Crl", Some("")),
    ("Master_SSL_Crlpath", Some("")),
    ("Retrieved_Gtid_Set", Some("")),
    ("Executed_Gtid_Set", Some("")),
    ("Auto_Position", Some("0")),
    ("Replicate_Rewrite_DB", Some("")),
    ("Channel_Name", Some("")),
    ("Master_TLS_Version", Some("")),
    ("SQL_Delay", Some("0")),
];

impl Flavor {
    /// Every flavor, the default first.
    pub const ALL: [Flavor; 2] = [Flavor::Mysql57, Flavor::Mariadb1011];

    /// Its name in scenarios (`flavor: mysql-5.7`).
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Mysql57 => "mysql-5.7",
            Flavor::Mariadb1011 => "mariadb-10.11",
        }
    }

    /// The flavor called `name`.
    pub fn parse(name: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.name() == name)
    }

    /// `SELECT VERSION()`, the binlog's format description and the error
    /// log's `Version:` (both servers append `-log` when binary logging is on).
    pub fn version(self) -> &'static str {
        match self {
            Flavor::Mysql57 => "5.7.38-log",
            Flavor::Mariadb1011 => crate::SERVER_VERSION,
        }
    }

    /// The version in the handshake: MariaDB prefixes `5.5.5-` so that old
    /// clients do not take 10.x for a MySQL 10.
    pub fn greeting_version(self) -> String {
        match self {
            Flavor::Mysql57 => self.version().to_owned(),
            Flavor::Mariadb1011 => format!("5.5.5-{}", self.version()),
        }
    }

    /// The flavor whose server greets with `version`.
    pub fn from_greeting(version: &str) -> Flavor {
        if version.contains("MariaDB") { Flavor::Mariadb1011 } else { Flavor::Mysql57 }
    }

    /// The product's name in messages (`... your MySQL server version ...`).
    pub fn product(self) -> &'static str {
        match self {
            Flavor::Mysql57 => "MySQL",
            Flavor::Mariadb1011 => "MariaDB",
        }
    }

    /// The server program's name in its log (`mysqld: ready for connections.`).
    pub fn daemon(self) -> &'static str {
        match self {
            Flavor::Mysql57 => "mysqld",
            Flavor::Mariadb1011 => "mariadbd",
        }
    }

    /// A server error's message as this flavor words it: the texts of 1064
    /// (syntax), 1235 (not supported yet) and 1290 (read-only) name the
    /// product, and 1054 (unknown column) names the clause: MariaDB 10.11 as
    /// `'SELECT'`, `'WHERE'`, `'ORDER BY'`, `'SET'`, `'INSERT INTO'` (the
    /// model's texts), MySQL 5.7 as `'field list'`, `'where clause'`,
    /// `'order clause'`. Everything else reads the same in both.
    pub fn message(self, code: u16, message: &str) -> String {
        match (self, code) {
            (Flavor::Mysql57, 1064 | 1235 | 1290) => message.replacen("MariaDB", "MySQL", 1),
            (Flavor::Mysql57, 1054) => {
                let clauses = [
                    ("'SELECT'", "'field list'"),
                    ("'SET'", "'field list'"),
                    ("'UPDATE'", "'field list'"),
                    ("'INSERT INTO'", "'field list'"),
                    ("'WHERE'", "'where clause'"),
                    ("'ORDER BY'", "'order clause'"),
                ];
                match clauses.iter().find(|(m, _)| message.ends_with(&format!(" in {m}"))) {
                    Some((m, five_seven)) => format!("{}{five_seven}", &message[..message.len() - m.len()]),
                    None => message.to_owned(),
                }
            }
            _ => message.to_owned(),
        }
    }

    /// SHOW MASTER STATUS's columns: 5.7 adds Executed_Gtid_Set.
    pub fn master_status_columns(self) -> &'static [&'static str] {
        match self {
            Flavor::Mysql57 => &["File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB", "Executed_Gtid_Set"],
            Flavor::Mariadb1011 => &["File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB"],
        }
    }

    /// SHOW SLAVE STATUS's columns in order.
    pub fn slave_status_columns(self) -> &'static [&'static str] {
        match self {
            Flavor::Mysql57 => &SLAVE_STATUS_COLUMNS_57,
            Flavor::Mariadb1011 => &crate::server::SLAVE_STATUS_COLUMNS,
        }
    }

    /// SHOW SLAVE STATUS's fields in this flavor's columns, from the fields
    /// as MariaDB names them (`mariadb`) and the master's server_uuid.
    pub fn slave_status(
        self,
        mariadb: Vec<(&'static str, Option<String>)>,
        master_uuid: &str,
    ) -> Vec<(&'static str, Option<String>)> {
        if self == Flavor::Mariadb1011 {
            return mariadb;
        }
        SLAVE_STATUS_COLUMNS_57
            .iter()
            .map(|&name| {
                let value = match name {
                    "Master_UUID" => Some(master_uuid.to_owned()),
                    // not modelled: the model keeps no error time (a gap the README lists)
                    "Last_IO_Error_Timestamp" | "Last_SQL_Error_Timestamp" => Some(String::new()),
                    _ => match MYSQL57_ONLY.iter().find(|(n, _)| *n == name) {
                        Some((_, v)) => v.map(str::to_owned),
                        None => mariadb.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone()),
                    },
                };
                (name, value)
            })
            .collect()
    }

    /// SHOW PROCESSLIST's Command for the replica's IO thread once
    /// registered, and for its SQL thread: MySQL 5.7 shows `Connect` for both.
    pub fn replica_commands(self) -> (&'static str, &'static str) {
        match self {
            Flavor::Mysql57 => ("Connect", "Connect"),
            Flavor::Mariadb1011 => ("Slave_IO", "Slave_SQL"),
        }
    }

    /// A statement's text as the binlog records it. MySQL 5.7 rewrites
    /// account statements (so no password reaches the binlog): CREATE USER
    /// as `CREATE USER 'u'@'h' IDENTIFIED WITH 'mysql_native_password' AS
    /// '<hash>'`, GRANT with its privileges in the server's order; MariaDB
    /// logs what was typed. The trailing `;` is never logged.
    pub fn logged_text(self, stmt: &Stmt, text: &str) -> String {
        let typed = text.trim().trim_end_matches(';').trim_end();
        match (self, stmt) {
            (Flavor::Mysql57, Stmt::CreateUser { user, host, password, hashed }) => {
                let mut s = format!("CREATE USER '{user}'@'{host}' IDENTIFIED WITH 'mysql_native_password'");
                let hash = if *hashed {
                    crate::packet::parse_password_hash(password)
                } else {
                    crate::packet::password_hash(password)
                };
                if let Some(hash) = hash {
                    s.push_str(&format!(" AS '*{}'", hex_upper(&hash)));
                }
                s
            }
            (Flavor::Mysql57, Stmt::Grant { privileges, user, host }) => {
                let mut ordered: Vec<&String> = privileges.iter().collect();
                ordered.sort_by_key(|p| PRIVILEGE_ORDER.iter().position(|o| o == p).unwrap_or(usize::MAX));
                let list: Vec<&str> = ordered.iter().map(|p| p.as_str()).collect();
                format!("GRANT {} ON *.* TO '{user}'@'{host}'", list.join(", "))
            }
            // MariaDB writes DROP TABLE anew, each name quoted as it was
            // typed (qualified or not)
            (Flavor::Mariadb1011, Stmt::DropTable { tables, if_exists }) => {
                let names: Vec<String> = tables
                    .iter()
                    .map(|t| match &t.db {
                        Some(db) => format!("`{db}`.`{}`", t.name),
                        None => format!("`{}`", t.name),
                    })
                    .collect();
                let exists = if *if_exists { "IF EXISTS " } else { "" };
                format!("DROP TABLE {exists}{} /* generated by server */", names.join(","))
            }
            _ => typed.to_owned(),
        }
    }

    /// Whether a row-logged statement's text goes to the binlog before its
    /// rows: MariaDB's Annotate_rows (binlog_annotate_row_events, on by
    /// default); MySQL 5.7's Rows_query needs binlog_rows_query_log_events,
    /// off by default.
    pub fn annotates_rows(self) -> bool {
        self == Flavor::Mariadb1011
    }

    /// Whether the statement's Query event carries Q_INVOKER: MySQL 5.7 logs
    /// the invoker of every account statement, MariaDB of GRANT.
    pub fn logs_invoker(self, stmt: &Stmt) -> bool {
        match self {
            Flavor::Mysql57 => matches!(stmt, Stmt::Grant { .. } | Stmt::CreateUser { .. }),
            Flavor::Mariadb1011 => matches!(stmt, Stmt::Grant { .. }),
        }
    }

    /// How many decimals the `mysql` client prints in `(0.00 sec)`: MySQL's
    /// client two, MariaDB's three.
    pub fn client_decimals(self) -> usize {
        match self {
            Flavor::Mysql57 => 2,
            Flavor::Mariadb1011 => 3,
        }
    }
}
