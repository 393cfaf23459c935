//! The real side: redis-server (and redis-sentinel) processes on 127.0.0.1,
//! each in its own temporary directory, always stopped by PID — by `Drop`, so
//! also when a case fails or panics. Every wait here is bounded in time.

use super::target::{Conn, Reply, Signal, Target, whole_reply};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long a server may take to accept connections after spawn.
const READY_LIMIT: Duration = Duration::from_secs(10);
/// The longest any one reply may take (WAIT and DEBUG SLEEP cases stay well below).
const REPLY_LIMIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(10);

static DIRS: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system temp dir, unique to this run and call.
pub fn temp_dir(label: &str) -> Result<PathBuf, String> {
    for _ in 0..100 {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("chaoslab-fidelity-{}-{n}-{label}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err("no free temporary directory name".into())
}

/// One real server process; killed (SIGKILL by PID) and its directory removed on drop.
pub struct Process {
    child: Option<Child>,
    /// The binary, kept to restart.
    program: PathBuf,
    /// Arguments, kept to restart.
    argv: Vec<String>,
    /// Its working directory (config, data, log).
    pub dir: PathBuf,
    /// `redis-server` log file.
    pub logfile: PathBuf,
    /// Its port.
    pub port: u16,
}

impl Process {
    /// Spawns `program argv...` in `dir` and waits until `port` answers PING.
    pub fn spawn(
        program: &Path,
        argv: Vec<String>,
        dir: PathBuf,
        logfile: PathBuf,
        port: u16,
    ) -> Result<Process, String> {
        let mut p = Process { child: None, program: program.to_owned(), argv, dir, logfile, port };
        p.launch()?;
        Ok(p)
    }

    fn launch(&mut self) -> Result<(), String> {
        let child = Command::new(&self.program)
            .args(&self.argv)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let polls = READY_LIMIT.as_millis() / POLL.as_millis();
        for _ in 0..polls {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let log = std::fs::read_to_string(&self.logfile).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!("{} on port {} exited ({status}): {tail:?}", self.program.display(), self.port));
            }
            if let Ok(mut s) = TcpStream::connect_timeout(&addr(self.port).into(), Duration::from_millis(100)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 64];
                if s.write_all(b"PING\r\n").is_ok()
                    && let Ok(n) = s.read(&mut buf)
                    && n > 0
                    && !buf[..n].starts_with(b"-LOADING")
                {
                    return Ok(());
                }
            }
            std::thread::sleep(POLL);
        }
        Err(format!("port {} did not answer within {READY_LIMIT:?}", self.port))
    }

    /// The OS process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `signal` by PID; after KILL or TERM waits (bounded) for the exit.
    pub fn signal(&mut self, signal: Signal) -> Result<(), String> {
        let Some(pid) = self.pid() else { return Err(format!("port {} is not running", self.port)) };
        let name = match signal {
            Signal::Kill => "-KILL",
            Signal::Term => "-TERM",
            Signal::Stop => "-STOP",
            Signal::Cont => "-CONT",
        };
        let status = Command::new("kill")
            .args([name, &pid.to_string()])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !status.success() {
            return Err(format!("kill {name} {pid} failed"));
        }
        if matches!(signal, Signal::Kill | Signal::Term) {
            // Redis's shutdown (a final save at most) is quick; 10 s bounds it.
            let child = self.child.as_mut().expect("checked above");
            for _ in 0..1000 {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return Ok(());
                }
                std::thread::sleep(POLL);
            }
            return Err(format!("port {} did not exit within 10 s of {name}", self.port));
        }
        Ok(())
    }

    /// Starts it again with the same arguments and directory.
    pub fn restart(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Err(format!("port {} is still running", self.port));
        }
        self.launch()
    }

    /// Its log messages without the `pid:role date time level` prefix.
    pub fn log_messages(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.logfile).unwrap_or_default();
        text.lines().filter_map(strip_log_prefix).map(str::to_owned).collect()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A stopped process must be continued for SIGKILL to be reaped promptly.
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = child.kill();
            for _ in 0..500 {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(POLL);
            }
        }
        // For debugging a difference: CHAOSLAB_FIDELITY_KEEP=1 keeps configs and logs.
        if std::env::var_os("CHAOSLAB_FIDELITY_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `12345:M 21 Nov 2026 10:00:00.123 * message` → `message`; `None` for other lines
/// (the ASCII-art banner).
pub fn strip_log_prefix(line: &str) -> Option<&str> {
    let mut parts = line.splitn(7, ' ');
    let pid_role = parts.next()?;
    if !pid_role.contains(':') {
        return None;
    }
    for _ in 0..5 {
        parts.next()?;
    }
    parts.next()
}

fn addr(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)
}

