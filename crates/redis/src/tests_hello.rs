//! HELLO and RESP3, compared byte for byte with what redis-server 7.0.15 sent
//! for the same requests on loopback.

use crate::tests_pubsub::Bench;

/// HELLO's server map as 7.0.15 sends it: a flat array for RESP2, a map for RESP3.
fn hello_reply(proto: u8, id: u64) -> String {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{proto}\r\n\
         $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
}

#[test]
fn hello_checks_its_arguments_in_redis_order_and_switches_protocol() {
    let mut b = Bench::new();
    b.server(7850, "");
    let c = b.connect(7850);
    let got = b.send(
        c,
        &[
            "HELLO",
            "HELLO 2",
            "HELLO 4",
            "HELLO 0",
            "HELLO abc",
            "HELLO 3 FOO",
            "HELLO 3 SETNAME",
            "HELLO 3 AUTH a",
            "HELLO 2 setname x y",
            "HELLO 3 AUTH bob x",
            "HELLO 3 SETNAME 'a b'",
            "HELLO 3 AUTH default x SETNAME foo",
            "CLIENT GETNAME",
        ],
    );
    let want = format!(
        "{}{}-NOPROTO unsupported protocol version\r\n-NOPROTO unsupported protocol version\r\n\
-ERR Protocol version is not an integer or out of range\r\n-ERR Syntax error in HELLO option 'FOO'\r\n\
-ERR Syntax error in HELLO option 'SETNAME'\r\n-ERR Syntax error in HELLO option 'AUTH'\r\n\
-ERR Syntax error in HELLO option 'y'\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n\
-ERR Client names cannot contain spaces, newlines or special characters.\r\n{}$3\r\nfoo\r\n",
        hello_reply(2, 3),
        hello_reply(2, 3),
        hello_reply(3, 3)
    );
    assert_eq!(got, want);
    let got = b.send(
        c,
        &[
            "GET nokey",
            "SET a 1",
            "HSET h f v f2 v2",
            "HGETALL h",
            "SADD s 3 1 2",
            "SMEMBERS s",
            "CONFIG GET appendonly",
            "HGETALL nokey",
            "SMEMBERS nokey",
            "MGET a nokey",
            "LPOP nokey",
            "HGET h nope",
            "LRANGE nokey 0 -1",
            "PING",
            "HELLO",
            "HELLO 2",
            "GET nokey",
            "HGETALL h",
            "SMEMBERS s",
        ],
    );
    let want = format!(
        "_\r\n+OK\r\n:2\r\n%2\r\n$1\r\nf\r\n$1\r\nv\r\n$2\r\nf2\r\n$2\r\nv2\r\n:3\r\n~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n\
%1\r\n$10\r\nappendonly\r\n$2\r\nno\r\n%0\r\n~0\r\n*2\r\n$1\r\n1\r\n_\r\n_\r\n_\r\n*0\r\n+PONG\r\n{}{}$-1\r\n\
*4\r\n$1\r\nf\r\n$1\r\nv\r\n$2\r\nf2\r\n$2\r\nv2\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        hello_reply(3, 3),
        hello_reply(2, 3)
    );
    assert_eq!(got, want);
}

#[test]
fn hello_needs_authentication_unless_it_brings_it() {
    let mut b = Bench::new();
    b.server(7851, "requirepass pw");
    let c = b.connect(7851);
    let noauth = "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH \
<user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n";
    let got = b.send(
        c,
        &[
            "HELLO",
            "HELLO 3",
            "HELLO 4",
            "HELLO 3 SETNAME foo",
            "HELLO 3 AUTH default bad",
            "GET a",
            // Authenticated before the name is refused, and the protocol stays RESP2.
            "HELLO 3 AUTH default pw SETNAME 'a b'",
            "CLIENT GETNAME",
            "HELLO 3 AUTH default pw SETNAME nm",
            "CLIENT GETNAME",
        ],
    );
    let want = format!(
        "{noauth}{noauth}-NOPROTO unsupported protocol version\r\n{noauth}\
-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n\
-ERR Client names cannot contain spaces, newlines or special characters.\r\n$-1\r\n{}$2\r\nnm\r\n",
        hello_reply(3, 3)
    );
    assert_eq!(got, want);
    // CLIENT LIST becomes a verbatim string and reports the protocol.
    let got = b.send(c, &["CLIENT LIST"]);
    let (head, text) = got.split_once("\r\ntxt:").expect("a verbatim string");
    assert_eq!(head, format!("={}", text.len() - 2 + 4));
    assert!(text.ends_with(" resp=3\n\r\n"), "{text}");
}

#[test]
fn resp3_subscribers_get_pushes_and_may_run_any_command() {
    let mut b = Bench::new();
    b.server(7850, "");
    let (a, p) = (b.connect(7850), b.connect(7850));
    let got = b.send(a, &["HELLO 3", "SUBSCRIBE c", "PSUBSCRIBE c*"]);
    let want = format!(
        "{}>3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n>3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n",
        hello_reply(3, 3)
    );
    assert_eq!(got, want);
    assert_eq!(b.send(p, &["PUBLISH c hi"]), ":2\r\n");
    assert_eq!(
        b.take(a),
        ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n>4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$1\r\nc\r\n$2\r\nhi\r\n"
    );
    b.send(p, &["SET a 1"]);
    let got = b
        .send(a, &["PING", "GET a", "UNSUBSCRIBE", "PUNSUBSCRIBE", "UNSUBSCRIBE", "HELLO 2", "SUBSCRIBE c", "HELLO 3"]);
    let want = format!(
        "+PONG\r\n$1\r\n1\r\n>3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:1\r\n>3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:0\r\n\
>3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n{}*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n\
-ERR Can't execute 'hello': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
        hello_reply(2, 3)
    );
    assert_eq!(got, want);
}

#[test]
fn a_replica_says_so_in_hello() {
    let mut b = Bench::new();
    b.server(7850, "");
    b.server(7853, "replicaof 127.0.0.1 7850");
    let c = b.connect(7853);
    // As redis-server 7.0.15 answered on a fresh replica's first connection.
    let want = hello_reply(3, 3).replace("$6\r\nmaster\r\n", "$7\r\nreplica\r\n");
    assert_eq!(b.send(c, &["HELLO 3"]), want);
}
