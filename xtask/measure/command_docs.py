#!/usr/bin/env python3
"""Measures Redis 7.0's COMMAND INFO for every command in the simulator's
command table and writes crates/redis/src/command_docs.rs.

Usage: start a redis-server 7.0.15 on 127.0.0.1:<port>, then
    python3 xtask/measure/command_docs.py <port> > crates/redis/src/command_docs.rs

The command names are read from crates/redis/src/command_table.rs; of a
container command (CLIENT, CONFIG, ...) only the subcommands listed in
SUBCOMMANDS below, those the simulator implements, are kept.
"""
import re, socket, sys

SUBCOMMANDS = {
    "acl": {
        "whoami", "users", "list", "getuser", "cat", "log", "genpass", "deluser", "dryrun", "load", "save", "setuser",
        "help",
    },
    "module": {"list", "load", "loadex", "unload", "help"},
    "slowlog": {"get", "len", "reset", "help"},
    "latency": {"doctor", "graph", "history", "latest", "reset", "histogram", "help"},
    "client": {
        "id", "setname", "getname", "kill", "list", "info", "pause", "unpause", "reply", "no-evict",
        "tracking", "caching", "getredir", "trackinginfo", "help", "unblock",
    },
    "config": {"get", "set", "resetstat", "rewrite", "help"},
    "object": {"encoding", "refcount", "freq", "idletime", "help"},
    "memory": {"usage", "stats", "doctor", "malloc-stats", "purge", "help"},
    "pubsub": {"channels", "numsub", "numpat", "shardchannels", "shardnumsub", "help"},
    "command": {"count", "info", "list", "getkeys", "getkeysandflags", "help", "docs"},
    "script": {"load", "exists", "flush", "kill", "debug", "help"},
    "function": {"load", "list", "delete", "flush", "dump", "restore", "stats", "kill", "help"},
    "xgroup": {"create", "setid", "destroy", "createconsumer", "delconsumer", "help"},
    "xinfo": {"consumers", "groups", "stream", "help"},
    "cluster": {
        "addslots", "delslots", "addslotsrange", "delslotsrange", "meet", "setslot", "bumpepoch",
        "flushslots", "help", "info", "links", "myid", "nodes", "saveconfig", "shards", "slots",
        "count-failure-reports", "countkeysinslot", "forget", "keyslot", "replicas", "replicate",
        "set-config-epoch", "slaves", "failover", "reset", "getkeysinslot",
    },
}


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return ("simple" if kind == b"+" else "error", rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        raise ValueError(line)


class Raw:
    """RESP3 values kept as (tag, payload) so they re-encode byte for byte."""

    def __init__(self, conn):
        self.conn = conn

    def read(self):
        line = self.conn.line()
        tag, rest = line[:1], line[1:]
        if tag in b"$=!":
            n = int(rest)
            while len(self.conn.buf) < n + 2:
                self.conn.buf += self.conn.s.recv(65536)
            data, self.conn.buf = self.conn.buf[:n], self.conn.buf[n + 2:]
            return (tag, data)
        if tag in b"*~>":
            return (tag, [self.read() for _ in range(int(rest))])
        if tag == b"%":
            return (tag, [(self.read(), self.read()) for _ in range(int(rest))])
        return (tag, rest)


def encode(v):
    tag, payload = v
    if tag in b"$=!":
        return tag + b"%d\r\n" % len(payload) + payload + b"\r\n"
    if tag in b"*~>":
        return tag + b"%d\r\n" % len(payload) + b"".join(encode(x) for x in payload)
    if tag == b"%":
        return tag + b"%d\r\n" % len(payload) + b"".join(encode(k) + encode(x) for k, x in payload)
    return tag + payload + b"\r\n"


def measured_docs(conn, name):
    """COMMAND DOCS' value for `name` (RESP3), its subcommands filtered."""
    def send(*args):
        conn.s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
        return Raw(conn).read()

    send("HELLO", "3")
    tag, pairs = send("COMMAND", "DOCS", name)
    conn.call("HELLO", "2")
    assert tag == b"%" and len(pairs) == 1, name
    doc = pairs[0][1]
    keep = SUBCOMMANDS.get(name, set())
    fields = []
    for k, v in doc[1]:
        if k[1] == b"subcommands":
            subs = [(sk, sv) for sk, sv in v[1] if sk[1].decode().split("|")[1] in keep]
            subs.sort(key=lambda p: p[0][1])
            if not subs:
                continue
            v = (v[0], subs)
        fields.append((k, v))
    return encode((b"%", fields))


def rust_bytes(b):
    out = []
    for byte in b:
        c = chr(byte)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif 32 <= byte < 127:
            out.append(c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        else:
            out.append("\\x%02x" % byte)
    return 'b"' + "".join(out) + '"'


def names(conn):
    """The table's entries name their docs `doc::RESTORE_ASKING`: the command
    is `restore_asking` or, when Redis has no such command, `restore-asking`."""
    table = open("crates/redis/src/command_table.rs").read()
    out = []
    for const in re.findall(r"^\s*cmd\(&doc::([A-Z_]+)", table, re.M):
        name = const.lower()
        if conn.call("COMMAND", "INFO", name) == [None]:
            name = name.replace("_", "-")
        out.append(name)
    return out


def simple(v):
    assert v[0] == "simple", v
    return v[1]


def strs(items):
    return "&[" + ", ".join('"%s"' % s for s in items) + "]"


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def spec(flat):
    m = pairs(flat)
    flags = [simple(f) for f in m["flags"]]
    bs, fk = pairs(m["begin_search"]), pairs(m["find_keys"])
    bspec, fspec = pairs(bs["spec"]), pairs(fk["spec"])
    if bs["type"] == "index":
        begin = "Begin::Index(%d)" % bspec["index"]
    elif bs["type"] == "unknown":
        begin = "Begin::Unknown"
    else:
        begin = 'Begin::Keyword("%s", %d)' % (bspec["keyword"], bspec["startfrom"])
    if fk["type"] == "unknown":
        find = "Find::Unknown"
    elif fk["type"] == "range":
        find = "Find::Range { lastkey: %d, step: %d, limit: %d }" % (
            fspec["lastkey"], fspec["keystep"], fspec["limit"])
    else:
        find = "Find::Keynum { index: %d, first: %d, step: %d }" % (
            fspec["keynumidx"], fspec["firstkey"], fspec["keystep"])
    notes = 'Some("%s")' % m["notes"] if "notes" in m else "None"
    return "KeySpec { notes: %s, flags: %s, begin: %s, find: %s }" % (notes, strs(flags), begin, find)


def doc(info, indent, docs=None):
    name, arity, flags, first, last, step, acl, tips, specs, subs = info
    pad = " " * indent
    out = [pad + "Doc {"]
    out.append(pad + '    name: "%s",' % name)
    out.append(pad + "    arity: %d," % arity)
    out.append(pad + "    flags: %s," % strs(simple(f) for f in flags))
    out.append(pad + "    range: (%d, %d, %d)," % (first, last, step))
    out.append(pad + "    acl: %s," % strs(simple(a) for a in acl))
    out.append(pad + "    tips: %s," % strs(tips))
    out.append(pad + "    specs: &[" + ", ".join(spec(s) for s in specs) + "],")
    out.append(pad + "    docs: %s," % (rust_bytes(docs) if docs is not None else 'b""'))
    top = name.split("|")[0]
    kept = sorted((s for s in subs if s[0].split("|")[1] in SUBCOMMANDS.get(top, ())), key=lambda s: s[0])
    if kept:
        out.append(pad + "    subcommands: &[")
        for s in kept:
            out.append(doc(s, indent + 8) + ",")
        out.append(pad + "    ],")
    else:
        out.append(pad + "    subcommands: &[],")
    out.append(pad + "}")
    return "\n".join(out)


def main():
    conn = Conn(int(sys.argv[1]))
    version = pairs(conn.call("HELLO", "2"))["version"]
    print("//! Redis %s's COMMAND INFO for every command in [`crate::command_table`]," % version)
    print("//! measured from a real server by `xtask/measure/command_docs.py` (generated:")
    print("//! edit the script, not this file). Of a container command only the")
    print("//! subcommands the simulator implements are kept.")
    print()
    print("use crate::command_table::{Begin, Doc, Find, KeySpec};")
    for name in names(conn):
        [info] = conn.call("COMMAND", "INFO", name)
        assert info is not None, name
        print()
        docs = measured_docs(conn, name)
        print("pub(crate) const %s: Doc = %s;" % (name.upper().replace("-", "_"), doc(info, 0, docs)))


main()
