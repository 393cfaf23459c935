//! `redis.conf` as the simulated server understands it. Directives the simulator
//! honours are parsed and validated as Redis does; any other directive is an
//! error at its line, never silently ignored.

/// The honoured configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `port`.
    pub port: u16,
    /// `bind` addresses (kept for CONFIG GET; every host listens on its one address).
    pub bind: Vec<String>,
    /// `requirepass`.
    pub requirepass: Option<String>,
    /// `databases`.
    pub databases: usize,
    /// `loglevel`: debug, verbose, notice, warning.
    pub loglevel: String,
}

impl Config {
    /// Redis's defaults with the node's port.
    pub fn defaults(port: u16) -> Config {
        Config { port, bind: Vec::new(), requirepass: None, databases: 16, loglevel: "notice".to_owned() }
    }
}

/// Directives accepted because they do not change anything the simulator models.
const INERT: &[&str] = &["daemonize", "protected-mode", "dir", "logfile", "pidfile", "supervised"];

/// Parses config text; errors carry the 0-based line index and Redis's message.
pub fn parse(text: &str, port: u16) -> Result<Config, Vec<(usize, String)>> {
    let mut config = Config::defaults(port);
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(words) = resp::split_args(line.as_bytes()) else {
            errors.push((i, "Unbalanced quotes in configuration line".to_owned()));
            continue;
        };
        let words: Vec<String> = words.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect();
        let name = words[0].to_ascii_lowercase();
        let args = &words[1..];
        let result = match (name.as_str(), args) {
            ("port", [p]) => match p.parse::<u16>() {
                Ok(p) if p == port => Ok(()),
                Ok(p) => Err(format!("port {p} differs from the node's port {port} in the topology")),
                Err(_) => Err("argument couldn't be parsed into an integer".to_owned()),
            },
            ("bind", addrs) if !addrs.is_empty() => {
                config.bind = addrs.to_vec();
                Ok(())
            }
            ("requirepass", [p]) => {
                config.requirepass = if p.is_empty() { None } else { Some(p.clone()) };
                Ok(())
            }
            ("databases", [n]) => match n.parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => {
                    config.databases = n;
                    Ok(())
                }
                _ => Err("argument must be between 1 and 2147483647 inclusive".to_owned()),
            },
            ("loglevel", [l]) => match l.to_ascii_lowercase().as_str() {
                lvl @ ("debug" | "verbose" | "notice" | "warning") => {
                    config.loglevel = lvl.to_owned();
                    Ok(())
                }
                _ => {
                    Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".to_owned())
                }
            },
            (n, [_, ..]) if INERT.contains(&n) => Ok(()),
            (n, _) if INERT.contains(&n) || ["port", "bind", "requirepass", "databases", "loglevel"].contains(&n) => {
                Err("wrong number of arguments".to_owned())
            }
            (n, _) => Err(format!("directive `{n}` is not simulated yet by chaoslab's redis node")),
        };
        if let Err(e) = result {
            errors.push((i, e));
        }
    }
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honoured_directives_and_errors_by_line() {
        let c = parse("# comment\nport 6379\nrequirepass 123456\ndaemonize no\n", 6379).unwrap();
        assert_eq!(c.requirepass.as_deref(), Some("123456"));
        let errs = parse("port 6380\ndatabases x\nappendonly yes\nbind\n", 6379).unwrap_err();
        assert_eq!(
            errs,
            vec![
                (0, "port 6380 differs from the node's port 6379 in the topology".to_owned()),
                (1, "argument must be between 1 and 2147483647 inclusive".to_owned()),
                (2, "directive `appendonly` is not simulated yet by chaoslab's redis node".to_owned()),
                (3, "wrong number of arguments".to_owned()),
            ]
        );
    }
}