/// The version line of a binary (`Redis server v=7.0.15 ...`).
pub fn version(program: &Path) -> Result<String, String> {
    let out = Command::new(program)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", program.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs a helper program with a time limit; its stdout.
pub fn run_bounded(program: &Path, argv: &[String], limit: Duration) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let polls = limit.as_millis() / 20;
    for _ in 0..polls {
        if let Ok(Some(status)) = child.try_wait() {
            let mut out = String::new();
            if let Some(mut s) = child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut out);
            }
            return if status.success() {
                Ok(out)
            } else {
                Err(format!("{} failed ({status}): {out}", program.display()))
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("{} did not finish within {limit:?}", program.display()))
}

/// Real redis-servers on loopback.
pub struct Real {
    server: PathBuf,
    sentinel: PathBuf,
    cli: PathBuf,
    /// When this target was made: failover timings are wall time from here.
    born: std::time::Instant,
    /// Running (or stopped) servers by port; dropping one stops it.
    pub nodes: Vec<Process>,
    conns: Vec<TcpStream>,
    /// Cuttable paths by the server port they lead to.
    proxies: Vec<(u16, super::proxy::Proxy)>,
}

impl Real {
    /// No servers yet; the redis-server, redis-sentinel and redis-cli binaries to run.
    // Wall time is read on purpose: this side measures real processes from outside.
    #[allow(clippy::disallowed_methods)]
    pub fn new(opts: &super::Options) -> Real {
        Real {
            server: opts.redis_server.clone(),
            sentinel: opts.redis_sentinel.clone(),
            cli: opts.redis_cli.clone(),
            born: std::time::Instant::now(),
            nodes: Vec::new(),
            conns: Vec::new(),
            proxies: Vec::new(),
        }
    }

    fn node(&mut self, port: u16) -> Result<&mut Process, String> {
        self.nodes.iter_mut().find(|n| n.port == port).ok_or_else(|| format!("no real server on port {port}"))
    }
}

impl Target for Real {
    fn start(&mut self, port: u16, conf: &str) -> Result<(), String> {
        if self.nodes.iter().any(|n| n.port == port) {
            return Err(format!("port {port} already has a real server"));
        }
        let dir = temp_dir(&port.to_string())?;
        let conf_path = dir.join("redis.conf");
        std::fs::write(&conf_path, conf).map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
        let logfile = dir.join("redis.log");
        let argv = vec![
            conf_path.display().to_string(),
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--daemonize".into(),
            "no".into(),
            "--dir".into(),
            dir.display().to_string(),
            "--logfile".into(),
            logfile.display().to_string(),
        ];
        let p = Process::spawn(&self.server, argv, dir, logfile, port)?;
        self.nodes.push(p);
        Ok(())
    }

