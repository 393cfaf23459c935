#!/usr/bin/env python3
"""Record a history of redis-py clients against a real Redis, for `chaoslab history check`.

Client threads append unique integers to lists (RPUSH, read back with LRANGE)
and write and read registers (SET, GET). Each operation is written as an
`invoke` event and an `ok`, `fail` or `info` completion, with monotonic
nanoseconds since the start, in chaoslab's history.jsonl form. An error on a
write that may have reached the server (a timeout, a lost connection) is
`info`: it may or may not have been applied. A read that fails is `fail`.

The clients run in two halves. Between them the master's writes so far are
made to reach the replica (WAIT), and with `--fault detach-replica` the
replica is turned into a master (REPLICAOF NO ONE) while the clients go on
writing to the old one: what a failover that the clients never hear about
does to them (the split brain's shape). At the end one more process reads
every key from the node that is master: the replica when it was detached,
else the master. Every write acknowledged after the detach is lost.

    python3 record.py --master 127.0.0.1:6379 --replica 127.0.0.1:6380 \\
        --fault detach-replica --out history.jsonl
    chaoslab history check history.jsonl

Needs redis-py (`pip install redis`). Only the standard library otherwise.
"""

import argparse
import json
import random
import threading
import time

import redis

WRITE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class History:
    """Events in the order they happened: a time is read and its event
    appended under one lock, so the file's order is the times' order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.start = time.monotonic_ns()
        self.lines = []

    def now(self):
        return time.monotonic_ns() - self.start

    def event(self, kind, process, f, key, value=None, error=None):
        with self.lock:
            event = {"type": kind, "process": process, "f": f, "key": key, "value": value, "time": self.now()}
            if error is not None:
                event["error"] = error
            self.lines.append(json.dumps(event))

    def fault(self, name):
        with self.lock:
            self.lines.append(json.dumps({"type": "fault", "name": name, "start": self.now()}))

    def op(self, process, f, key, value, call, decode=lambda reply: None):
        """Runs `call`, recorded as one operation; a read's value is `decode(reply)`."""
        self.event("invoke", process, f, key, value)
        reading = value is None
        try:
            reply = call()
        except WRITE_ERRORS as e:
            self.event("fail" if reading else "info", process, f, key, value, error=type(e).__name__)
            return
        except redis.exceptions.ResponseError as e:
            self.event("fail", process, f, key, value, error=str(e))
            return
        self.event("ok", process, f, key, decode(reply) if reading else value)


def as_int(reply):
    return None if reply is None else int(reply)


def client(history, process, r, keys, ops, rng, gate):
    """One client: `ops` operations in two halves, waiting at `gate` between them."""
    lists, registers = keys
    next_value = (process + 1) * 1_000_000
    for j in range(ops):
        if j == ops // 2:
            gate.wait()
            gate.wait()
        key = rng.choice(lists + registers)
        writing = rng.random() < 0.7
        if key in lists and writing:
            next_value += 1
            v = next_value
            history.op(process, "append", key, v, lambda: r.rpush(key, v))
        elif key in lists:
            history.op(process, "read-list", key, None, lambda: r.lrange(key, 0, -1),
                       lambda reply: [int(x) for x in reply])
        elif writing:
            next_value += 1
            v = next_value
            history.op(process, "write", key, v, lambda: r.set(key, v))
        else:
            history.op(process, "read", key, None, lambda: r.get(key), as_int)


def between_halves(args, history):
    """With the clients waiting: the replica made to hold every write so far,
    then detached if asked. Gives the node the final reads go to."""
    if args.replica is None:
        return args.master
    # WAIT blocks until the replica acknowledges: no socket timeout shorter than its own.
    master = redis.Redis(host=args.master[0], port=args.master[1], socket_timeout=10)
    if master.execute_command("WAIT", 1, 5000) < 1:
        raise RuntimeError("the replica did not acknowledge the first half's writes within 5 s (is it in sync?)")
    if args.fault == "none":
        return args.master
    redis.Redis(host=args.replica[0], port=args.replica[1], socket_timeout=10).execute_command("REPLICAOF", "NO", "ONE")
    history.fault(f"replica {args.replica[0]}:{args.replica[1]} detached (REPLICAOF NO ONE); "
                  f"the clients still write to {args.master[0]}:{args.master[1]}")
    return args.replica


def address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--master", required=True, type=address, help="HOST:PORT of the master")
    parser.add_argument("--replica", type=address, help="HOST:PORT of its replica")
    parser.add_argument("--fault", choices=["none", "detach-replica"], default="none")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--ops", type=int, default=100, help="operations per client")
    parser.add_argument("--lists", type=int, default=2)
    parser.add_argument("--registers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--socket-timeout", type=float, default=1.0)
    parser.add_argument("--out", required=True, help="the history.jsonl to write")
    args = parser.parse_args()
    if args.fault == "detach-replica" and args.replica is None:
        parser.error("--fault detach-replica needs --replica")

    def connect(at):
        return redis.Redis(host=at[0], port=at[1], socket_timeout=args.socket_timeout,
                           socket_connect_timeout=args.socket_timeout)

    keys = ([f"l{i}" for i in range(args.lists)], [f"r{i}" for i in range(args.registers)])
    history = History()
    gate = threading.Barrier(args.clients + 1, timeout=30)
    threads = [
        threading.Thread(target=client, args=(history, p, connect(args.master), keys, args.ops,
                                              random.Random(args.seed * 1000 + p), gate))
        for p in range(args.clients)
    ]
    for t in threads:
        t.start()
    gate.wait()  # every client has done its first half
    try:
        final_node = between_halves(args, history)
    except (redis.exceptions.RedisError, RuntimeError) as e:
        gate.abort()
        raise SystemExit(f"record.py: between the halves: {e}")
    gate.wait()  # the second halves start
    for t in threads:
        t.join(timeout=60)
    reader, r = args.clients, connect(final_node)
    for key in keys[0]:
        history.op(reader, "read-list", key, None, lambda: r.lrange(key, 0, -1), lambda reply: [int(x) for x in reply])
    for key in keys[1]:
        history.op(reader, "read", key, None, lambda: r.get(key), as_int)
    with open(args.out, "w") as out:
        out.write("\n".join(history.lines) + "\n")


if __name__ == "__main__":
    main()
