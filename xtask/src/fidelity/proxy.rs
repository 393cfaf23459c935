//! A userspace TCP proxy on loopback whose traffic can be cut and mended: the
//! real side's network partition ([`super::real::Real`] has no iptables on
//! 127.0.0.1). Servers that must be partitioned from one server dial it through
//! a proxy; cutting it stops reading and accepting, so bytes stay in the
//! kernel's socket buffers on both sides and nobody is told (no FIN, no RST),
//! as with packets dropped on a link; mending resumes forwarding, closes
//! included, in order.
//!
//! Threads are fine here: this is the real side, outside the simulator. Every
//! thread polls the stop flag at least every [`STEP`] and is joined on drop.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a thread looks at the flags.
const STEP: Duration = Duration::from_millis(5);
/// The longest a connect to the upstream server may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(1);

/// The flags every thread of one proxy shares.
#[derive(Default)]
struct Flags {
    cut: AtomicBool,
    stop: AtomicBool,
}

/// A proxy from `port` to an upstream port; stopped and joined on drop.
pub struct Proxy {
    flags: Arc<Flags>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on 127.0.0.1:`port` and forwards each connection to 127.0.0.1:`upstream`
    /// (dialled when the connection is accepted, so the upstream may start later).
    pub fn start(port: u16, upstream: u16) -> Result<Proxy, String> {
        let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
            .map_err(|e| format!("proxy cannot listen on {port}: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let flags = Arc::new(Flags::default());
        let threads = Arc::new(Mutex::new(Vec::new()));
        let (f, th) = (Arc::clone(&flags), Arc::clone(&threads));
        let acceptor = spawn(move || accept_loop(&listener, upstream, &f, &th));
        Ok(Proxy { flags, threads, acceptor: Some(acceptor) })
    }

    /// Cuts (true) or mends (false) all of its traffic.
    pub fn set_cut(&self, cut: bool) {
        self.flags.cut.store(cut, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.flags.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        let pumps = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for p in pumps {
            let _ = p.join();
        }
    }
}

/// A proxy thread. Threads are read on purpose: this is the real side, whose
/// timing is the kernel's; nothing here reaches a simulated event order.
#[allow(clippy::disallowed_methods)]
fn spawn(f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::spawn(f)
}

/// Accepts while not cut (a cut proxy leaves new connections in the kernel's
/// backlog, as a dropped SYN-ACK would leave them pending) and starts two pumps each.
fn accept_loop(listener: &TcpListener, upstream: u16, flags: &Arc<Flags>, threads: &Mutex<Vec<JoinHandle<()>>>) {
    while !flags.stop.load(Ordering::SeqCst) {
        if flags.cut.load(Ordering::SeqCst) {
            std::thread::sleep(STEP);
            continue;
        }
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(_) => {
                std::thread::sleep(STEP);
                continue;
            }
        };
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, upstream);
        let Ok(server) = TcpStream::connect_timeout(&addr.into(), CONNECT_LIMIT) else {
            // Nobody upstream: the dialler sees its connection closed, as with a refused connect.
            continue;
        };
        let pair = (client.try_clone(), server.try_clone());
        let (Ok(client2), Ok(server2)) = pair else { continue };
        let mut list = threads.lock().unwrap_or_else(|p| p.into_inner());
        let (f1, f2) = (Arc::clone(flags), Arc::clone(flags));
        list.push(spawn(move || pump(client, server, &f1)));
        list.push(spawn(move || pump(server2, client2, &f2)));
    }
}

/// Copies `from` to `to` while not cut; an end of stream is passed on as a half close.
fn pump(mut from: TcpStream, mut to: TcpStream, flags: &Flags) {
    let setup = from.set_nonblocking(false).and_then(|()| from.set_read_timeout(Some(STEP)));
    if setup.and_then(|()| to.set_write_timeout(Some(STEP))).is_err() {
        return;
    }
    let mut buf = vec![0u8; 64 * 1024];
    while !flags.stop.load(Ordering::SeqCst) {
        if flags.cut.load(Ordering::SeqCst) {
            std::thread::sleep(STEP);
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Read just as the cut came: held until it is mended, as a dropped packet is retransmitted.
                while flags.cut.load(Ordering::SeqCst) && !flags.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(STEP);
                }
                if !write_all(&mut to, &buf[..n], flags) {
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Writes all of `bytes` unless the proxy stops or the peer is gone.
fn write_all(to: &mut TcpStream, mut bytes: &[u8], flags: &Flags) -> bool {
    while !bytes.is_empty() {
        if flags.stop.load(Ordering::SeqCst) {
            return false;
        }
        match to.write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_some(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
        s.set_read_timeout(Some(limit)).unwrap();
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) => buf[..n].to_vec(),
            Err(_) => Vec::new(),
        }
    }

    #[test]
    fn a_cut_proxy_holds_bytes_silently_and_delivers_them_in_order_when_mended() {
        // An echo-less upstream: a plain listener whose accepted socket we read.
        let up = TcpListener::bind("127.0.0.1:0").unwrap();
        let up_port = up.local_addr().unwrap().port();
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let proxy = Proxy::start(port, up_port).unwrap();
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (mut server, _) = up.accept().unwrap();
        client.write_all(b"one").unwrap();
        assert_eq!(read_some(&mut server, Duration::from_secs(2)), b"one");
        proxy.set_cut(true);
        std::thread::sleep(STEP * 4);
        client.write_all(b"two").unwrap();
        assert_eq!(read_some(&mut server, Duration::from_millis(200)), b"", "nothing crosses a cut");
        proxy.set_cut(false);
        assert_eq!(read_some(&mut server, Duration::from_secs(2)), b"two");
        server.write_all(b"back").unwrap();
        assert_eq!(read_some(&mut client, Duration::from_secs(2)), b"back");
    }
}