    fn start_sentinel(&mut self, port: u16, conf: &str) -> Result<(), String> {
        if self.nodes.iter().any(|n| n.port == port) {
            return Err(format!("port {port} already has a real process"));
        }
        let dir = temp_dir(&port.to_string())?;
        let conf_path = dir.join("sentinel.conf");
        let logfile = dir.join("sentinel.log");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {}\nlogfile {}\n{conf}",
            dir.display(),
            logfile.display()
        );
        std::fs::write(&conf_path, text).map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
        let p = Process::spawn(&self.sentinel, vec![conf_path.display().to_string()], dir, logfile, port)?;
        self.nodes.push(p);
        Ok(())
    }

    fn create_cluster(&mut self, ports: &[u16], replicas: usize) -> Result<(), String> {
        let mut argv: Vec<String> = vec!["--cluster".into(), "create".into()];
        argv.extend(ports.iter().map(|p| format!("127.0.0.1:{p}")));
        argv.extend(["--cluster-replicas".into(), replicas.to_string(), "--cluster-yes".into()]);
        run_bounded(&self.cli, &argv, Duration::from_secs(60)).map(drop)
    }

    fn now_ms(&mut self) -> f64 {
        self.born.elapsed().as_secs_f64() * 1000.0
    }

    fn restart(&mut self, port: u16) -> Result<(), String> {
        self.node(port)?.restart()
    }

    fn signal(&mut self, port: u16, signal: Signal) -> Result<(), String> {
        self.node(port)?.signal(signal)
    }

    fn connect(&mut self, port: u16) -> Result<Conn, String> {
        let s = TcpStream::connect_timeout(&addr(port).into(), Duration::from_secs(2))
            .map_err(|e| format!("connect to {port}: {e}"))?;
        s.set_read_timeout(Some(POLL)).map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        self.conns.push(s);
        Ok(Conn(self.conns.len() - 1))
    }

    fn call(&mut self, conn: Conn, args: &[Vec<u8>]) -> Result<Reply, String> {
        let s = &mut self.conns[conn.0];
        let mut out = Vec::new();
        resp::encode_command(args, &mut out);
        s.write_all(&out).map_err(|e| format!("send: {e}"))?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let polls = REPLY_LIMIT.as_millis() / POLL.as_millis();
        for _ in 0..polls {
            match s.read(&mut buf) {
                Ok(0) => return Err(format!("connection closed after {} bytes", raw.len())),
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if whole_reply(&raw)? {
                        return Ok(Reply { raw });
                    }
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("receive: {e}")),
            }
        }
        Err(format!("no whole reply within {REPLY_LIMIT:?}"))
    }

    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }

    fn log(&mut self, port: u16) -> Vec<String> {
        self.node(port).map(|n| n.log_messages()).unwrap_or_default()
    }

    fn send(&mut self, conn: Conn, args: &[Vec<u8>]) -> Result<(), String> {
        let mut out = Vec::new();
        resp::encode_command(args, &mut out);
        self.conns[conn.0].write_all(&out).map_err(|e| format!("send: {e}"))
    }

    fn received(&mut self, conn: Conn) -> Result<Vec<u8>, String> {
        let s = &mut self.conns[conn.0];
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        // Bounded: at most 64 MB per look.
        let mut result = Ok(());
        for _ in 0..4096 {
            match s.read(&mut buf) {
                Ok(0) if raw.is_empty() => result = Err("connection closed".to_owned()),
                Ok(0) => {}
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    continue;
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {}
                Err(e) => result = Err(format!("receive: {e}")),
            }
            break;
        }
        s.set_nonblocking(false).map_err(|e| e.to_string())?;
        result.map(|()| raw)
    }

    fn cuttable(&mut self, port: u16, via: u16) -> Result<u16, String> {
        self.proxies.push((port, super::proxy::Proxy::start(via, port)?));
        Ok(via)
    }

    fn cut(&mut self, port: u16, _others: &[u16], cut: bool) -> Result<(), String> {
        // Only the other servers dial through the proxy, so cutting it cuts exactly their links.
        let (_, proxy) =
            self.proxies.iter().find(|(p, _)| *p == port).ok_or_else(|| format!("port {port} is not cuttable"))?;
        proxy.set_cut(cut);
        Ok(())
    }
}
