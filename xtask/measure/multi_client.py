#!/usr/bin/env python3
"""Records a multi-client transcript from a real redis-server 7.0.15.

Usage: start a redis-server 7.0.15 on 127.0.0.1:<port>, then
    python3 xtask/measure/multi_client.py <port> < script > transcript

The script has one step a line: `A: COMMAND args...` sends a command on
client A's connection (clients are opened on first use, in order), `sleep N`
waits N ms, `close A` closes client A's connection. After every step the recorder waits a settle time (50 ms, or the
sleep) and writes the step followed by ` => ` and every reply that arrived
meanwhile, per client in name order, as `A: reply`, joined by ` | `; replies
are rendered as redis-cli renders them, newlines as `\\n`. A connection the
server closed shows as `A: (closed)`. Lines starting with `#` and blank lines
are copied as they are.
"""
import select, shlex, socket, sys, time


def render(v, prefix=""):
    kind, x = v
    if kind == "simple":
        return x
    if kind == "error":
        return "(error) " + x
    if kind == "int":
        return "(integer) %d" % x
    if kind == "nil":
        return "(nil)"
    if kind == "bulk":
        return quote(x)
    if not x:
        return "(empty array)"
    width = len(str(len(x)))
    nested = prefix + " " * (width + 2)
    out = []
    for i, item in enumerate(x):
        head = "" if i == 0 else prefix
        out.append("%s%*d) %s" % (head, width, i + 1, render(item, nested)))
    return "\n".join(out)


def quote(b):
    s = '"'
    for c in b:
        s += {92: "\\\\", 34: '\\"', 10: "\\n", 13: "\\r", 9: "\\t", 7: "\\a", 8: "\\b"}.get(
            c, chr(c) if 0x20 <= c <= 0x7E else "\\x%02x" % c)
    return s + '"'


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.closed = False

    def send(self, args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def pump(self):
        while True:
            r, _, _ = select.select([self.s], [], [], 0)
            if not r:
                return
            data = self.s.recv(65536)
            if not data:
                self.closed = True
                return
            self.buf += data

    def values(self):
        out = []
        while True:
            v, rest = parse(self.buf)
            if v is None:
                return out
            out.append(v)
            self.buf = rest


def parse(buf):
    if b"\r\n" not in buf:
        return None, buf
    line, rest = buf.split(b"\r\n", 1)
    tag, body = line[:1], line[1:]
    if tag == b"+":
        return ("simple", body.decode()), rest
    if tag == b"-":
        return ("error", body.decode()), rest
    if tag == b":":
        return ("int", int(body)), rest
    if tag == b"$":
        n = int(body)
        if n < 0:
            return ("nil", None), rest
        if len(rest) < n + 2:
            return None, buf
        return ("bulk", rest[:n]), rest[n + 2:]
    if tag == b"*":
        n = int(body)
        if n < 0:
            return ("nil", None), rest
        items = []
        for _ in range(n):
            v, rest = parse(rest)
            if v is None:
                return None, buf
            items.append(v)
        return ("array", items), rest
    raise ValueError(line)


def main():
    port = int(sys.argv[1])
    clients = {}
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            print(line)
            continue
        if line.startswith("sleep "):
            settle = int(line.split()[1]) / 1000
        elif line.startswith("close "):
            clients.pop(line.split()[1]).s.close()
            settle = 0.05
        else:
            name, cmd = line.split(": ", 1)
            if name not in clients:
                clients[name] = Client(port)
            clients[name].send(shlex.split(cmd))
            settle = 0.05
        time.sleep(settle)
        got = []
        for name in sorted(clients):
            c = clients[name]
            c.pump()
            for v in c.values():
                got.append("%s: %s" % (name, render(v).replace("\n", "\\n")))
            if c.closed and not getattr(c, "reported", False):
                c.reported = True
                got.append("%s: (closed)" % name)
        print(("%s => %s" % (line, " | ".join(got))).rstrip())


main()
