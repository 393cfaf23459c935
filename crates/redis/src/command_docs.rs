//! Redis 7.0.15's COMMAND INFO for every command in [`crate::command_table`],
//! measured from a real server by `xtask/measure/command_docs.py` (generated:
//! edit the script, not this file). Of a container command only the
//! subcommands the simulator implements are kept.

use crate::command_table::{Begin, Doc, Find, KeySpec};

pub(crate) const ACL: Doc = Doc {
    name: "acl",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$45\r\nA container for Access List Control commands \r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%13\r\n$7\r\nacl|cat\r\n%5\r\n$7\r\nsummary\r\n$57\r\nList the ACL categories or the commands inside a category\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$55\r\nO(1) since the categories and commands are a fixed set.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$12\r\ncategoryname\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$11\r\nacl|deluser\r\n%5\r\n$7\r\nsummary\r\n$55\r\nRemove the specified ACL users and the associated rules\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$49\r\nO(1) amortized time considering the typical user.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$10\r\nacl|dryrun\r\n%5\r\n$7\r\nsummary\r\n$85\r\nReturns whether the user can execute the given command without executing the command.\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$5\r\nO(1).\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\ncommand\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$11\r\nacl|genpass\r\n%5\r\n$7\r\nsummary\r\n$60\r\nGenerate a pseudorandom secure password to use for ACL users\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nbits\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$11\r\nacl|getuser\r\n%6\r\n$7\r\nsummary\r\n$37\r\nGet the rules for a specific ACL user\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$85\r\nO(N). Where N is the number of password, command and pattern rules that the user has.\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n6.2.0\r\n$31\r\nAdded Pub/Sub channel patterns.\r\n*2\r\n$5\r\n7.0.0\r\n$108\r\nAdded selectors and changed the format of key and channel patterns from a list to their rule representation.\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n$8\r\nacl|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$8\r\nacl|list\r\n%4\r\n$7\r\nsummary\r\n$52\r\nList the current ACL rules in ACL config file format\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$48\r\nO(N). Where N is the number of configured users.\r\n$8\r\nacl|load\r\n%4\r\n$7\r\nsummary\r\n$44\r\nReload the ACLs from the configured ACL file\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$48\r\nO(N). Where N is the number of configured users.\r\n$7\r\nacl|log\r\n%5\r\n$7\r\nsummary\r\n$50\r\nList latest events denied because of ACLs in place\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$46\r\nO(N) with N being the number of entries shown.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\noperation\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%3\r\n$4\r\nname\r\n$5\r\nreset\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nRESET\r\n$8\r\nacl|save\r\n%4\r\n$7\r\nsummary\r\n$53\r\nSave the current ACL rules in the configured ACL file\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$48\r\nO(N). Where N is the number of configured users.\r\n$11\r\nacl|setuser\r\n%6\r\n$7\r\nsummary\r\n$50\r\nModify or create the rules for a specific ACL user\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$46\r\nO(N). Where N is the number of rules provided.\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n6.2.0\r\n$31\r\nAdded Pub/Sub channel patterns.\r\n*2\r\n$5\r\n7.0.0\r\n$42\r\nAdded selectors and key based permissions.\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$4\r\nrule\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$9\r\nacl|users\r\n%4\r\n$7\r\nsummary\r\n$49\r\nList the username of all the configured ACL rules\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$48\r\nO(N). Where N is the number of configured users.\r\n$10\r\nacl|whoami\r\n%4\r\n$7\r\nsummary\r\n$64\r\nReturn the name of the user associated to the current connection\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[
        Doc {
            name: "acl|cat",
            arity: -2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|deluser",
            arity: -3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|dryrun",
            arity: -4,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|genpass",
            arity: -2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|getuser",
            arity: 3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|list",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|load",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|log",
            arity: -2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|save",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|setuser",
            arity: -3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|users",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "acl|whoami",
            arity: 2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const APPEND: Doc = Doc {
    name: "append",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$23\r\nAppend a value to a key\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$233\r\nO(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ASKING: Doc = Doc {
    name: "asking",
    arity: 1,
    flags: &["fast"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$46\r\nSent by cluster clients after an -ASK redirect\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const AUTH: Doc = Doc {
    name: "auth",
    arity: -2,
    flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$26\r\nAuthenticate to the server\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$60\r\nO(N) where N is the number of passwords defined for the user\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.0.0\r\n$40\r\nAdded ACL style (username and password).\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%2\r\n$4\r\nname\r\n$8\r\npassword\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const BGREWRITEAOF: Doc = Doc {
    name: "bgrewriteaof",
    arity: 1,
    flags: &["admin", "noscript", "no_async_loading"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$43\r\nAsynchronously rewrite the append-only file\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const BGSAVE: Doc = Doc {
    name: "bgsave",
    arity: -1,
    flags: &["admin", "noscript", "no_async_loading"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$39\r\nAsynchronously save the dataset to disk\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n3.2.2\r\n$28\r\nAdded the `SCHEDULE` option.\r\n$9\r\narguments\r\n*1\r\n%5\r\n$4\r\nname\r\n$8\r\nschedule\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nSCHEDULE\r\n$5\r\nsince\r\n$5\r\n3.2.2\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const BITCOUNT: Doc = Doc {
    name: "bitcount",
    arity: -2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@bitmap", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$26\r\nCount set bits in a string\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n$4\r\nO(N)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$28\r\nAdded the `BYTE|BIT` option.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$5\r\nindex\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$10\r\nindex_unit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nbyte\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nBYTE\r\n%3\r\n$4\r\nname\r\n$3\r\nbit\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nBIT\r\n",
    subcommands: &[],
};

pub(crate) const BITFIELD: Doc = Doc {
    name: "bitfield",
    arity: -2,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@bitmap", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: Some("This command allows both access and modification of the key"), flags: &["RW", "access", "update", "variable_flags"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$56\r\nPerform arbitrary bitfield integer operations on strings\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n$34\r\nO(1) for each subcommand specified\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$9\r\noperation\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$15\r\nencoding_offset\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$3\r\nGET\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$8\r\nencoding\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%3\r\n$4\r\nname\r\n$5\r\nwrite\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n%5\r\n$4\r\nname\r\n$13\r\nwrap_sat_fail\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$8\r\nOVERFLOW\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$4\r\nwrap\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nWRAP\r\n%3\r\n$4\r\nname\r\n$3\r\nsat\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nSAT\r\n%3\r\n$4\r\nname\r\n$4\r\nfail\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nFAIL\r\n%3\r\n$4\r\nname\r\n$15\r\nwrite_operation\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$21\r\nencoding_offset_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$3\r\nSET\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$8\r\nencoding\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$25\r\nencoding_offset_increment\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$6\r\nINCRBY\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$8\r\nencoding\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const BITFIELD_RO: Doc = Doc {
    name: "bitfield_ro",
    arity: -2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@bitmap", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$87\r\nPerform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n$34\r\nO(1) for each subcommand specified\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$15\r\nencoding_offset\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nflags\r\n~3\r\n+optional\r\n+multiple\r\n+multiple_token\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$8\r\nencoding\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const BITOP: Doc = Doc {
    name: "bitop",
    arity: -4,
    flags: &["write", "denyoom"],
    range: (2, -1, 1),
    acl: &["@write", "@bitmap", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(3), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$42\r\nPerform bitwise operations between strings\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n$4\r\nO(N)\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$9\r\noperation\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$7\r\ndestkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const BITPOS: Doc = Doc {
    name: "bitpos",
    arity: -3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@bitmap", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$39\r\nFind first bit set or clear in a string\r\n$5\r\nsince\r\n$5\r\n2.8.7\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n$4\r\nO(N)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$28\r\nAdded the `BYTE|BIT` option.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nbit\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$5\r\nindex\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$9\r\nend_index\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$10\r\nindex_unit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nbyte\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nBYTE\r\n%3\r\n$4\r\nname\r\n$3\r\nbit\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nBIT\r\n",
    subcommands: &[],
};

pub(crate) const BLMOVE: Doc = Doc {
    name: "blmove",
    arity: 6,
    flags: &["write", "denyoom", "noscript", "blocking"],
    range: (1, 2, 1),
    acl: &["@write", "@list", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$98\r\nPop an element from a list, push it to another list and return it; or block until one is available\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n%3\r\n$4\r\nname\r\n$9\r\nwherefrom\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nleft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nLEFT\r\n%3\r\n$4\r\nname\r\n$5\r\nright\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nRIGHT\r\n%3\r\n$4\r\nname\r\n$7\r\nwhereto\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nleft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nLEFT\r\n%3\r\n$4\r\nname\r\n$5\r\nright\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nRIGHT\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const BLMPOP: Doc = Doc {
    name: "blmpop",
    arity: -5,
    flags: &["write", "blocking", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@write", "@list", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$57\r\nPop elements from a list, or block until one is available\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$87\r\nO(N+M) where N is the number of provided keys and M is the number of elements returned.\r\n$9\r\narguments\r\n*5\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$5\r\nwhere\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nleft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nLEFT\r\n%3\r\n$4\r\nname\r\n$5\r\nright\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nRIGHT\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const BLPOP: Doc = Doc {
    name: "blpop",
    arity: -3,
    flags: &["write", "noscript", "blocking"],
    range: (1, -2, 1),
    acl: &["@write", "@list", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: -2, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$75\r\nRemove and get the first element in a list, or block until one is available\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$44\r\nO(N) where N is the number of provided keys.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.0.0\r\n$59\r\n`timeout` is interpreted as a double instead of an integer.\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const BRPOP: Doc = Doc {
    name: "brpop",
    arity: -3,
    flags: &["write", "noscript", "blocking"],
    range: (1, -2, 1),
    acl: &["@write", "@list", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: -2, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$74\r\nRemove and get the last element in a list, or block until one is available\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$44\r\nO(N) where N is the number of provided keys.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.0.0\r\n$59\r\n`timeout` is interpreted as a double instead of an integer.\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const BRPOPLPUSH: Doc = Doc {
    name: "brpoplpush",
    arity: 4,
    flags: &["write", "denyoom", "noscript", "blocking"],
    range: (1, 2, 1),
    acl: &["@write", "@list", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%9\r\n$7\r\nsummary\r\n$98\r\nPop an element from a list, push it to another list and return it; or block until one is available\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$46\r\n`BLMOVE` with the `RIGHT` and `LEFT` arguments\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.0.0\r\n$59\r\n`timeout` is interpreted as a double instead of an integer.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const BZMPOP: Doc = Doc {
    name: "bzmpop",
    arity: -5,
    flags: &["write", "blocking", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@write", "@sortedset", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$85\r\nRemove and return members with scores in a sorted set or block until one is available\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$151\r\nO(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.\r\n$9\r\narguments\r\n*5\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$5\r\nwhere\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n%3\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const BZPOPMAX: Doc = Doc {
    name: "bzpopmax",
    arity: -3,
    flags: &["write", "noscript", "blocking", "fast"],
    range: (1, -2, 1),
    acl: &["@write", "@sortedset", "@fast", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: -2, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$113\r\nRemove and return the member with the highest score from one or more sorted sets, or block until one is available\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$64\r\nO(log(N)) with N being the number of elements in the sorted set.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.0.0\r\n$59\r\n`timeout` is interpreted as a double instead of an integer.\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const BZPOPMIN: Doc = Doc {
    name: "bzpopmin",
    arity: -3,
    flags: &["write", "noscript", "blocking", "fast"],
    range: (1, -2, 1),
    acl: &["@write", "@sortedset", "@fast", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: -2, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$112\r\nRemove and return the member with the lowest score from one or more sorted sets, or block until one is available\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$64\r\nO(log(N)) with N being the number of elements in the sorted set.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.0.0\r\n$59\r\n`timeout` is interpreted as a double instead of an integer.\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const CLIENT: Doc = Doc {
    name: "client",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$42\r\nA container for client connection commands\r\n$5\r\nsince\r\n$5\r\n2.4.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%16\r\n$14\r\nclient|caching\r\n%5\r\n$7\r\nsummary\r\n$66\r\nInstruct the server about tracking or not keys in the next request\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nmode\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nyes\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nYES\r\n%3\r\n$4\r\nname\r\n$2\r\nno\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNO\r\n$14\r\nclient|getname\r\n%4\r\n$7\r\nsummary\r\n$31\r\nGet the current connection name\r\n$5\r\nsince\r\n$5\r\n2.6.9\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$15\r\nclient|getredir\r\n%4\r\n$7\r\nsummary\r\n$55\r\nGet tracking notifications redirection client ID if any\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nclient|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\nclient|id\r\n%4\r\n$7\r\nsummary\r\n$48\r\nReturns the client ID for the current connection\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nclient|info\r\n%4\r\n$7\r\nsummary\r\n$56\r\nReturns information about the current client connection.\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nclient|kill\r\n%6\r\n$7\r\nsummary\r\n$31\r\nKill the connection of a client\r\n$5\r\nsince\r\n$5\r\n2.4.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$48\r\nO(N) where N is the number of client connections\r\n$7\r\nhistory\r\n~5\r\n*2\r\n$6\r\n2.8.12\r\n$24\r\nAdded new filter format.\r\n*2\r\n$6\r\n2.8.12\r\n$12\r\n`ID` option.\r\n*2\r\n$5\r\n3.2.0\r\n$41\r\nAdded `master` type in for `TYPE` option.\r\n*2\r\n$5\r\n5.0.0\r\n$91\r\nReplaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility.\r\n*2\r\n$5\r\n6.2.0\r\n$15\r\n`LADDR` option.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$6\r\nfilter\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$7\r\nip:port\r\n$4\r\ntype\r\n$6\r\nstring\r\n$16\r\ndeprecated_since\r\n$6\r\n2.8.12\r\n%4\r\n$4\r\nname\r\n$10\r\nnew-format\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*6\r\n%5\r\n$4\r\nname\r\n$9\r\nclient-id\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nID\r\n$5\r\nsince\r\n$6\r\n2.8.12\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%6\r\n$4\r\nname\r\n$26\r\nnormal_master_slave_pubsub\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$4\r\nTYPE\r\n$5\r\nsince\r\n$6\r\n2.8.12\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$6\r\nnormal\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nNORMAL\r\n%4\r\n$4\r\nname\r\n$6\r\nmaster\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nMASTER\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n%3\r\n$4\r\nname\r\n$5\r\nslave\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nSLAVE\r\n%4\r\n$4\r\nname\r\n$7\r\nreplica\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLICA\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n%3\r\n$4\r\nname\r\n$6\r\npubsub\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nPUBSUB\r\n%4\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$4\r\nUSER\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$7\r\nip:port\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$4\r\nADDR\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$7\r\nip:port\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$5\r\nLADDR\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$6\r\nyes/no\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$6\r\nSKIPME\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$11\r\nclient|list\r\n%6\r\n$7\r\nsummary\r\n$34\r\nGet the list of client connections\r\n$5\r\nsince\r\n$5\r\n2.4.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$48\r\nO(N) where N is the number of client connections\r\n$7\r\nhistory\r\n~6\r\n*2\r\n$6\r\n2.8.12\r\n$31\r\nAdded unique client `id` field.\r\n*2\r\n$5\r\n5.0.0\r\n$29\r\nAdded optional `TYPE` filter.\r\n*2\r\n$5\r\n6.0.0\r\n$19\r\nAdded `user` field.\r\n*2\r\n$5\r\n6.2.0\r\n$85\r\nAdded `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter.\r\n*2\r\n$5\r\n7.0.0\r\n$50\r\nAdded `resp`, `multi-mem`, `rbs` and `rbp` fields.\r\n*2\r\n$5\r\n7.0.3\r\n$19\r\nAdded `ssub` field.\r\n$9\r\narguments\r\n*2\r\n%6\r\n$4\r\nname\r\n$28\r\nnormal_master_replica_pubsub\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$4\r\nTYPE\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$6\r\nnormal\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nNORMAL\r\n%3\r\n$4\r\nname\r\n$6\r\nmaster\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nMASTER\r\n%3\r\n$4\r\nname\r\n$7\r\nreplica\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLICA\r\n%3\r\n$4\r\nname\r\n$6\r\npubsub\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nPUBSUB\r\n%6\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$2\r\nID\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$9\r\nclient-id\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$15\r\nclient|no-evict\r\n%5\r\n$7\r\nsummary\r\n$51\r\nSet client eviction mode for the current connection\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nenabled\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\non\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nON\r\n%3\r\n$4\r\nname\r\n$3\r\noff\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nOFF\r\n$12\r\nclient|pause\r\n%6\r\n$7\r\nsummary\r\n$51\r\nStop processing commands from clients for some time\r\n$5\r\nsince\r\n$6\r\n2.9.50\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$61\r\n`CLIENT PAUSE WRITE` mode added along with the `mode` option.\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$4\r\nmode\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\nwrite\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nWRITE\r\n%3\r\n$4\r\nname\r\n$3\r\nall\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nALL\r\n$12\r\nclient|reply\r\n%5\r\n$7\r\nsummary\r\n$48\r\nInstruct the server whether to reply to commands\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$11\r\non_off_skip\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$2\r\non\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nON\r\n%3\r\n$4\r\nname\r\n$3\r\noff\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nOFF\r\n%3\r\n$4\r\nname\r\n$4\r\nskip\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSKIP\r\n$14\r\nclient|setname\r\n%5\r\n$7\r\nsummary\r\n$31\r\nSet the current connection name\r\n$5\r\nsince\r\n$5\r\n2.6.9\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$15\r\nconnection-name\r\n$4\r\ntype\r\n$6\r\nstring\r\n$15\r\nclient|tracking\r\n%5\r\n$7\r\nsummary\r\n$61\r\nEnable or disable server assisted client side caching support\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$55\r\nO(1). Some options may introduce additional complexity.\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$6\r\nstatus\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\non\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nON\r\n%3\r\n$4\r\nname\r\n$3\r\noff\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nOFF\r\n%4\r\n$4\r\nname\r\n$9\r\nclient-id\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$8\r\nREDIRECT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$6\r\nprefix\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$6\r\nPREFIX\r\n$5\r\nflags\r\n~3\r\n+optional\r\n+multiple\r\n+multiple_token\r\n%4\r\n$4\r\nname\r\n$5\r\nbcast\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nBCAST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\noptin\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nOPTIN\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$6\r\noptout\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nOPTOUT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$6\r\nnoloop\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nNOLOOP\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$19\r\nclient|trackinginfo\r\n%4\r\n$7\r\nsummary\r\n$87\r\nReturn information about server assisted client side caching for the current connection\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$14\r\nclient|unblock\r\n%5\r\n$7\r\nsummary\r\n$74\r\nUnblock a client blocked in a blocking command from a different connection\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$52\r\nO(log N) where N is the number of client connections\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$9\r\nclient-id\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$13\r\ntimeout_error\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nTIMEOUT\r\n%3\r\n$4\r\nname\r\n$5\r\nerror\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nERROR\r\n$14\r\nclient|unpause\r\n%4\r\n$7\r\nsummary\r\n$45\r\nResume processing of clients that were paused\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$44\r\nO(N) Where N is the number of paused clients\r\n",
    subcommands: &[
        Doc {
            name: "client|caching",
            arity: 3,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|getname",
            arity: 2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|getredir",
            arity: 2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|id",
            arity: 2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|info",
            arity: 2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|kill",
            arity: -3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|list",
            arity: -2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous", "@connection"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|no-evict",
            arity: 3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|pause",
            arity: -3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|reply",
            arity: 3,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|setname",
            arity: 3,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|tracking",
            arity: -3,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|trackinginfo",
            arity: 2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|unblock",
            arity: -3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "client|unpause",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const CLUSTER: Doc = Doc {
    name: "cluster",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$32\r\nA container for cluster commands\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%27\r\n$16\r\ncluster|addslots\r\n%5\r\n$7\r\nsummary\r\n$39\r\nAssign new hash slots to receiving node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$55\r\nO(N) where N is the total number of hash slot arguments\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nslot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$21\r\ncluster|addslotsrange\r\n%5\r\n$7\r\nsummary\r\n$39\r\nAssign new hash slots to receiving node\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$92\r\nO(N) where N is the total number of the slots between the start slot and end slot arguments.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$19\r\nstart-slot_end-slot\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$10\r\nstart-slot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$8\r\nend-slot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$17\r\ncluster|bumpepoch\r\n%4\r\n$7\r\nsummary\r\n$32\r\nAdvance the cluster config epoch\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$29\r\ncluster|count-failure-reports\r\n%5\r\n$7\r\nsummary\r\n$60\r\nReturn the number of failure reports active for a given node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$45\r\nO(N) where N is the number of failure reports\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$23\r\ncluster|countkeysinslot\r\n%5\r\n$7\r\nsummary\r\n$58\r\nReturn the number of local keys in the specified hash slot\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$4\r\nslot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$16\r\ncluster|delslots\r\n%5\r\n$7\r\nsummary\r\n$43\r\nSet hash slots as unbound in receiving node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$55\r\nO(N) where N is the total number of hash slot arguments\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nslot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$21\r\ncluster|delslotsrange\r\n%5\r\n$7\r\nsummary\r\n$43\r\nSet hash slots as unbound in receiving node\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$92\r\nO(N) where N is the total number of the slots between the start slot and end slot arguments.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$19\r\nstart-slot_end-slot\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$10\r\nstart-slot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$8\r\nend-slot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$16\r\ncluster|failover\r\n%5\r\n$7\r\nsummary\r\n$60\r\nForces a replica to perform a manual failover of its master.\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$7\r\noptions\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\nforce\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nFORCE\r\n%3\r\n$4\r\nname\r\n$8\r\ntakeover\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nTAKEOVER\r\n$18\r\ncluster|flushslots\r\n%4\r\n$7\r\nsummary\r\n$37\r\nDelete a node's own slots information\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$14\r\ncluster|forget\r\n%5\r\n$7\r\nsummary\r\n$34\r\nRemove a node from the nodes table\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$21\r\ncluster|getkeysinslot\r\n%5\r\n$7\r\nsummary\r\n$49\r\nReturn local key names in the specified hash slot\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$49\r\nO(log(N)) where N is the number of requested keys\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$4\r\nslot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$12\r\ncluster|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$12\r\ncluster|info\r\n%4\r\n$7\r\nsummary\r\n$44\r\nProvides info about Redis Cluster node state\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$15\r\ncluster|keyslot\r\n%5\r\n$7\r\nsummary\r\n$42\r\nReturns the hash slot of the specified key\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$46\r\nO(N) where N is the number of bytes in the key\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$6\r\nstring\r\n$13\r\ncluster|links\r\n%4\r\n$7\r\nsummary\r\n$65\r\nReturns a list of all TCP links to and from peer nodes in cluster\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$49\r\nO(N) where N is the total number of Cluster nodes\r\n$12\r\ncluster|meet\r\n%6\r\n$7\r\nsummary\r\n$51\r\nForce a node cluster to handshake with another node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n4.0.0\r\n$47\r\nAdded the optional `cluster_bus_port` argument.\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$2\r\nip\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$4\r\nport\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$16\r\ncluster_bus_port\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$12\r\ncluster|myid\r\n%4\r\n$7\r\nsummary\r\n$18\r\nReturn the node id\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\ncluster|nodes\r\n%4\r\n$7\r\nsummary\r\n$31\r\nGet Cluster config for the node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$49\r\nO(N) where N is the total number of Cluster nodes\r\n$16\r\ncluster|replicas\r\n%5\r\n$7\r\nsummary\r\n$47\r\nList replica nodes of the specified master node\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$17\r\ncluster|replicate\r\n%5\r\n$7\r\nsummary\r\n$60\r\nReconfigure a node as a replica of the specified master node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$13\r\ncluster|reset\r\n%5\r\n$7\r\nsummary\r\n$26\r\nReset a Redis Cluster node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$95\r\nO(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\nhard_soft\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nhard\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nHARD\r\n%3\r\n$4\r\nname\r\n$4\r\nsoft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSOFT\r\n$18\r\ncluster|saveconfig\r\n%4\r\n$7\r\nsummary\r\n$45\r\nForces the node to save cluster state on disk\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$24\r\ncluster|set-config-epoch\r\n%5\r\n$7\r\nsummary\r\n$41\r\nSet the configuration epoch in a new node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$12\r\nconfig-epoch\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$15\r\ncluster|setslot\r\n%5\r\n$7\r\nsummary\r\n$35\r\nBind a hash slot to a specific node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$4\r\nslot\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%3\r\n$4\r\nname\r\n$10\r\nsubcommand\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$9\r\nIMPORTING\r\n%3\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$9\r\nMIGRATING\r\n%3\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$4\r\nNODE\r\n%3\r\n$4\r\nname\r\n$6\r\nstable\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nSTABLE\r\n$14\r\ncluster|shards\r\n%4\r\n$7\r\nsummary\r\n$43\r\nGet array of cluster slots to node mappings\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$49\r\nO(N) where N is the total number of cluster nodes\r\n$14\r\ncluster|slaves\r\n%8\r\n$7\r\nsummary\r\n$47\r\nList replica nodes of the specified master node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n5.0.0\r\n$11\r\nreplaced_by\r\n$18\r\n`CLUSTER REPLICAS`\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\nnode-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$13\r\ncluster|slots\r\n%8\r\n$7\r\nsummary\r\n$42\r\nGet array of Cluster slot to node mappings\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$49\r\nO(N) where N is the total number of Cluster nodes\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n7.0.0\r\n$11\r\nreplaced_by\r\n$16\r\n`CLUSTER SHARDS`\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n4.0.0\r\n$15\r\nAdded node IDs.\r\n*2\r\n$5\r\n7.0.0\r\n$43\r\nAdded additional networking metadata field.\r\n",
    subcommands: &[
        Doc {
            name: "cluster|addslots",
            arity: -3,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|addslotsrange",
            arity: -4,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|bumpepoch",
            arity: 2,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|count-failure-reports",
            arity: 3,
            flags: &["admin", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|countkeysinslot",
            arity: 3,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|delslots",
            arity: -3,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|delslotsrange",
            arity: -4,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|failover",
            arity: -2,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|flushslots",
            arity: 2,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|forget",
            arity: 3,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|getkeysinslot",
            arity: 4,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|info",
            arity: 2,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|keyslot",
            arity: 3,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|links",
            arity: 2,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|meet",
            arity: -4,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|myid",
            arity: 2,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|nodes",
            arity: 2,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|replicas",
            arity: 3,
            flags: &["admin", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|replicate",
            arity: 3,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|reset",
            arity: -2,
            flags: &["admin", "noscript", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|saveconfig",
            arity: 2,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|set-config-epoch",
            arity: 3,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|setslot",
            arity: -4,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|shards",
            arity: 2,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|slaves",
            arity: 3,
            flags: &["admin", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "cluster|slots",
            arity: 2,
            flags: &["stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const COMMAND: Doc = Doc {
    name: "command",
    arity: -1,
    flags: &["loading", "stale"],
    range: (0, 0, 0),
    acl: &["@slow", "@connection"],
    tips: &["nondeterministic_output_order"],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$34\r\nGet array of Redis command details\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$50\r\nO(N) where N is the total number of Redis commands\r\n$11\r\nsubcommands\r\n%7\r\n$13\r\ncommand|count\r\n%4\r\n$7\r\nsummary\r\n$34\r\nGet total number of Redis commands\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$12\r\ncommand|docs\r\n%5\r\n$7\r\nsummary\r\n$49\r\nGet array of specific Redis command documentation\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$49\r\nO(N) where N is the number of commands to look up\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$12\r\ncommand-name\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$15\r\ncommand|getkeys\r\n%4\r\n$7\r\nsummary\r\n$39\r\nExtract keys given a full Redis command\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$54\r\nO(N) where N is the number of arguments to the command\r\n$23\r\ncommand|getkeysandflags\r\n%4\r\n$7\r\nsummary\r\n$56\r\nExtract keys and access flags given a full Redis command\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$54\r\nO(N) where N is the number of arguments to the command\r\n$12\r\ncommand|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$12\r\ncommand|info\r\n%6\r\n$7\r\nsummary\r\n$78\r\nGet array of specific Redis command details, or all when no argument is given.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$49\r\nO(N) where N is the number of commands to look up\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$66\r\nAllowed to be called with no argument to get info on all commands.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$12\r\ncommand-name\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$12\r\ncommand|list\r\n%5\r\n$7\r\nsummary\r\n$35\r\nGet an array of Redis command names\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$50\r\nO(N) where N is the total number of Redis commands\r\n$9\r\narguments\r\n*1\r\n%5\r\n$4\r\nname\r\n$8\r\nfilterby\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$8\r\nFILTERBY\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$11\r\nmodule-name\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$6\r\nMODULE\r\n%3\r\n$4\r\nname\r\n$8\r\ncategory\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$6\r\nACLCAT\r\n%3\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\ntoken\r\n$7\r\nPATTERN\r\n",
    subcommands: &[
        Doc {
            name: "command|count",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "command|docs",
            arity: -2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &["nondeterministic_output_order"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "command|getkeys",
            arity: -4,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "command|getkeysandflags",
            arity: -4,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "command|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "command|info",
            arity: -2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &["nondeterministic_output_order"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "command|list",
            arity: -2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &["nondeterministic_output_order"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const CONFIG: Doc = Doc {
    name: "config",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$45\r\nA container for server configuration commands\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%5\r\n$10\r\nconfig|get\r\n%6\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\nO(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\nAdded the ability to pass multiple pattern parameters in one call\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$6\r\nstring\r\n$11\r\nconfig|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$16\r\nconfig|resetstat\r\n%4\r\n$7\r\nsummary\r\n$32\r\nReset the stats returned by INFO\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$14\r\nconfig|rewrite\r\n%4\r\n$7\r\nsummary\r\n$63\r\nRewrite the configuration file with the in memory configuration\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$10\r\nconfig|set\r\n%6\r\n$7\r\nsummary\r\n$48\r\nSet configuration parameters to the given values\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\nO(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$57\r\nAdded the ability to set multiple parameters in one call.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$15\r\nparameter_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[
        Doc {
            name: "config|get",
            arity: -3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "config|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "config|resetstat",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "config|rewrite",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "config|set",
            arity: -4,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const COPY: Doc = Doc {
    name: "copy",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, 2, 1),
    acl: &["@keyspace", "@write", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$10\r\nCopy a key\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$95\r\nO(N) worst case for collections, where N is the number of nested items. O(1) for string values.\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n%4\r\n$4\r\nname\r\n$14\r\ndestination-db\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nDB\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$7\r\nreplace\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLACE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const DBSIZE: Doc = Doc {
    name: "dbsize",
    arity: 1,
    flags: &["readonly", "fast"],
    range: (0, 0, 0),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["request_policy:all_shards", "response_policy:agg_sum"],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$50\r\nReturn the number of keys in the selected database\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const DEBUG: Doc = Doc {
    name: "debug",
    arity: -2,
    flags: &["admin", "noscript", "loading", "stale"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$34\r\nA container for debugging commands\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$9\r\ndoc_flags\r\n~1\r\n+syscmd\r\n",
    subcommands: &[],
};

pub(crate) const DECR: Doc = Doc {
    name: "decr",
    arity: 2,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$43\r\nDecrement the integer value of a key by one\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const DECRBY: Doc = Doc {
    name: "decrby",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$56\r\nDecrement the integer value of a key by the given number\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\ndecrement\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const DEL: Doc = Doc {
    name: "del",
    arity: -2,
    flags: &["write"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@write", "@slow"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec { notes: None, flags: &["RM", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$12\r\nDelete a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$288\r\nO(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const DISCARD: Doc = Doc {
    name: "discard",
    arity: 1,
    flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@fast", "@transaction"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$39\r\nDiscard all commands issued after MULTI\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$12\r\ntransactions\r\n$10\r\ncomplexity\r\n$45\r\nO(N), when N is the number of queued commands\r\n",
    subcommands: &[],
};

pub(crate) const DUMP: Doc = Doc {
    name: "dump",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$69\r\nReturn a serialized version of the value stored at the specified key.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$244\r\nO(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const ECHO: Doc = Doc {
    name: "echo",
    arity: 2,
    flags: &["loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const EVAL: Doc = Doc {
    name: "eval",
    arity: -3,
    flags: &["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@slow", "@scripting"],
    tips: &[],
    specs: &[KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"), flags: &["RW", "access", "update"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$32\r\nExecute a Lua script server side\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$39\r\nDepends on the script that is executed.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$6\r\nscript\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const EVAL_RO: Doc = Doc {
    name: "eval_ro",
    arity: -3,
    flags: &["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@slow", "@scripting"],
    tips: &[],
    specs: &[KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"), flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$42\r\nExecute a read-only Lua script server side\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$39\r\nDepends on the script that is executed.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$6\r\nscript\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const EVALSHA: Doc = Doc {
    name: "evalsha",
    arity: -3,
    flags: &["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@slow", "@scripting"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$32\r\nExecute a Lua script server side\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$39\r\nDepends on the script that is executed.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$4\r\nsha1\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const EVALSHA_RO: Doc = Doc {
    name: "evalsha_ro",
    arity: -3,
    flags: &["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@slow", "@scripting"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$42\r\nExecute a read-only Lua script server side\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$39\r\nDepends on the script that is executed.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$4\r\nsha1\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const EXEC: Doc = Doc {
    name: "exec",
    arity: 1,
    flags: &["noscript", "loading", "stale", "skip_slowlog"],
    range: (0, 0, 0),
    acl: &["@slow", "@transaction"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$39\r\nExecute all commands issued after MULTI\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$12\r\ntransactions\r\n$10\r\ncomplexity\r\n$38\r\nDepends on commands in the transaction\r\n",
    subcommands: &[],
};

pub(crate) const EXISTS: Doc = Doc {
    name: "exists",
    arity: -2,
    flags: &["readonly", "fast"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$25\r\nDetermine if a key exists\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$44\r\nO(N) where N is the number of keys to check.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n3.0.3\r\n$33\r\nAccepts multiple `key` arguments.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const EXPIRE: Doc = Doc {
    name: "expire",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$35\r\nSet a key's time to live in seconds\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$41\r\nAdded options: `NX`, `XX`, `GT` and `LT`.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%3\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n%3\r\n$4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nLT\r\n",
    subcommands: &[],
};

pub(crate) const EXPIREAT: Doc = Doc {
    name: "expireat",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$48\r\nSet the expiration for a key as a UNIX timestamp\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$41\r\nAdded options: `NX`, `XX`, `GT` and `LT`.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%3\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n%3\r\n$4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nLT\r\n",
    subcommands: &[],
};

pub(crate) const EXPIRETIME: Doc = Doc {
    name: "expiretime",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$43\r\nGet the expiration Unix timestamp for a key\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const FAILOVER: Doc = Doc {
    name: "failover",
    arity: -1,
    flags: &["admin", "noscript", "stale"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$73\r\nStart a coordinated failover between this server and one of its replicas.\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%5\r\n$4\r\nname\r\n$6\r\ntarget\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$2\r\nTO\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$4\r\nhost\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$4\r\nport\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$5\r\nforce\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nFORCE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\nabort\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nABORT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nTIMEOUT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const FCALL: Doc = Doc {
    name: "fcall",
    arity: -3,
    flags: &["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@slow", "@scripting"],
    tips: &[],
    specs: &[KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"), flags: &["RW", "access", "update"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$17\r\nInvoke a function\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$41\r\nDepends on the function that is executed.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$8\r\nfunction\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const FCALL_RO: Doc = Doc {
    name: "fcall_ro",
    arity: -3,
    flags: &["readonly", "noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@slow", "@scripting"],
    tips: &[],
    specs: &[KeySpec { notes: Some("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"), flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$27\r\nInvoke a read-only function\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$41\r\nDepends on the function that is executed.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$8\r\nfunction\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const FLUSHALL: Doc = Doc {
    name: "flushall",
    arity: -1,
    flags: &["write"],
    range: (0, 0, 0),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$34\r\nRemove all keys from all databases\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$57\r\nO(N) where N is the total number of keys in all databases\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n4.0.0\r\n$41\r\nAdded the `ASYNC` flushing mode modifier.\r\n*2\r\n$5\r\n6.2.0\r\n$40\r\nAdded the `SYNC` flushing mode modifier.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nASYNC\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n%4\r\n$4\r\nname\r\n$4\r\nsync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSYNC\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n",
    subcommands: &[],
};

pub(crate) const FLUSHDB: Doc = Doc {
    name: "flushdb",
    arity: -1,
    flags: &["write"],
    range: (0, 0, 0),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$41\r\nRemove all keys from the current database\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$59\r\nO(N) where N is the number of keys in the selected database\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n4.0.0\r\n$41\r\nAdded the `ASYNC` flushing mode modifier.\r\n*2\r\n$5\r\n6.2.0\r\n$40\r\nAdded the `SYNC` flushing mode modifier.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nASYNC\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n%4\r\n$4\r\nname\r\n$4\r\nsync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSYNC\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n",
    subcommands: &[],
};

pub(crate) const FUNCTION: Doc = Doc {
    name: "function",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$33\r\nA container for function commands\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%9\r\n$15\r\nfunction|delete\r\n%5\r\n$7\r\nsummary\r\n$25\r\nDelete a function by name\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$12\r\nlibrary-name\r\n$4\r\ntype\r\n$6\r\nstring\r\n$13\r\nfunction|dump\r\n%4\r\n$7\r\nsummary\r\n$51\r\nDump all functions into a serialized binary payload\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$39\r\nO(N) where N is the number of functions\r\n$14\r\nfunction|flush\r\n%5\r\n$7\r\nsummary\r\n$22\r\nDeleting all functions\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$47\r\nO(N) where N is the number of functions deleted\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nASYNC\r\n%3\r\n$4\r\nname\r\n$4\r\nsync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSYNC\r\n$13\r\nfunction|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\nfunction|kill\r\n%4\r\n$7\r\nsummary\r\n$41\r\nKill the function currently in execution.\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\nfunction|list\r\n%5\r\n$7\r\nsummary\r\n$40\r\nList information about all the functions\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$39\r\nO(N) where N is the number of functions\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$20\r\nlibrary-name-pattern\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$11\r\nLIBRARYNAME\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithcode\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHCODE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$13\r\nfunction|load\r\n%5\r\n$7\r\nsummary\r\n$68\r\nCreate a function with the given arguments (name, code, description)\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$48\r\nO(1) (considering compilation time is redundant)\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$7\r\nreplace\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLACE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%2\r\n$4\r\nname\r\n$13\r\nfunction-code\r\n$4\r\ntype\r\n$6\r\nstring\r\n$16\r\nfunction|restore\r\n%5\r\n$7\r\nsummary\r\n$46\r\nRestore all the functions on the given payload\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$54\r\nO(N) where N is the number of functions on the payload\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$16\r\nserialized-value\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$6\r\npolicy\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$5\r\nflush\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nFLUSH\r\n%3\r\n$4\r\nname\r\n$6\r\nappend\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nAPPEND\r\n%3\r\n$4\r\nname\r\n$7\r\nreplace\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLACE\r\n$14\r\nfunction|stats\r\n%4\r\n$7\r\nsummary\r\n$85\r\nReturn information about the function currently running (name, description, duration)\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[
        Doc {
            name: "function|delete",
            arity: 3,
            flags: &["write", "noscript"],
            range: (0, 0, 0),
            acl: &["@write", "@slow", "@scripting"],
            tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|dump",
            arity: 2,
            flags: &["noscript"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|flush",
            arity: -2,
            flags: &["write", "noscript"],
            range: (0, 0, 0),
            acl: &["@write", "@slow", "@scripting"],
            tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|kill",
            arity: 2,
            flags: &["noscript", "allow_busy"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &["request_policy:all_shards", "response_policy:one_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|list",
            arity: -2,
            flags: &["noscript"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &["nondeterministic_output_order"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|load",
            arity: -3,
            flags: &["write", "denyoom", "noscript"],
            range: (0, 0, 0),
            acl: &["@write", "@slow", "@scripting"],
            tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|restore",
            arity: -3,
            flags: &["write", "denyoom", "noscript"],
            range: (0, 0, 0),
            acl: &["@write", "@slow", "@scripting"],
            tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "function|stats",
            arity: 2,
            flags: &["noscript", "allow_busy"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const GEOADD: Doc = Doc {
    name: "geoadd",
    arity: -5,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$87\r\nAdd one or more geospatial items in the geospatial index represented using a sorted set\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$83\r\nO(log(N)) for each item added, where N is the number of elements in the sorted set.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$38\r\nAdded the `CH`, `NX` and `XX` options.\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%5\r\n$4\r\nname\r\n$6\r\nchange\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nCH\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$25\r\nlongitude_latitude_member\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$9\r\nlongitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$8\r\nlatitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const GEODIST: Doc = Doc {
    name: "geodist",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$62\r\nReturns the distance between two members of a geospatial index\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$9\r\nO(log(N))\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nmember1\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nmember2\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n",
    subcommands: &[],
};

pub(crate) const GEOHASH: Doc = Doc {
    name: "geohash",
    arity: -2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$65\r\nReturns members of a geospatial index as standard geohash strings\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$89\r\nO(log(N)) for each member requested, where N is the number of elements in the sorted set.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const GEOPOS: Doc = Doc {
    name: "geopos",
    arity: -2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$63\r\nReturns longitude and latitude of members of a geospatial index\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$48\r\nO(N) where N is the number of members requested.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const GEORADIUS: Doc = Doc {
    name: "georadius",
    arity: -6,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Keyword("STORE", 6), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Keyword("STOREDIST", 6), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%9\r\n$7\r\nsummary\r\n$114\r\nQuery a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$168\r\nO(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$61\r\n`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n6.2.0\r\n$35\r\nAdded the `ANY` option for `COUNT`.\r\n*2\r\n$5\r\n7.0.0\r\n$39\r\nAdded support for uppercase unit names.\r\n$9\r\narguments\r\n*12\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\nlongitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$8\r\nlatitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$6\r\nradius\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%4\r\n$4\r\nname\r\n$9\r\nwithcoord\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$9\r\nWITHCOORD\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithdist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithhash\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHHASH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n%5\r\n$4\r\nname\r\n$3\r\nany\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nANY\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n%5\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$5\r\nSTORE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:2\r\n$5\r\ntoken\r\n$9\r\nSTOREDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const GEORADIUS_RO: Doc = Doc {
    name: "georadius_ro",
    arity: -6,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%9\r\n$7\r\nsummary\r\n$33\r\nA read-only variant for GEORADIUS\r\n$5\r\nsince\r\n$6\r\n3.2.10\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$168\r\nO(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$40\r\n`GEOSEARCH` with the `BYRADIUS` argument\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$35\r\nAdded the `ANY` option for `COUNT`.\r\n$9\r\narguments\r\n*10\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\nlongitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$8\r\nlatitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$6\r\nradius\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%4\r\n$4\r\nname\r\n$9\r\nwithcoord\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$9\r\nWITHCOORD\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithdist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithhash\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHHASH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n%5\r\n$4\r\nname\r\n$3\r\nany\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nANY\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n",
    subcommands: &[],
};

pub(crate) const GEORADIUSBYMEMBER: Doc = Doc {
    name: "georadiusbymember",
    arity: -5,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Keyword("STORE", 5), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Keyword("STOREDIST", 5), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%9\r\n$7\r\nsummary\r\n$115\r\nQuery a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$168\r\nO(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$79\r\n`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$39\r\nAdded support for uppercase unit names.\r\n$9\r\narguments\r\n*11\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$6\r\nradius\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%4\r\n$4\r\nname\r\n$9\r\nwithcoord\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$9\r\nWITHCOORD\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithdist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithhash\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHHASH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n%4\r\n$4\r\nname\r\n$3\r\nany\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nANY\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n%5\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$5\r\nSTORE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:2\r\n$5\r\ntoken\r\n$9\r\nSTOREDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const GEORADIUSBYMEMBER_RO: Doc = Doc {
    name: "georadiusbymember_ro",
    arity: -5,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$41\r\nA read-only variant for GEORADIUSBYMEMBER\r\n$5\r\nsince\r\n$6\r\n3.2.10\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$168\r\nO(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$58\r\n`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments\r\n$9\r\narguments\r\n*9\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$6\r\nradius\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%4\r\n$4\r\nname\r\n$9\r\nwithcoord\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$9\r\nWITHCOORD\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithdist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithhash\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHHASH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n%4\r\n$4\r\nname\r\n$3\r\nany\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nANY\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n",
    subcommands: &[],
};

pub(crate) const GEOSEARCH: Doc = Doc {
    name: "geosearch",
    arity: -7,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$104\r\nQuery a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$169\r\nO(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$39\r\nAdded support for uppercase unit names.\r\n$9\r\narguments\r\n*8\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$4\r\nfrom\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$10\r\nFROMMEMBER\r\n%4\r\n$4\r\nname\r\n$18\r\nlongitude_latitude\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$10\r\nFROMLONLAT\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$9\r\nlongitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$8\r\nlatitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$2\r\nby\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\ncircle\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nradius\r\n$4\r\ntype\r\n$6\r\ndouble\r\n$5\r\ntoken\r\n$8\r\nBYRADIUS\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%3\r\n$4\r\nname\r\n$3\r\nbox\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$5\r\nwidth\r\n$4\r\ntype\r\n$6\r\ndouble\r\n$5\r\ntoken\r\n$5\r\nBYBOX\r\n%2\r\n$4\r\nname\r\n$6\r\nheight\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n%4\r\n$4\r\nname\r\n$3\r\nany\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nANY\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$9\r\nwithcoord\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$9\r\nWITHCOORD\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithdist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$8\r\nwithhash\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nWITHHASH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const GEOSEARCHSTORE: Doc = Doc {
    name: "geosearchstore",
    arity: -8,
    flags: &["write", "denyoom"],
    range: (1, 2, 1),
    acl: &["@write", "@geo", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$141\r\nQuery a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$3\r\ngeo\r\n$10\r\ncomplexity\r\n$169\r\nO(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$39\r\nAdded support for uppercase unit names.\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n%3\r\n$4\r\nname\r\n$4\r\nfrom\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$10\r\nFROMMEMBER\r\n%4\r\n$4\r\nname\r\n$18\r\nlongitude_latitude\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$10\r\nFROMLONLAT\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$9\r\nlongitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$8\r\nlatitude\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$2\r\nby\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\ncircle\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nradius\r\n$4\r\ntype\r\n$6\r\ndouble\r\n$5\r\ntoken\r\n$8\r\nBYRADIUS\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%3\r\n$4\r\nname\r\n$3\r\nbox\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$5\r\nwidth\r\n$4\r\ntype\r\n$6\r\ndouble\r\n$5\r\ntoken\r\n$5\r\nBYBOX\r\n%2\r\n$4\r\nname\r\n$6\r\nheight\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%3\r\n$4\r\nname\r\n$4\r\nunit\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$1\r\nm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\nM\r\n%3\r\n$4\r\nname\r\n$2\r\nkm\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nKM\r\n%3\r\n$4\r\nname\r\n$2\r\nft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nFT\r\n%3\r\n$4\r\nname\r\n$2\r\nmi\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nMI\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n%4\r\n$4\r\nname\r\n$3\r\nany\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nANY\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$9\r\nstoredist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$9\r\nSTOREDIST\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const GET: Doc = Doc {
    name: "get",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const GETBIT: Doc = Doc {
    name: "getbit",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@bitmap", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$65\r\nReturns the bit value at offset in the string value stored at key\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const GETDEL: Doc = Doc {
    name: "getdel",
    arity: 2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$41\r\nGet the value of a key and delete the key\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const GETEX: Doc = Doc {
    name: "getex",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: Some("RW and UPDATE because it changes the TTL"), flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$56\r\nGet the value of a key and optionally set its expiration\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nEX\r\n%3\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nPX\r\n%3\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n%3\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n%3\r\n$4\r\nname\r\n$7\r\npersist\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nPERSIST\r\n",
    subcommands: &[],
};

pub(crate) const GETRANGE: Doc = Doc {
    name: "getrange",
    arity: 4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$45\r\nGet a substring of the string stored at a key\r\n$5\r\nsince\r\n$5\r\n2.4.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$231\r\nO(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const GETSET: Doc = Doc {
    name: "getset",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$54\r\nSet the string value of a key and return its old value\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$30\r\n`SET` with the `!GET` argument\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const HDEL: Doc = Doc {
    name: "hdel",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$30\r\nDelete one or more hash fields\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$51\r\nO(N) where N is the number of fields to be removed.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.4.0\r\n$35\r\nAccepts multiple `field` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const HELLO: Doc = Doc {
    name: "hello",
    arity: -1,
    flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$20\r\nHandshake with Redis\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$109\r\n`protover` made optional; when called without arguments the command reports the current connection's context.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\narguments\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$8\r\nprotover\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$17\r\nusername_password\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$4\r\nAUTH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$8\r\npassword\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$10\r\nclientname\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$7\r\nSETNAME\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const HEXISTS: Doc = Doc {
    name: "hexists",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$32\r\nDetermine if a hash field exists\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const HGET: Doc = Doc {
    name: "hget",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$29\r\nGet the value of a hash field\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const HGETALL: Doc = Doc {
    name: "hgetall",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$39\r\nGet all the fields and values in a hash\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$37\r\nO(N) where N is the size of the hash.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const HINCRBY: Doc = Doc {
    name: "hincrby",
    arity: 4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$63\r\nIncrement the integer value of a hash field by the given number\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const HINCRBYFLOAT: Doc = Doc {
    name: "hincrbyfloat",
    arity: 4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$61\r\nIncrement the float value of a hash field by the given amount\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const HKEYS: Doc = Doc {
    name: "hkeys",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$28\r\nGet all the fields in a hash\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$37\r\nO(N) where N is the size of the hash.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const HLEN: Doc = Doc {
    name: "hlen",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$34\r\nGet the number of fields in a hash\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const HMGET: Doc = Doc {
    name: "hmget",
    arity: -3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$43\r\nGet the values of all the given hash fields\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$53\r\nO(N) where N is the number of fields being requested.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const HMSET: Doc = Doc {
    name: "hmset",
    arity: -4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$43\r\nSet multiple hash fields to multiple values\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$47\r\nO(N) where N is the number of fields being set.\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n4.0.0\r\n$11\r\nreplaced_by\r\n$38\r\n`HSET` with multiple field-value pairs\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$11\r\nfield_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const HRANDFIELD: Doc = Doc {
    name: "hrandfield",
    arity: -2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$45\r\nGet one or multiple random fields from a hash\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$45\r\nO(N) where N is the number of fields returned\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$7\r\noptions\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$10\r\nwithvalues\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHVALUES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const HSCAN: Doc = Doc {
    name: "hscan",
    arity: -3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$55\r\nIncrementally iterate hash fields and associated values\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$170\r\nO(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\ncursor\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\ntoken\r\n$5\r\nMATCH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const HSET: Doc = Doc {
    name: "hset",
    arity: -4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$36\r\nSet the string value of a hash field\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$132\r\nO(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n4.0.0\r\n$47\r\nAccepts multiple `field` and `value` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$11\r\nfield_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const HSETNX: Doc = Doc {
    name: "hsetnx",
    arity: 4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$63\r\nSet the value of a hash field, only if the field does not exist\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const HSTRLEN: Doc = Doc {
    name: "hstrlen",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$43\r\nGet the length of the value of a hash field\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const HVALS: Doc = Doc {
    name: "hvals",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$28\r\nGet all the values in a hash\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$4\r\nhash\r\n$10\r\ncomplexity\r\n$37\r\nO(N) where N is the size of the hash.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const INCR: Doc = Doc {
    name: "incr",
    arity: 2,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$43\r\nIncrement the integer value of a key by one\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const INCRBY: Doc = Doc {
    name: "incrby",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$56\r\nIncrement the integer value of a key by the given amount\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const INCRBYFLOAT: Doc = Doc {
    name: "incrbyfloat",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$54\r\nIncrement the float value of a key by the given amount\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const INFO: Doc = Doc {
    name: "info",
    arity: -1,
    flags: &["loading", "stale"],
    range: (0, 0, 0),
    acl: &["@slow", "@dangerous"],
    tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$47\r\nGet information and statistics about the server\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$52\r\nAdded support for taking multiple section arguments.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nsection\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const KEYS: Doc = Doc {
    name: "keys",
    arity: 2,
    flags: &["readonly"],
    range: (0, 0, 0),
    acl: &["@keyspace", "@read", "@slow", "@dangerous"],
    tips: &["request_policy:all_shards", "nondeterministic_output_order"],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$40\r\nFind all keys matching the given pattern\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$152\r\nO(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n",
    subcommands: &[],
};

pub(crate) const LASTSAVE: Doc = Doc {
    name: "lastsave",
    arity: 1,
    flags: &["loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@admin", "@fast", "@dangerous"],
    tips: &["nondeterministic_output"],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$59\r\nGet the UNIX time stamp of the last successful save to disk\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const LATENCY: Doc = Doc {
    name: "latency",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$44\r\nA container for latency diagnostics commands\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%7\r\n$14\r\nlatency|doctor\r\n%4\r\n$7\r\nsummary\r\n$48\r\nReturn a human readable latency analysis report.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\nlatency|graph\r\n%5\r\n$7\r\nsummary\r\n$37\r\nReturn a latency graph for the event.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$5\r\nevent\r\n$4\r\ntype\r\n$6\r\nstring\r\n$12\r\nlatency|help\r\n%4\r\n$7\r\nsummary\r\n$50\r\nShow helpful text about the different subcommands.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$17\r\nlatency|histogram\r\n%5\r\n$7\r\nsummary\r\n$79\r\nReturn the cumulative distribution of latencies of a subset of commands or all.\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$80\r\nO(N) where N is the number of commands with latency information being retrieved.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\ncommand\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$15\r\nlatency|history\r\n%5\r\n$7\r\nsummary\r\n$47\r\nReturn timestamp-latency samples for the event.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$5\r\nevent\r\n$4\r\ntype\r\n$6\r\nstring\r\n$14\r\nlatency|latest\r\n%4\r\n$7\r\nsummary\r\n$49\r\nReturn the latest latency samples for all events.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\nlatency|reset\r\n%5\r\n$7\r\nsummary\r\n$42\r\nReset latency data for one or more events.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$5\r\nevent\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[
        Doc {
            name: "latency|doctor",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "latency|graph",
            arity: 3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "latency|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "latency|histogram",
            arity: -2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "latency|history",
            arity: 3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "latency|latest",
            arity: 2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "latency|reset",
            arity: -2,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const LCS: Doc = Doc {
    name: "lcs",
    arity: -3,
    flags: &["readonly"],
    range: (1, 2, 1),
    acl: &["@read", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$29\r\nFind longest common substring\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$63\r\nO(N*M) where N and M are the lengths of s1 and s2, respectively\r\n$9\r\narguments\r\n*6\r\n%3\r\n$4\r\nname\r\n$4\r\nkey1\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$4\r\nkey2\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$3\r\nlen\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nLEN\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$3\r\nidx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nIDX\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$3\r\nlen\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$11\r\nMINMATCHLEN\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$12\r\nwithmatchlen\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$12\r\nWITHMATCHLEN\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const LINDEX: Doc = Doc {
    name: "lindex",
    arity: 3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$39\r\nGet an element from a list by its index\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$152\r\nO(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nindex\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const LINSERT: Doc = Doc {
    name: "linsert",
    arity: 5,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$59\r\nInsert an element before or after another element in a list\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$232\r\nO(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$5\r\nwhere\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nbefore\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nBEFORE\r\n%3\r\n$4\r\nname\r\n$5\r\nafter\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nAFTER\r\n%2\r\n$4\r\nname\r\n$5\r\npivot\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const LLEN: Doc = Doc {
    name: "llen",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$24\r\nGet the length of a list\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const LMOVE: Doc = Doc {
    name: "lmove",
    arity: 5,
    flags: &["write", "denyoom"],
    range: (1, 2, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$65\r\nPop an element from a list, push it to another list and return it\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n%3\r\n$4\r\nname\r\n$9\r\nwherefrom\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nleft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nLEFT\r\n%3\r\n$4\r\nname\r\n$5\r\nright\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nRIGHT\r\n%3\r\n$4\r\nname\r\n$7\r\nwhereto\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nleft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nLEFT\r\n%3\r\n$4\r\nname\r\n$5\r\nright\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nRIGHT\r\n",
    subcommands: &[],
};

pub(crate) const LMPOP: Doc = Doc {
    name: "lmpop",
    arity: -4,
    flags: &["write", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$24\r\nPop elements from a list\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$87\r\nO(N+M) where N is the number of provided keys and M is the number of elements returned.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$5\r\nwhere\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$4\r\nleft\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nLEFT\r\n%3\r\n$4\r\nname\r\n$5\r\nright\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nRIGHT\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const LOLWUT: Doc = Doc {
    name: "lolwut",
    arity: -1,
    flags: &["readonly", "fast"],
    range: (0, 0, 0),
    acl: &["@read", "@fast"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$47\r\nDisplay some computer art and the Redis version\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$7\r\nversion\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nVERSION\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const LPOP: Doc = Doc {
    name: "lpop",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$43\r\nRemove and get the first elements in a list\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$47\r\nO(N) where N is the number of elements returned\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$27\r\nAdded the `count` argument.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const LPOS: Doc = Doc {
    name: "lpos",
    arity: -3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$47\r\nReturn the index of matching elements on a list\r\n$5\r\nsince\r\n$5\r\n6.0.6\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$217\r\nO(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$4\r\nrank\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$4\r\nRANK\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$11\r\nnum-matches\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$3\r\nlen\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$6\r\nMAXLEN\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const LPUSH: Doc = Doc {
    name: "lpush",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$42\r\nPrepend one or multiple elements to a list\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$106\r\nO(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.4.0\r\n$37\r\nAccepts multiple `element` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const LPUSHX: Doc = Doc {
    name: "lpushx",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$53\r\nPrepend an element to a list, only if the list exists\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$106\r\nO(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n4.0.0\r\n$37\r\nAccepts multiple `element` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const LRANGE: Doc = Doc {
    name: "lrange",
    arity: 4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$35\r\nGet a range of elements from a list\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$178\r\nO(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$4\r\nstop\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const LREM: Doc = Doc {
    name: "lrem",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$27\r\nRemove elements from a list\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$81\r\nO(N+M) where N is the length of the list and M is the number of elements removed.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const LSET: Doc = Doc {
    name: "lset",
    arity: 4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$50\r\nSet the value of an element in a list by its index\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$105\r\nO(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nindex\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const LTRIM: Doc = Doc {
    name: "ltrim",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$34\r\nTrim a list to the specified range\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$70\r\nO(N) where N is the number of elements to be removed by the operation.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$4\r\nstop\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const MEMORY: Doc = Doc {
    name: "memory",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$43\r\nA container for memory diagnostics commands\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%6\r\n$13\r\nmemory|doctor\r\n%4\r\n$7\r\nsummary\r\n$30\r\nOutputs memory problems report\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nmemory|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$19\r\nmemory|malloc-stats\r\n%4\r\n$7\r\nsummary\r\n$29\r\nShow allocator internal stats\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$54\r\nDepends on how much memory is allocated, could be slow\r\n$12\r\nmemory|purge\r\n%4\r\n$7\r\nsummary\r\n$35\r\nAsk the allocator to release memory\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$54\r\nDepends on how much memory is allocated, could be slow\r\n$12\r\nmemory|stats\r\n%4\r\n$7\r\nsummary\r\n$25\r\nShow memory usage details\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$12\r\nmemory|usage\r\n%5\r\n$7\r\nsummary\r\n$34\r\nEstimate the memory usage of a key\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$38\r\nO(N) where N is the number of samples.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nSAMPLES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[
        Doc {
            name: "memory|doctor",
            arity: 2,
            flags: &[],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "memory|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "memory|malloc-stats",
            arity: 2,
            flags: &[],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "memory|purge",
            arity: 2,
            flags: &[],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "memory|stats",
            arity: 2,
            flags: &[],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "memory|usage",
            arity: -3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@read", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const MGET: Doc = Doc {
    name: "mget",
    arity: -2,
    flags: &["readonly", "fast"],
    range: (1, -1, 1),
    acl: &["@read", "@string", "@fast"],
    tips: &["request_policy:multi_shard"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$36\r\nGet the values of all the given keys\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$47\r\nO(N) where N is the number of keys to retrieve.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const MIGRATE: Doc = Doc {
    name: "migrate",
    arity: -6,
    flags: &["write", "movablekeys"],
    range: (3, 3, 1),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(3), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RW", "access", "delete", "incomplete"], begin: Begin::Keyword("KEYS", -2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$63\r\nAtomically transfer a key from a Redis instance to another one.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$223\r\nThis command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.\r\n$7\r\nhistory\r\n~4\r\n*2\r\n$5\r\n3.0.0\r\n$39\r\nAdded the `COPY` and `REPLACE` options.\r\n*2\r\n$5\r\n3.0.6\r\n$24\r\nAdded the `KEYS` option.\r\n*2\r\n$5\r\n4.0.7\r\n$24\r\nAdded the `AUTH` option.\r\n*2\r\n$5\r\n6.0.0\r\n$25\r\nAdded the `AUTH2` option.\r\n$9\r\narguments\r\n*9\r\n%2\r\n$4\r\nname\r\n$4\r\nhost\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$4\r\nport\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%3\r\n$4\r\nname\r\n$19\r\nkey_or_empty_string\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$12\r\nempty_string\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$0\r\n\r\n%2\r\n$4\r\nname\r\n$14\r\ndestination-db\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$4\r\ncopy\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nCOPY\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$7\r\nreplace\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLACE\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$14\r\nauthentication\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%5\r\n$4\r\nname\r\n$8\r\npassword\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$4\r\nAUTH\r\n$5\r\nsince\r\n$5\r\n4.0.7\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%6\r\n$4\r\nname\r\n$17\r\nusername_password\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nAUTH2\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$8\r\nusername\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$8\r\npassword\r\n$4\r\ntype\r\n$6\r\nstring\r\n%6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$4\r\nKEYS\r\n$5\r\nsince\r\n$5\r\n3.0.6\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const MODULE: Doc = Doc {
    name: "module",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$31\r\nA container for module commands\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%5\r\n$11\r\nmodule|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nmodule|list\r\n%4\r\n$7\r\nsummary\r\n$37\r\nList all modules loaded by the server\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$45\r\nO(N) where N is the number of loaded modules.\r\n$11\r\nmodule|load\r\n%5\r\n$7\r\nsummary\r\n$13\r\nLoad a module\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$4\r\npath\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$13\r\nmodule|loadex\r\n%5\r\n$7\r\nsummary\r\n$38\r\nLoad a module with extended parameters\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$4\r\npath\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$7\r\nconfigs\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$6\r\nCONFIG\r\n$5\r\nflags\r\n~3\r\n+optional\r\n+multiple\r\n+multiple_token\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$4\r\nname\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$4\r\nargs\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$4\r\nARGS\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$3\r\narg\r\n$4\r\ntype\r\n$6\r\nstring\r\n$13\r\nmodule|unload\r\n%5\r\n$7\r\nsummary\r\n$15\r\nUnload a module\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$4\r\nname\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[
        Doc {
            name: "module|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "module|list",
            arity: 2,
            flags: &["admin", "noscript"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["nondeterministic_output_order"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "module|load",
            arity: -3,
            flags: &["admin", "noscript", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "module|loadex",
            arity: -3,
            flags: &["admin", "noscript", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "module|unload",
            arity: 3,
            flags: &["admin", "noscript", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const MONITOR: Doc = Doc {
    name: "monitor",
    arity: 1,
    flags: &["admin", "noscript", "loading", "stale"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%3\r\n$7\r\nsummary\r\n$59\r\nListen for all requests received by the server in real time\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n",
    subcommands: &[],
};

pub(crate) const MOVE: Doc = Doc {
    name: "move",
    arity: 3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$30\r\nMove a key to another database\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$2\r\ndb\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const MSET: Doc = Doc {
    name: "mset",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 2),
    acl: &["@write", "@string", "@slow"],
    tips: &["request_policy:multi_shard", "response_policy:all_succeeded"],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 2, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$36\r\nSet multiple keys to multiple values\r\n$5\r\nsince\r\n$5\r\n1.0.1\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$42\r\nO(N) where N is the number of keys to set.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\nkey_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const MSETNX: Doc = Doc {
    name: "msetnx",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 2),
    acl: &["@write", "@string", "@slow"],
    tips: &["request_policy:multi_shard", "response_policy:agg_min"],
    specs: &[KeySpec { notes: None, flags: &["OW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 2, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$68\r\nSet multiple keys to multiple values, only if none of the keys exist\r\n$5\r\nsince\r\n$5\r\n1.0.1\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$42\r\nO(N) where N is the number of keys to set.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\nkey_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const MULTI: Doc = Doc {
    name: "multi",
    arity: 1,
    flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@fast", "@transaction"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$37\r\nMark the start of a transaction block\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$12\r\ntransactions\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const OBJECT: Doc = Doc {
    name: "object",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$45\r\nA container for object introspection commands\r\n$5\r\nsince\r\n$5\r\n2.2.3\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%5\r\n$15\r\nobject|encoding\r\n%5\r\n$7\r\nsummary\r\n$47\r\nInspect the internal encoding of a Redis object\r\n$5\r\nsince\r\n$5\r\n2.2.3\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$11\r\nobject|freq\r\n%5\r\n$7\r\nsummary\r\n$62\r\nGet the logarithmic access frequency counter of a Redis object\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$11\r\nobject|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$15\r\nobject|idletime\r\n%5\r\n$7\r\nsummary\r\n$51\r\nGet the time since a Redis object was last accessed\r\n$5\r\nsince\r\n$5\r\n2.2.3\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$15\r\nobject|refcount\r\n%5\r\n$7\r\nsummary\r\n$52\r\nGet the number of references to the value of the key\r\n$5\r\nsince\r\n$5\r\n2.2.3\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[
        Doc {
            name: "object|encoding",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "object|freq",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "object|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@keyspace", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "object|idletime",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "object|refcount",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const PERSIST: Doc = Doc {
    name: "persist",
    arity: 2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$32\r\nRemove the expiration from a key\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const PEXPIRE: Doc = Doc {
    name: "pexpire",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$40\r\nSet a key's time to live in milliseconds\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$41\r\nAdded options: `NX`, `XX`, `GT` and `LT`.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%3\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n%3\r\n$4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nLT\r\n",
    subcommands: &[],
};

pub(crate) const PEXPIREAT: Doc = Doc {
    name: "pexpireat",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$74\r\nSet the expiration for a key as a UNIX timestamp specified in milliseconds\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$41\r\nAdded options: `NX`, `XX`, `GT` and `LT`.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%3\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n%3\r\n$4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nLT\r\n",
    subcommands: &[],
};

pub(crate) const PEXPIRETIME: Doc = Doc {
    name: "pexpiretime",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$59\r\nGet the expiration Unix timestamp for a key in milliseconds\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const PFADD: Doc = Doc {
    name: "pfadd",
    arity: -2,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hyperloglog", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$57\r\nAdds the specified elements to the specified HyperLogLog.\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$11\r\nhyperloglog\r\n$10\r\ncomplexity\r\n$26\r\nO(1) to add every element.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const PFCOUNT: Doc = Doc {
    name: "pfcount",
    arity: -2,
    flags: &["readonly"],
    range: (1, -1, 1),
    acl: &["@read", "@hyperloglog", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: Some("RW because it may change the internal representation of the key, and propagate to replicas"), flags: &["RW", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$88\r\nReturn the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$11\r\nhyperloglog\r\n$10\r\ncomplexity\r\n$177\r\nO(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const PFDEBUG: Doc = Doc {
    name: "pfdebug",
    arity: 3,
    flags: &["write", "denyoom", "admin"],
    range: (2, 2, 1),
    acl: &["@write", "@hyperloglog", "@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$50\r\nInternal commands for debugging HyperLogLog values\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$11\r\nhyperloglog\r\n$10\r\ncomplexity\r\n$3\r\nN/A\r\n$9\r\ndoc_flags\r\n~1\r\n+syscmd\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$10\r\nsubcommand\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const PFMERGE: Doc = Doc {
    name: "pfmerge",
    arity: -2,
    flags: &["write", "denyoom"],
    range: (1, -1, 1),
    acl: &["@write", "@hyperloglog", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$49\r\nMerge N different HyperLogLogs into a single one.\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$11\r\nhyperloglog\r\n$10\r\ncomplexity\r\n$59\r\nO(N) to merge N HyperLogLogs, but with high constant times.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$7\r\ndestkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$9\r\nsourcekey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const PFSELFTEST: Doc = Doc {
    name: "pfselftest",
    arity: 1,
    flags: &["admin"],
    range: (0, 0, 0),
    acl: &["@hyperloglog", "@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$50\r\nAn internal command for testing HyperLogLog values\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$11\r\nhyperloglog\r\n$10\r\ncomplexity\r\n$3\r\nN/A\r\n$9\r\ndoc_flags\r\n~1\r\n+syscmd\r\n",
    subcommands: &[],
};

pub(crate) const PING: Doc = Doc {
    name: "ping",
    arity: -1,
    flags: &["fast"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$15\r\nPing the server\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const PSETEX: Doc = Doc {
    name: "psetex",
    arity: 4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$53\r\nSet the value and expiration in milliseconds of a key\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const PSUBSCRIBE: Doc = Doc {
    name: "psubscribe",
    arity: -2,
    flags: &["pubsub", "noscript", "loading", "stale"],
    range: (0, 0, 0),
    acl: &["@pubsub", "@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$69\r\nListen for messages published to channels matching the given patterns\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$75\r\nO(N) where N is the number of patterns the client is already subscribed to.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n",
    subcommands: &[],
};

pub(crate) const PSYNC: Doc = Doc {
    name: "psync",
    arity: -3,
    flags: &["admin", "noscript", "no_async_loading", "no_multi"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$37\r\nInternal command used for replication\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$13\r\nreplicationid\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const PTTL: Doc = Doc {
    name: "pttl",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$46\r\nGet the time to live for a key in milliseconds\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.8.0\r\n$19\r\nAdded the -2 reply.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const PUBLISH: Doc = Doc {
    name: "publish",
    arity: 3,
    flags: &["pubsub", "loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@pubsub", "@fast"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$27\r\nPost a message to a channel\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$141\r\nO(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$7\r\nchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const PUBSUB: Doc = Doc {
    name: "pubsub",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$32\r\nA container for Pub/Sub commands\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%6\r\n$15\r\npubsub|channels\r\n%5\r\n$7\r\nsummary\r\n$20\r\nList active channels\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$131\r\nO(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$11\r\npubsub|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\npubsub|numpat\r\n%4\r\n$7\r\nsummary\r\n$54\r\nGet the count of unique patterns pattern subscriptions\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\npubsub|numsub\r\n%5\r\n$7\r\nsummary\r\n$41\r\nGet the count of subscribers for channels\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$75\r\nO(N) for the NUMSUB subcommand, where N is the number of requested channels\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n$20\r\npubsub|shardchannels\r\n%5\r\n$7\r\nsummary\r\n$26\r\nList active shard channels\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$131\r\nO(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$18\r\npubsub|shardnumsub\r\n%5\r\n$7\r\nsummary\r\n$47\r\nGet the count of subscribers for shard channels\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$86\r\nO(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$12\r\nshardchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[
        Doc {
            name: "pubsub|channels",
            arity: -2,
            flags: &["pubsub", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@pubsub", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "pubsub|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "pubsub|numpat",
            arity: 2,
            flags: &["pubsub", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@pubsub", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "pubsub|numsub",
            arity: -2,
            flags: &["pubsub", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@pubsub", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "pubsub|shardchannels",
            arity: -2,
            flags: &["pubsub", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@pubsub", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "pubsub|shardnumsub",
            arity: -2,
            flags: &["pubsub", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@pubsub", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const PUNSUBSCRIBE: Doc = Doc {
    name: "punsubscribe",
    arity: -1,
    flags: &["pubsub", "noscript", "loading", "stale"],
    range: (0, 0, 0),
    acl: &["@pubsub", "@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$74\r\nStop listening for messages posted to channels matching the given patterns\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$153\r\nO(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const QUIT: Doc = Doc {
    name: "quit",
    arity: -1,
    flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$20\r\nClose the connection\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const RANDOMKEY: Doc = Doc {
    name: "randomkey",
    arity: 1,
    flags: &["readonly"],
    range: (0, 0, 0),
    acl: &["@keyspace", "@read", "@slow"],
    tips: &["request_policy:all_shards", "nondeterministic_output"],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$37\r\nReturn a random key from the keyspace\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const READONLY: Doc = Doc {
    name: "readonly",
    arity: 1,
    flags: &["loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$63\r\nEnables read queries for a connection to a cluster replica node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const READWRITE: Doc = Doc {
    name: "readwrite",
    arity: 1,
    flags: &["loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$64\r\nDisables read queries for a connection to a cluster replica node\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ncluster\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const RENAME: Doc = Doc {
    name: "rename",
    arity: 3,
    flags: &["write"],
    range: (1, 2, 1),
    acl: &["@keyspace", "@write", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$12\r\nRename a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nnewkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n",
    subcommands: &[],
};

pub(crate) const RENAMENX: Doc = Doc {
    name: "renamenx",
    arity: 3,
    flags: &["write", "fast"],
    range: (1, 2, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["OW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$48\r\nRename a key, only if the new key does not exist\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n3.2.0\r\n$86\r\nThe command no longer returns an error when source and destination names are the same.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nnewkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n",
    subcommands: &[],
};

pub(crate) const REPLCONF: Doc = Doc {
    name: "replconf",
    arity: -1,
    flags: &["admin", "noscript", "loading", "stale", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$58\r\nAn internal command for configuring the replication stream\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n~1\r\n+syscmd\r\n",
    subcommands: &[],
};

pub(crate) const REPLICAOF: Doc = Doc {
    name: "replicaof",
    arity: 3,
    flags: &["admin", "noscript", "stale", "no_async_loading"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$71\r\nMake the server a replica of another instance, or promote it as master.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nargs\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$9\r\nhost-port\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$4\r\nhost\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$4\r\nport\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%3\r\n$4\r\nname\r\n$6\r\nno-one\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\nno\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNO\r\n%3\r\n$4\r\nname\r\n$3\r\none\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nONE\r\n",
    subcommands: &[],
};

pub(crate) const RESET: Doc = Doc {
    name: "reset",
    arity: 1,
    flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$20\r\nReset the connection\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const RESTORE: Doc = Doc {
    name: "restore",
    arity: -4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$81\r\nCreate a key using the provided serialized value, previously obtained using DUMP.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$386\r\nO(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).\r\n$7\r\nhistory\r\n~3\r\n*2\r\n$5\r\n3.0.0\r\n$29\r\nAdded the `REPLACE` modifier.\r\n*2\r\n$5\r\n5.0.0\r\n$28\r\nAdded the `ABSTTL` modifier.\r\n*2\r\n$5\r\n5.0.0\r\n$40\r\nAdded the `IDLETIME` and `FREQ` options.\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nttl\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$16\r\nserialized-value\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$7\r\nreplace\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLACE\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$6\r\nabsttl\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nABSTTL\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$8\r\nIDLETIME\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$9\r\nfrequency\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$4\r\nFREQ\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const RESTORE_ASKING: Doc = Doc {
    name: "restore-asking",
    arity: -4,
    flags: &["write", "denyoom", "asking"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%7\r\n$7\r\nsummary\r\n$51\r\nAn internal command for migrating keys in a cluster\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$386\r\nO(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).\r\n$9\r\ndoc_flags\r\n~1\r\n+syscmd\r\n$7\r\nhistory\r\n~3\r\n*2\r\n$5\r\n3.0.0\r\n$29\r\nAdded the `REPLACE` modifier.\r\n*2\r\n$5\r\n5.0.0\r\n$28\r\nAdded the `ABSTTL` modifier.\r\n*2\r\n$5\r\n5.0.0\r\n$40\r\nAdded the `IDLETIME` and `FREQ` options.\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nttl\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$16\r\nserialized-value\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$7\r\nreplace\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nREPLACE\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$6\r\nabsttl\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nABSTTL\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$8\r\nIDLETIME\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$9\r\nfrequency\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$4\r\nFREQ\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ROLE: Doc = Doc {
    name: "role",
    arity: 1,
    flags: &["noscript", "loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@admin", "@fast", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$61\r\nReturn the role of the instance in the context of replication\r\n$5\r\nsince\r\n$6\r\n2.8.12\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const RPOP: Doc = Doc {
    name: "rpop",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$42\r\nRemove and get the last elements in a list\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$47\r\nO(N) where N is the number of elements returned\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$27\r\nAdded the `count` argument.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const RPOPLPUSH: Doc = Doc {
    name: "rpoplpush",
    arity: 3,
    flags: &["write", "denyoom"],
    range: (1, 2, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$75\r\nRemove the last element in a list, prepend it to another list and return it\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$45\r\n`LMOVE` with the `RIGHT` and `LEFT` arguments\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n",
    subcommands: &[],
};

pub(crate) const RPUSH: Doc = Doc {
    name: "rpush",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$41\r\nAppend one or multiple elements to a list\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$106\r\nO(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.4.0\r\n$37\r\nAccepts multiple `element` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const RPUSHX: Doc = Doc {
    name: "rpushx",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$52\r\nAppend an element to a list, only if the list exists\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$4\r\nlist\r\n$10\r\ncomplexity\r\n$106\r\nO(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n4.0.0\r\n$37\r\nAccepts multiple `element` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$7\r\nelement\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SADD: Doc = Doc {
    name: "sadd",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$32\r\nAdd one or more members to a set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$106\r\nO(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.4.0\r\n$36\r\nAccepts multiple `member` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SAVE: Doc = Doc {
    name: "save",
    arity: 1,
    flags: &["admin", "noscript", "no_async_loading", "no_multi"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$38\r\nSynchronously save the dataset to disk\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$57\r\nO(N) where N is the total number of keys in all databases\r\n",
    subcommands: &[],
};

pub(crate) const SCAN: Doc = Doc {
    name: "scan",
    arity: -2,
    flags: &["readonly"],
    range: (0, 0, 0),
    acl: &["@keyspace", "@read", "@slow"],
    tips: &["nondeterministic_output", "request_policy:special"],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$36\r\nIncrementally iterate the keys space\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$169\r\nO(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.0.0\r\n$28\r\nAdded the `TYPE` subcommand.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$6\r\ncursor\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\ntoken\r\n$5\r\nMATCH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$4\r\ntype\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$4\r\nTYPE\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SCARD: Doc = Doc {
    name: "scard",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$34\r\nGet the number of members in a set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const SCRIPT: Doc = Doc {
    name: "script",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$47\r\nA container for Lua scripts management commands\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%6\r\n$12\r\nscript|debug\r\n%5\r\n$7\r\nsummary\r\n$40\r\nSet the debug mode for executed scripts.\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nmode\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nyes\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nYES\r\n%3\r\n$4\r\nname\r\n$4\r\nsync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSYNC\r\n%3\r\n$4\r\nname\r\n$2\r\nno\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNO\r\n$13\r\nscript|exists\r\n%5\r\n$7\r\nsummary\r\n$47\r\nCheck existence of scripts in the script cache.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$100\r\nO(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nsha1\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$12\r\nscript|flush\r\n%6\r\n$7\r\nsummary\r\n$45\r\nRemove all the scripts from the script cache.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$48\r\nO(N) with N being the number of scripts in cache\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$53\r\nAdded the `ASYNC` and `SYNC` flushing mode modifiers.\r\n$9\r\narguments\r\n*1\r\n%5\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nASYNC\r\n%3\r\n$4\r\nname\r\n$4\r\nsync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSYNC\r\n$11\r\nscript|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nscript|kill\r\n%4\r\n$7\r\nsummary\r\n$39\r\nKill the script currently in execution.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nscript|load\r\n%5\r\n$7\r\nsummary\r\n$52\r\nLoad the specified Lua script into the script cache.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$9\r\nscripting\r\n$10\r\ncomplexity\r\n$57\r\nO(N) with N being the length in bytes of the script body.\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$6\r\nscript\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[
        Doc {
            name: "script|debug",
            arity: 3,
            flags: &["noscript"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "script|exists",
            arity: -3,
            flags: &["noscript"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &["request_policy:all_shards", "response_policy:agg_logical_and"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "script|flush",
            arity: -2,
            flags: &["noscript"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "script|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "script|kill",
            arity: 2,
            flags: &["noscript", "allow_busy"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &["request_policy:all_shards", "response_policy:one_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "script|load",
            arity: 3,
            flags: &["noscript", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@scripting"],
            tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const SDIFF: Doc = Doc {
    name: "sdiff",
    arity: -2,
    flags: &["readonly"],
    range: (1, -1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$22\r\nSubtract multiple sets\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$63\r\nO(N) where N is the total number of elements in all given sets.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SDIFFSTORE: Doc = Doc {
    name: "sdiffstore",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 1),
    acl: &["@write", "@set", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$59\r\nSubtract multiple sets and store the resulting set in a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$63\r\nO(N) where N is the total number of elements in all given sets.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SELECT: Doc = Doc {
    name: "select",
    arity: 2,
    flags: &["loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@fast", "@connection"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$55\r\nChange the selected database for the current connection\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$5\r\nindex\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const SET: Doc = Doc {
    name: "set",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: Some("RW and ACCESS due to the optional `GET` argument"), flags: &["RW", "access", "update", "variable_flags"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~4\r\n*2\r\n$6\r\n2.6.12\r\n$44\r\nAdded the `EX`, `PX`, `NX` and `XX` options.\r\n*2\r\n$5\r\n6.0.0\r\n$27\r\nAdded the `KEEPTTL` option.\r\n*2\r\n$5\r\n6.2.0\r\n$42\r\nAdded the `GET`, `EXAT` and `PXAT` option.\r\n*2\r\n$5\r\n7.0.0\r\n$55\r\nAllowed the `NX` and `GET` options to be used together.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%5\r\n$4\r\nname\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n%4\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nEX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n%4\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\nPX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n%4\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$7\r\nkeepttl\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nKEEPTTL\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n",
    subcommands: &[],
};

pub(crate) const SETBIT: Doc = Doc {
    name: "setbit",
    arity: 4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@bitmap", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$66\r\nSets or clears the bit at offset in the string value stored at key\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const SETEX: Doc = Doc {
    name: "setex",
    arity: 4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$37\r\nSet the value and expiration of a key\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const SETNX: Doc = Doc {
    name: "setnx",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "insert"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$54\r\nSet the value of a key, only if the key does not exist\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const SETRANGE: Doc = Doc {
    name: "setrange",
    arity: 4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$66\r\nOverwrite part of a string at key starting at the specified offset\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$215\r\nO(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const SHUTDOWN: Doc = Doc {
    name: "shutdown",
    arity: -1,
    flags: &["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%6\r\n$7\r\nsummary\r\n$68\r\nSynchronously save the dataset to disk and then shut down the server\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$103\r\nO(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$47\r\nAdded the `NOW`, `FORCE` and `ABORT` modifiers.\r\n$9\r\narguments\r\n*4\r\n%4\r\n$4\r\nname\r\n$11\r\nnosave_save\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nnosave\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nNOSAVE\r\n%3\r\n$4\r\nname\r\n$4\r\nsave\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nSAVE\r\n%5\r\n$4\r\nname\r\n$3\r\nnow\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nNOW\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$5\r\nforce\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nFORCE\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$5\r\nabort\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nABORT\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SINTER: Doc = Doc {
    name: "sinter",
    arity: -2,
    flags: &["readonly"],
    range: (1, -1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$23\r\nIntersect multiple sets\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$93\r\nO(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SINTERCARD: Doc = Doc {
    name: "sintercard",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@set", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$64\r\nIntersect multiple sets and return the cardinality of the result\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$93\r\nO(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$5\r\nlimit\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SINTERSTORE: Doc = Doc {
    name: "sinterstore",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 1),
    acl: &["@write", "@set", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$60\r\nIntersect multiple sets and store the resulting set in a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$93\r\nO(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SISMEMBER: Doc = Doc {
    name: "sismember",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$47\r\nDetermine if a given value is a member of a set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const SLAVEOF: Doc = Doc {
    name: "slaveof",
    arity: 3,
    flags: &["admin", "noscript", "stale", "no_async_loading"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%8\r\n$7\r\nsummary\r\n$71\r\nMake the server a replica of another instance, or promote it as master.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n5.0.0\r\n$11\r\nreplaced_by\r\n$11\r\n`REPLICAOF`\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$4\r\nargs\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$9\r\nhost-port\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$4\r\nhost\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$4\r\nport\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%3\r\n$4\r\nname\r\n$6\r\nno-one\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\nno\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNO\r\n%3\r\n$4\r\nname\r\n$3\r\none\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nONE\r\n",
    subcommands: &[],
};

pub(crate) const SLOWLOG: Doc = Doc {
    name: "slowlog",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$33\r\nA container for slow log commands\r\n$5\r\nsince\r\n$6\r\n2.2.12\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%4\r\n$11\r\nslowlog|get\r\n%6\r\n$7\r\nsummary\r\n$26\r\nGet the slow log's entries\r\n$5\r\nsince\r\n$6\r\n2.2.12\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$46\r\nO(N) where N is the number of entries returned\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n4.0.0\r\n$52\r\nAdded client IP address, port and name to the reply.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$12\r\nslowlog|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$11\r\nslowlog|len\r\n%4\r\n$7\r\nsummary\r\n$25\r\nGet the slow log's length\r\n$5\r\nsince\r\n$6\r\n2.2.12\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$13\r\nslowlog|reset\r\n%4\r\n$7\r\nsummary\r\n$35\r\nClear all entries from the slow log\r\n$5\r\nsince\r\n$6\r\n2.2.12\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$52\r\nO(N) where N is the number of entries in the slowlog\r\n",
    subcommands: &[
        Doc {
            name: "slowlog|get",
            arity: -2,
            flags: &["admin", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["request_policy:all_nodes", "nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "slowlog|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "slowlog|len",
            arity: 2,
            flags: &["admin", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "slowlog|reset",
            arity: 2,
            flags: &["admin", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const SMEMBERS: Doc = Doc {
    name: "smembers",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$28\r\nGet all the members in a set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$36\r\nO(N) where N is the set cardinality.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const SMISMEMBER: Doc = Doc {
    name: "smismember",
    arity: -3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$67\r\nReturns the membership associated with the given elements for a set\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$67\r\nO(N) where N is the number of elements being checked for membership\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SMOVE: Doc = Doc {
    name: "smove",
    arity: 4,
    flags: &["write", "fast"],
    range: (1, 2, 1),
    acl: &["@write", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$37\r\nMove a member from one set to another\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$6\r\nsource\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const SORT: Doc = Doc {
    name: "sort",
    arity: -2,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: Some("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"), flags: &["RO", "access"], begin: Begin::Unknown, find: Find::Unknown }, KeySpec { notes: Some("For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"), flags: &["OW", "update"], begin: Begin::Unknown, find: Find::Unknown }],
    docs: b"%5\r\n$7\r\nsummary\r\n$46\r\nSort the elements in a list, set or sorted set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$168\r\nO(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$2\r\nBY\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nflags\r\n~3\r\n+optional\r\n+multiple\r\n+multiple_token\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n%4\r\n$4\r\nname\r\n$7\r\nsorting\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nALPHA\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:2\r\n$5\r\ntoken\r\n$5\r\nSTORE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SORT_RO: Doc = Doc {
    name: "sort_ro",
    arity: -2,
    flags: &["readonly", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: Some("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"), flags: &["RO", "access"], begin: Begin::Unknown, find: Find::Unknown }],
    docs: b"%5\r\n$7\r\nsummary\r\n$74\r\nSort the elements in a list, set or sorted set. Read-only variant of SORT.\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$168\r\nO(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).\r\n$9\r\narguments\r\n*6\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$2\r\nBY\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%5\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\ntoken\r\n$3\r\nGET\r\n$5\r\nflags\r\n~3\r\n+optional\r\n+multiple\r\n+multiple_token\r\n%4\r\n$4\r\nname\r\n$5\r\norder\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nasc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nASC\r\n%3\r\n$4\r\nname\r\n$4\r\ndesc\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nDESC\r\n%4\r\n$4\r\nname\r\n$7\r\nsorting\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nALPHA\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SPOP: Doc = Doc {
    name: "spop",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@set", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$59\r\nRemove and return one or multiple random members from a set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$89\r\nWithout the count argument O(1), otherwise O(N) where N is the value of the passed count.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n3.2.0\r\n$27\r\nAdded the `count` argument.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nsince\r\n$5\r\n3.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SPUBLISH: Doc = Doc {
    name: "spublish",
    arity: 3,
    flags: &["pubsub", "loading", "stale", "fast"],
    range: (1, 1, 1),
    acl: &["@pubsub", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["not_key"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$33\r\nPost a message to a shard channel\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$80\r\nO(N) where N is the number of clients subscribed to the receiving shard channel.\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$12\r\nshardchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const SRANDMEMBER: Doc = Doc {
    name: "srandmember",
    arity: -2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$45\r\nGet one or multiple random members from a set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$98\r\nWithout the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.6.0\r\n$36\r\nAdded the optional `count` argument.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SREM: Doc = Doc {
    name: "srem",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$37\r\nRemove one or more members from a set\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$52\r\nO(N) where N is the number of members to be removed.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.4.0\r\n$36\r\nAccepts multiple `member` arguments.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SSCAN: Doc = Doc {
    name: "sscan",
    arity: -3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$34\r\nIncrementally iterate Set elements\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$170\r\nO(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\ncursor\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\ntoken\r\n$5\r\nMATCH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const SSUBSCRIBE: Doc = Doc {
    name: "ssubscribe",
    arity: -2,
    flags: &["pubsub", "noscript", "loading", "stale"],
    range: (1, -1, 1),
    acl: &["@pubsub", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["not_key"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$57\r\nListen for messages published to the given shard channels\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$61\r\nO(N) where N is the number of shard channels to subscribe to.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$12\r\nshardchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const STRLEN: Doc = Doc {
    name: "strlen",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$43\r\nGet the length of the value stored in a key\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const SUBSCRIBE: Doc = Doc {
    name: "subscribe",
    arity: -2,
    flags: &["pubsub", "noscript", "loading", "stale"],
    range: (0, 0, 0),
    acl: &["@pubsub", "@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$51\r\nListen for messages published to the given channels\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$55\r\nO(N) where N is the number of channels to subscribe to.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SUBSTR: Doc = Doc {
    name: "substr",
    arity: 4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$45\r\nGet a substring of the string stored at a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$231\r\nO(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n2.0.0\r\n$11\r\nreplaced_by\r\n$10\r\n`GETRANGE`\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const SUNION: Doc = Doc {
    name: "sunion",
    arity: -2,
    flags: &["readonly"],
    range: (1, -1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$17\r\nAdd multiple sets\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$63\r\nO(N) where N is the total number of elements in all given sets.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SUNIONSTORE: Doc = Doc {
    name: "sunionstore",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 1),
    acl: &["@write", "@set", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$54\r\nAdd multiple sets and store the resulting set in a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n$10\r\ncomplexity\r\n$63\r\nO(N) where N is the total number of elements in all given sets.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SUNSUBSCRIBE: Doc = Doc {
    name: "sunsubscribe",
    arity: -1,
    flags: &["pubsub", "noscript", "loading", "stale"],
    range: (1, -1, 1),
    acl: &["@pubsub", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["not_key"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$62\r\nStop listening for messages posted to the given shard channels\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$76\r\nO(N) where N is the number of clients already subscribed to a shard channel.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$12\r\nshardchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const SWAPDB: Doc = Doc {
    name: "swapdb",
    arity: 3,
    flags: &["write", "fast"],
    range: (0, 0, 0),
    acl: &["@keyspace", "@write", "@fast", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$25\r\nSwaps two Redis databases\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$86\r\nO(N) where N is the count of clients watching or blocking on keys from both databases.\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\nindex1\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$6\r\nindex2\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const SYNC: Doc = Doc {
    name: "sync",
    arity: 1,
    flags: &["admin", "noscript", "no_async_loading", "no_multi"],
    range: (0, 0, 0),
    acl: &["@admin", "@slow", "@dangerous"],
    tips: &[],
    specs: &[],
    docs: b"%3\r\n$7\r\nsummary\r\n$37\r\nInternal command used for replication\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n",
    subcommands: &[],
};

pub(crate) const TIME: Doc = Doc {
    name: "time",
    arity: 1,
    flags: &["loading", "stale", "fast"],
    range: (0, 0, 0),
    acl: &["@fast"],
    tips: &["nondeterministic_output"],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$30\r\nReturn the current server time\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const TOUCH: Doc = Doc {
    name: "touch",
    arity: -2,
    flags: &["readonly", "fast"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$87\r\nAlters the last access time of a key(s). Returns the number of existing keys specified.\r\n$5\r\nsince\r\n$5\r\n3.2.1\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$56\r\nO(N) where N is the number of keys that will be touched.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const TTL: Doc = Doc {
    name: "ttl",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$41\r\nGet the time to live for a key in seconds\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.8.0\r\n$19\r\nAdded the -2 reply.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const TYPE: Doc = Doc {
    name: "type",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$32\r\nDetermine the type stored at key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const UNLINK: Doc = Doc {
    name: "unlink",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec { notes: None, flags: &["RM", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$93\r\nDelete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.\r\n$5\r\nsince\r\n$5\r\n4.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$207\r\nO(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const UNSUBSCRIBE: Doc = Doc {
    name: "unsubscribe",
    arity: -1,
    flags: &["pubsub", "noscript", "loading", "stale"],
    range: (0, 0, 0),
    acl: &["@pubsub", "@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$56\r\nStop listening for messages posted to the given channels\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\npubsub\r\n$10\r\ncomplexity\r\n$70\r\nO(N) where N is the number of clients already subscribed to a channel.\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nchannel\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const UNWATCH: Doc = Doc {
    name: "unwatch",
    arity: 1,
    flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
    range: (0, 0, 0),
    acl: &["@fast", "@transaction"],
    tips: &[],
    specs: &[],
    docs: b"%4\r\n$7\r\nsummary\r\n$29\r\nForget about all watched keys\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$12\r\ntransactions\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n",
    subcommands: &[],
};

pub(crate) const WAIT: Doc = Doc {
    name: "wait",
    arity: 3,
    flags: &["noscript"],
    range: (0, 0, 0),
    acl: &["@slow", "@connection"],
    tips: &["request_policy:all_shards", "response_policy:agg_min"],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$108\r\nWait for the synchronous replication of all the write commands sent in the context of the current connection\r\n$5\r\nsince\r\n$5\r\n3.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$11\r\nnumreplicas\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$7\r\ntimeout\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const WATCH: Doc = Doc {
    name: "watch",
    arity: -2,
    flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
    range: (1, -1, 1),
    acl: &["@fast", "@transaction"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: -1, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$67\r\nWatch the given keys to determine execution of the MULTI/EXEC block\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$12\r\ntransactions\r\n$10\r\ncomplexity\r\n$19\r\nO(1) for every key.\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const XACK: Doc = Doc {
    name: "xack",
    arity: -4,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@stream", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$267\r\nMarks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$35\r\nO(1) for each message ID processed.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\ngroup\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const XADD: Doc = Doc {
    name: "xadd",
    arity: -5,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@stream", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: Some("UPDATE instead of INSERT because of the optional trimming feature"), flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$31\r\nAppends a new entry to a stream\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$93\r\nO(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n6.2.0\r\n$80\r\nAdded the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option.\r\n*2\r\n$5\r\n7.0.0\r\n$48\r\nAdded support for the `<ms>-*` explicit ID form.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$10\r\nnomkstream\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nNOMKSTREAM\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$4\r\ntrim\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$8\r\nstrategy\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nmaxlen\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nMAXLEN\r\n%4\r\n$4\r\nname\r\n$5\r\nminid\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nMINID\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$8\r\noperator\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\nequal\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\n=\r\n%3\r\n$4\r\nname\r\n$13\r\napproximately\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\n~\r\n%2\r\n$4\r\nname\r\n$9\r\nthreshold\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%3\r\n$4\r\nname\r\n$10\r\nid_or_auto\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$7\r\nauto_id\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\n*\r\n%2\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$11\r\nfield_value\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\nfield\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const XAUTOCLAIM: Doc = Doc {
    name: "xautoclaim",
    arity: -6,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@stream", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$125\r\nChanges (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$23\r\nO(1) if COUNT is small.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$96\r\nAdded an element to the reply array, containing deleted entries the command cleared from the PEL\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\ngroup\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$8\r\nconsumer\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$13\r\nmin-idle-time\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$6\r\njustid\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nJUSTID\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const XCLAIM: Doc = Doc {
    name: "xclaim",
    arity: -6,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@stream", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$124\r\nChanges (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$78\r\nO(log N) with N being the number of messages in the PEL of the consumer group.\r\n$9\r\narguments\r\n*11\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\ngroup\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$8\r\nconsumer\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$13\r\nmin-idle-time\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$2\r\nms\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$4\r\nIDLE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nTIME\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$10\r\nRETRYCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\nforce\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nFORCE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$6\r\njustid\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nJUSTID\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$6\r\nLASTID\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const XDEL: Doc = Doc {
    name: "xdel",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@stream", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$178\r\nRemoves the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$81\r\nO(1) for each single item to delete in the stream, regardless of the stream size.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const XGROUP: Doc = Doc {
    name: "xgroup",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$40\r\nA container for consumer groups commands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%6\r\n$13\r\nxgroup|create\r\n%6\r\n$7\r\nsummary\r\n$24\r\nCreate a consumer group.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$40\r\nAdded the `entries_read` named argument.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\ngroupname\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$6\r\nnew_id\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\n$\r\n%4\r\n$4\r\nname\r\n$8\r\nmkstream\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$8\r\nMKSTREAM\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$12\r\nentries_read\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$11\r\nENTRIESREAD\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$21\r\nxgroup|createconsumer\r\n%5\r\n$7\r\nsummary\r\n$38\r\nCreate a consumer in a consumer group.\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\ngroupname\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$12\r\nconsumername\r\n$4\r\ntype\r\n$6\r\nstring\r\n$18\r\nxgroup|delconsumer\r\n%5\r\n$7\r\nsummary\r\n$40\r\nDelete a consumer from a consumer group.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\ngroupname\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$12\r\nconsumername\r\n$4\r\ntype\r\n$6\r\nstring\r\n$14\r\nxgroup|destroy\r\n%5\r\n$7\r\nsummary\r\n$25\r\nDestroy a consumer group.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$80\r\nO(N) where N is the number of entries in the group's pending entries list (PEL).\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\ngroupname\r\n$4\r\ntype\r\n$6\r\nstring\r\n$11\r\nxgroup|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$12\r\nxgroup|setid\r\n%6\r\n$7\r\nsummary\r\n$61\r\nSet a consumer group to an arbitrary last delivered ID value.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$43\r\nAdded the optional `entries_read` argument.\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\ngroupname\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n%3\r\n$4\r\nname\r\n$6\r\nnew_id\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\n$\r\n%4\r\n$4\r\nname\r\n$12\r\nentries_read\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$11\r\nENTRIESREAD\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[
        Doc {
            name: "xgroup|create",
            arity: -5,
            flags: &["write", "denyoom"],
            range: (2, 2, 1),
            acl: &["@write", "@stream", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xgroup|createconsumer",
            arity: 5,
            flags: &["write", "denyoom"],
            range: (2, 2, 1),
            acl: &["@write", "@stream", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RW", "insert"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xgroup|delconsumer",
            arity: 5,
            flags: &["write"],
            range: (2, 2, 1),
            acl: &["@write", "@stream", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xgroup|destroy",
            arity: 4,
            flags: &["write"],
            range: (2, 2, 1),
            acl: &["@write", "@stream", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xgroup|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@stream", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xgroup|setid",
            arity: -5,
            flags: &["write"],
            range: (2, 2, 1),
            acl: &["@write", "@stream", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const XINFO: Doc = Doc {
    name: "xinfo",
    arity: -2,
    flags: &[],
    range: (0, 0, 0),
    acl: &["@slow"],
    tips: &[],
    specs: &[],
    docs: b"%5\r\n$7\r\nsummary\r\n$45\r\nA container for stream introspection commands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n%4\r\n$15\r\nxinfo|consumers\r\n%5\r\n$7\r\nsummary\r\n$38\r\nList the consumers in a consumer group\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\ngroupname\r\n$4\r\ntype\r\n$6\r\nstring\r\n$12\r\nxinfo|groups\r\n%6\r\n$7\r\nsummary\r\n$36\r\nList the consumer groups of a stream\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$41\r\nAdded the `entries-read` and `lag` fields\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$10\r\nxinfo|help\r\n%4\r\n$7\r\nsummary\r\n$49\r\nShow helpful text about the different subcommands\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$12\r\nxinfo|stream\r\n%6\r\n$7\r\nsummary\r\n$30\r\nGet information about a stream\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~2\r\n*2\r\n$5\r\n6.0.0\r\n$26\r\nAdded the `FULL` modifier.\r\n*2\r\n$5\r\n7.0.0\r\n$109\r\nAdded the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$4\r\nfull\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$4\r\nFULL\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[
        Doc {
            name: "xinfo|consumers",
            arity: 4,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@read", "@stream", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xinfo|groups",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@read", "@stream", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xinfo|help",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@stream", "@slow"],
            tips: &[],
            specs: &[],
            docs: b"",
            subcommands: &[],
        },
        Doc {
            name: "xinfo|stream",
            arity: -3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@read", "@stream", "@slow"],
            tips: &[],
            specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
            docs: b"",
            subcommands: &[],
        },
    ],
};

pub(crate) const XLEN: Doc = Doc {
    name: "xlen",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@stream", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$40\r\nReturn the number of entries in a stream\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const XPENDING: Doc = Doc {
    name: "xpending",
    arity: -3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@stream", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$131\r\nReturn information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$364\r\nO(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$54\r\nAdded the `IDLE` option and exclusive range intervals.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\ngroup\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$7\r\nfilters\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*5\r\n%5\r\n$4\r\nname\r\n$13\r\nmin-idle-time\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$4\r\nIDLE\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%3\r\n$4\r\nname\r\n$8\r\nconsumer\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const XRANGE: Doc = Doc {
    name: "xrange",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@stream", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$84\r\nReturn a range of elements in a stream, with IDs matching the specified IDs interval\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$158\r\nO(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$23\r\nAdded exclusive ranges.\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const XREAD: Doc = Doc {
    name: "xread",
    arity: -4,
    flags: &["readonly", "blocking", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@stream", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Keyword("STREAMS", 1), find: Find::Range { lastkey: -1, step: 1, limit: 2 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$129\r\nReturn never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$272\r\nFor each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.\r\n$9\r\narguments\r\n*3\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nBLOCK\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$7\r\nstreams\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$7\r\nSTREAMS\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const XREADGROUP: Doc = Doc {
    name: "xreadgroup",
    arity: -7,
    flags: &["write", "blocking", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@write", "@stream", "@slow", "@blocking"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Keyword("STREAMS", 4), find: Find::Range { lastkey: -1, step: 1, limit: 2 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$134\r\nReturn new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$321\r\nFor each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.\r\n$9\r\narguments\r\n*5\r\n%4\r\n$4\r\nname\r\n$14\r\ngroup_consumer\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nGROUP\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\ngroup\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$8\r\nconsumer\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nBLOCK\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\nnoack\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nNOACK\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$7\r\nstreams\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$7\r\nSTREAMS\r\n$9\r\narguments\r\n*2\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const XREVRANGE: Doc = Doc {
    name: "xrevrange",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@stream", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$151\r\nReturn a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$152\r\nO(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$23\r\nAdded exclusive ranges.\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nend\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const XSETID: Doc = Doc {
    name: "xsetid",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@stream", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$49\r\nAn internal command for replicating stream values\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$63\r\nAdded the `entries_added` and `max_deleted_entry_id` arguments.\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nlast-id\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$13\r\nentries_added\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$12\r\nENTRIESADDED\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$20\r\nmax_deleted_entry_id\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\ntoken\r\n$12\r\nMAXDELETEDID\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const XTRIM: Doc = Doc {
    name: "xtrim",
    arity: -4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@stream", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$67\r\nTrims the stream to (approximately if '~' is passed) a certain size\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n$208\r\nO(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$59\r\nAdded the `MINID` trimming strategy and the `LIMIT` option.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$4\r\ntrim\r\n$4\r\ntype\r\n$5\r\nblock\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$8\r\nstrategy\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$6\r\nmaxlen\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$6\r\nMAXLEN\r\n%4\r\n$4\r\nname\r\n$5\r\nminid\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nMINID\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n%4\r\n$4\r\nname\r\n$8\r\noperator\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$5\r\nequal\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\n=\r\n%3\r\n$4\r\nname\r\n$13\r\napproximately\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$1\r\n~\r\n%2\r\n$4\r\nname\r\n$9\r\nthreshold\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZADD: Doc = Doc {
    name: "zadd",
    arity: -4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$81\r\nAdd one or more members to a sorted set, or update its score if it already exists\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$83\r\nO(log(N)) for each item added, where N is the number of elements in the sorted set.\r\n$7\r\nhistory\r\n~3\r\n*2\r\n$5\r\n2.4.0\r\n$26\r\nAccepts multiple elements.\r\n*2\r\n$5\r\n3.0.2\r\n$46\r\nAdded the `XX`, `NX`, `CH` and `INCR` options.\r\n*2\r\n$5\r\n6.2.0\r\n$32\r\nAdded the `GT` and `LT` options.\r\n$9\r\narguments\r\n*6\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n3.0.2\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%5\r\n$4\r\nname\r\n$10\r\ncomparison\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n%3\r\n$4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nLT\r\n%5\r\n$4\r\nname\r\n$6\r\nchange\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nCH\r\n$5\r\nsince\r\n$5\r\n3.0.2\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nINCR\r\n$5\r\nsince\r\n$5\r\n3.0.2\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$12\r\nscore_member\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\nscore\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ZCARD: Doc = Doc {
    name: "zcard",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$41\r\nGet the number of members in a sorted set\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n",
    subcommands: &[],
};

pub(crate) const ZCOUNT: Doc = Doc {
    name: "zcount",
    arity: 4,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$69\r\nCount the members in a sorted set with scores within the given values\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$64\r\nO(log(N)) with N being the number of elements in the sorted set.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const ZDIFF: Doc = Doc {
    name: "zdiff",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$29\r\nSubtract multiple sorted sets\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$155\r\nO(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZDIFFSTORE: Doc = Doc {
    name: "zdiffstore",
    arity: -4,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$77\r\nSubtract multiple sorted sets and store the resulting sorted set in a new key\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$155\r\nO(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const ZINCRBY: Doc = Doc {
    name: "zincrby",
    arity: 4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$47\r\nIncrement the score of a member in a sorted set\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$62\r\nO(log(N)) where N is the number of elements in the sorted set.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ZINTER: Doc = Doc {
    name: "zinter",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$30\r\nIntersect multiple sorted sets\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$177\r\nO(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.\r\n$9\r\narguments\r\n*5\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$6\r\nweight\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nWEIGHTS\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%5\r\n$4\r\nname\r\n$9\r\naggregate\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$9\r\nAGGREGATE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nsum\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nSUM\r\n%3\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n%3\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n%4\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZINTERCARD: Doc = Doc {
    name: "zintercard",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$71\r\nIntersect multiple sorted sets and return the cardinality of the result\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$102\r\nO(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.\r\n$9\r\narguments\r\n*3\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$5\r\nlimit\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZINTERSTORE: Doc = Doc {
    name: "zinterstore",
    arity: -4,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$78\r\nIntersect multiple sorted sets and store the resulting sorted set in a new key\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$177\r\nO(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$6\r\nweight\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nWEIGHTS\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%5\r\n$4\r\nname\r\n$9\r\naggregate\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$9\r\nAGGREGATE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nsum\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nSUM\r\n%3\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n%3\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n",
    subcommands: &[],
};

pub(crate) const ZLEXCOUNT: Doc = Doc {
    name: "zlexcount",
    arity: 4,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$81\r\nCount the number of members in a sorted set between a given lexicographical range\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$64\r\nO(log(N)) with N being the number of elements in the sorted set.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ZMPOP: Doc = Doc {
    name: "zmpop",
    arity: -4,
    flags: &["write", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$53\r\nRemove and return members with scores in a sorted set\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$151\r\nO(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.\r\n$9\r\narguments\r\n*4\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$5\r\nwhere\r\n$4\r\ntype\r\n$5\r\noneof\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n%3\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZMSCORE: Doc = Doc {
    name: "zmscore",
    arity: -3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$63\r\nGet the score associated with the given members in a sorted set\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$54\r\nO(N) where N is the number of members being requested.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const ZPOPMAX: Doc = Doc {
    name: "zpopmax",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$65\r\nRemove and return members with the highest scores in a sorted set\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$109\r\nO(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZPOPMIN: Doc = Doc {
    name: "zpopmin",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "access", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$64\r\nRemove and return members with the lowest scores in a sorted set\r\n$5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$109\r\nO(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZRANDMEMBER: Doc = Doc {
    name: "zrandmember",
    arity: -2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$53\r\nGet one or multiple random elements from a sorted set\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$47\r\nO(N) where N is the number of elements returned\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%4\r\n$4\r\nname\r\n$7\r\noptions\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZRANGE: Doc = Doc {
    name: "zrange",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$41\r\nReturn a range of members in a sorted set\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$104\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n$56\r\nAdded the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$4\r\nstop\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$6\r\nsortby\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$7\r\nbyscore\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nBYSCORE\r\n%3\r\n$4\r\nname\r\n$5\r\nbylex\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nBYLEX\r\n%5\r\n$4\r\nname\r\n$3\r\nrev\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nREV\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%6\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZRANGEBYLEX: Doc = Doc {
    name: "zrangebylex",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$67\r\nReturn a range of members in a sorted set, by lexicographical range\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$217\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$34\r\n`ZRANGE` with the `BYLEX` argument\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const ZRANGEBYSCORE: Doc = Doc {
    name: "zrangebyscore",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%9\r\n$7\r\nsummary\r\n$51\r\nReturn a range of members in a sorted set, by score\r\n$5\r\nsince\r\n$5\r\n1.0.5\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$217\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$36\r\n`ZRANGE` with the `BYSCORE` argument\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.0.0\r\n$32\r\nAdded the `WITHSCORES` modifier.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%5\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const ZRANGESTORE: Doc = Doc {
    name: "zrangestore",
    arity: -5,
    flags: &["write", "denyoom"],
    range: (1, 2, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$57\r\nStore a range of members from sorted set into another key\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$127\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.\r\n$9\r\narguments\r\n*7\r\n%3\r\n$4\r\nname\r\n$3\r\ndst\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$3\r\nsrc\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\nstring\r\n%4\r\n$4\r\nname\r\n$6\r\nsortby\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$7\r\nbyscore\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\nBYSCORE\r\n%3\r\n$4\r\nname\r\n$5\r\nbylex\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$5\r\nBYLEX\r\n%4\r\n$4\r\nname\r\n$3\r\nrev\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nREV\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const ZRANK: Doc = Doc {
    name: "zrank",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$47\r\nDetermine the index of a member in a sorted set\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$9\r\nO(log(N))\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ZREM: Doc = Doc {
    name: "zrem",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%6\r\n$7\r\nsummary\r\n$44\r\nRemove one or more members from a sorted set\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$109\r\nO(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.4.0\r\n$26\r\nAccepts multiple elements.\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%3\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n",
    subcommands: &[],
};

pub(crate) const ZREMRANGEBYLEX: Doc = Doc {
    name: "zremrangebylex",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$74\r\nRemove all members in a sorted set between the given lexicographical range\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$120\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ZREMRANGEBYRANK: Doc = Doc {
    name: "zremrangebyrank",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$59\r\nRemove all members in a sorted set within the given indexes\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$120\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$4\r\nstop\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const ZREMRANGEBYSCORE: Doc = Doc {
    name: "zremrangebyscore",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RW", "delete"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$58\r\nRemove all members in a sorted set within the given scores\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$120\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\ndouble\r\n",
    subcommands: &[],
};

pub(crate) const ZREVRANGE: Doc = Doc {
    name: "zrevrange",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$89\r\nReturn a range of members in a sorted set, by index, with scores ordered from high to low\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$104\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$32\r\n`ZRANGE` with the `REV` argument\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nstart\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$4\r\nstop\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZREVRANGEBYLEX: Doc = Doc {
    name: "zrevrangebylex",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%8\r\n$7\r\nsummary\r\n$106\r\nReturn a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.\r\n$5\r\nsince\r\n$5\r\n2.8.9\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$217\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$45\r\n`ZRANGE` with the `REV` and `BYLEX` arguments\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\nstring\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const ZREVRANGEBYSCORE: Doc = Doc {
    name: "zrevrangebyscore",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%9\r\n$7\r\nsummary\r\n$89\r\nReturn a range of members in a sorted set, by score, with scores ordered from high to low\r\n$5\r\nsince\r\n$5\r\n2.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$217\r\nO(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).\r\n$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n$11\r\nreplaced_by\r\n$47\r\n`ZRANGE` with the `REV` and `BYSCORE` arguments\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n2.1.6\r\n$33\r\n`min` and `max` can be exclusive.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%4\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$12\r\noffset_count\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$5\r\nLIMIT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%2\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n",
    subcommands: &[],
};

pub(crate) const ZREVRANK: Doc = Doc {
    name: "zrevrank",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$85\r\nDetermine the index of a member in a sorted set, with scores ordered from high to low\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$9\r\nO(log(N))\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ZSCAN: Doc = Doc {
    name: "zscan",
    arity: -3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$64\r\nIncrementally iterate sorted sets elements and associated scores\r\n$5\r\nsince\r\n$5\r\n2.8.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$170\r\nO(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..\r\n$9\r\narguments\r\n*4\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\ncursor\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$7\r\npattern\r\n$4\r\ntype\r\n$7\r\npattern\r\n$5\r\ntoken\r\n$5\r\nMATCH\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZSCORE: Doc = Doc {
    name: "zscore",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$62\r\nGet the score associated with the given member in a sorted set\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n",
    subcommands: &[],
};

pub(crate) const ZUNION: Doc = Doc {
    name: "zunion",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(1), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$24\r\nAdd multiple sorted sets\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$140\r\nO(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.\r\n$9\r\narguments\r\n*5\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$6\r\nweight\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nWEIGHTS\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%5\r\n$4\r\nname\r\n$9\r\naggregate\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$9\r\nAGGREGATE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nsum\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nSUM\r\n%3\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n%3\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n%4\r\n$4\r\nname\r\n$10\r\nwithscores\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$10\r\nWITHSCORES\r\n$5\r\nflags\r\n~1\r\n+optional\r\n",
    subcommands: &[],
};

pub(crate) const ZUNIONSTORE: Doc = Doc {
    name: "zunionstore",
    arity: -4,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec { notes: None, flags: &["OW", "update"], begin: Begin::Index(1), find: Find::Range { lastkey: 0, step: 1, limit: 0 } }, KeySpec { notes: None, flags: &["RO", "access"], begin: Begin::Index(2), find: Find::Keynum { index: 0, first: 1, step: 1 } }],
    docs: b"%5\r\n$7\r\nsummary\r\n$72\r\nAdd multiple sorted sets and store the resulting sorted set in a new key\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$140\r\nO(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.\r\n$9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\ntype\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n$6\r\nweight\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nWEIGHTS\r\n$5\r\nflags\r\n~2\r\n+optional\r\n+multiple\r\n%5\r\n$4\r\nname\r\n$9\r\naggregate\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$9\r\nAGGREGATE\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nsum\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nSUM\r\n%3\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n%3\r\n$4\r\nname\r\n$3\r\nmax\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n",
    subcommands: &[],
};
