//! Redis 7.0.15's COMMAND INFO for every command in [`crate::command_table`],
//! measured from a real server by `xtask/measure/command_docs.py` (generated:
//! edit the script, not this file). Of a container command only the
//! subcommands the simulator implements are kept.

use crate::command_table::{Begin, Doc, Find, KeySpec};

pub(crate) const APPEND: Doc = Doc {
    name: "append",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "insert"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[
        Doc {
            name: "client|getname",
            arity: 2,
            flags: &["noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
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
    subcommands: &[
        Doc {
            name: "cluster|addslots",
            arity: -3,
            flags: &["admin", "stale", "no_async_loading"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
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
    subcommands: &[
        Doc {
            name: "command|count",
            arity: 2,
            flags: &["loading", "stale"],
            range: (0, 0, 0),
            acl: &["@slow", "@connection"],
            tips: &[],
            specs: &[],
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
    subcommands: &[
        Doc {
            name: "config|get",
            arity: -3,
            flags: &["admin", "noscript", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@admin", "@slow", "@dangerous"],
            tips: &[],
            specs: &[],
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
    specs: &[
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
    ],
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
    subcommands: &[],
};

pub(crate) const DECR: Doc = Doc {
    name: "decr",
    arity: 2,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const DECRBY: Doc = Doc {
    name: "decrby",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const DEL: Doc = Doc {
    name: "del",
    arity: -2,
    flags: &["write"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@write", "@slow"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RM", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const DUMP: Doc = Doc {
    name: "dump",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@slow"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const EXISTS: Doc = Doc {
    name: "exists",
    arity: -2,
    flags: &["readonly", "fast"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const EXPIRE: Doc = Doc {
    name: "expire",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const EXPIREAT: Doc = Doc {
    name: "expireat",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const EXPIRETIME: Doc = Doc {
    name: "expiretime",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const GET: Doc = Doc {
    name: "get",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const GETDEL: Doc = Doc {
    name: "getdel",
    arity: 2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const GETRANGE: Doc = Doc {
    name: "getrange",
    arity: 4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const GETSET: Doc = Doc {
    name: "getset",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const HDEL: Doc = Doc {
    name: "hdel",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const HGET: Doc = Doc {
    name: "hget",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const HGETALL: Doc = Doc {
    name: "hgetall",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const HLEN: Doc = Doc {
    name: "hlen",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const HSET: Doc = Doc {
    name: "hset",
    arity: -4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@hash", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const INCR: Doc = Doc {
    name: "incr",
    arity: 2,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const INCRBY: Doc = Doc {
    name: "incrby",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const LINDEX: Doc = Doc {
    name: "lindex",
    arity: 3,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const LINSERT: Doc = Doc {
    name: "linsert",
    arity: 5,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "insert"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const LLEN: Doc = Doc {
    name: "llen",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const LMOVE: Doc = Doc {
    name: "lmove",
    arity: 5,
    flags: &["write", "denyoom"],
    range: (1, 2, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["RW", "access", "delete"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RW", "insert"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
    ],
    subcommands: &[],
};

pub(crate) const LPOP: Doc = Doc {
    name: "lpop",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const LPUSH: Doc = Doc {
    name: "lpush",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "insert"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const LRANGE: Doc = Doc {
    name: "lrange",
    arity: 4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const LSET: Doc = Doc {
    name: "lset",
    arity: 4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const MGET: Doc = Doc {
    name: "mget",
    arity: -2,
    flags: &["readonly", "fast"],
    range: (1, -1, 1),
    acl: &["@read", "@string", "@fast"],
    tips: &["request_policy:multi_shard"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const MIGRATE: Doc = Doc {
    name: "migrate",
    arity: -6,
    flags: &["write", "movablekeys"],
    range: (3, 3, 1),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &["nondeterministic_output"],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["RW", "access", "delete"],
            begin: Begin::Index(3),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RW", "access", "delete", "incomplete"],
            begin: Begin::Keyword("KEYS", -2),
            find: Find::Range { lastkey: -1, step: 1, limit: 0 },
        },
    ],
    subcommands: &[],
};

pub(crate) const MSET: Doc = Doc {
    name: "mset",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 2),
    acl: &["@write", "@string", "@slow"],
    tips: &["request_policy:multi_shard", "response_policy:all_succeeded"],
    specs: &[KeySpec {
        notes: None,
        flags: &["OW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 2, limit: 0 },
    }],
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
    subcommands: &[
        Doc {
            name: "object|encoding",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec {
                notes: None,
                flags: &["RO"],
                begin: Begin::Index(2),
                find: Find::Range { lastkey: 0, step: 1, limit: 0 },
            }],
            subcommands: &[],
        },
        Doc {
            name: "object|freq",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec {
                notes: None,
                flags: &["RO"],
                begin: Begin::Index(2),
                find: Find::Range { lastkey: 0, step: 1, limit: 0 },
            }],
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
            subcommands: &[],
        },
        Doc {
            name: "object|idletime",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec {
                notes: None,
                flags: &["RO"],
                begin: Begin::Index(2),
                find: Find::Range { lastkey: 0, step: 1, limit: 0 },
            }],
            subcommands: &[],
        },
        Doc {
            name: "object|refcount",
            arity: 3,
            flags: &["readonly"],
            range: (2, 2, 1),
            acl: &["@keyspace", "@read", "@slow"],
            tips: &["nondeterministic_output"],
            specs: &[KeySpec {
                notes: None,
                flags: &["RO"],
                begin: Begin::Index(2),
                find: Find::Range { lastkey: 0, step: 1, limit: 0 },
            }],
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
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const PEXPIRE: Doc = Doc {
    name: "pexpire",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const PEXPIREAT: Doc = Doc {
    name: "pexpireat",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const PEXPIRETIME: Doc = Doc {
    name: "pexpiretime",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const PTTL: Doc = Doc {
    name: "pttl",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[
        Doc {
            name: "pubsub|channels",
            arity: -2,
            flags: &["pubsub", "loading", "stale"],
            range: (0, 0, 0),
            acl: &["@pubsub", "@slow"],
            tips: &[],
            specs: &[],
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
    subcommands: &[],
};

pub(crate) const RENAME: Doc = Doc {
    name: "rename",
    arity: 3,
    flags: &["write"],
    range: (1, 2, 1),
    acl: &["@keyspace", "@write", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["RW", "access", "delete"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
    ],
    subcommands: &[],
};

pub(crate) const RENAMENX: Doc = Doc {
    name: "renamenx",
    arity: 3,
    flags: &["write", "fast"],
    range: (1, 2, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["RW", "access", "delete"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["OW", "insert"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
    ],
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
    subcommands: &[],
};

pub(crate) const RESTORE: Doc = Doc {
    name: "restore",
    arity: -4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["OW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const RESTORE_ASKING: Doc = Doc {
    name: "restore-asking",
    arity: -4,
    flags: &["write", "denyoom", "asking"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["OW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const RPOP: Doc = Doc {
    name: "rpop",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const RPUSH: Doc = Doc {
    name: "rpush",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@list", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "insert"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SADD: Doc = Doc {
    name: "sadd",
    arity: -3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "insert"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const SCARD: Doc = Doc {
    name: "scard",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SDIFF: Doc = Doc {
    name: "sdiff",
    arity: -2,
    flags: &["readonly"],
    range: (1, -1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SDIFFSTORE: Doc = Doc {
    name: "sdiffstore",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 1),
    acl: &["@write", "@set", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: -1, step: 1, limit: 0 },
        },
    ],
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
    subcommands: &[],
};

pub(crate) const SET: Doc = Doc {
    name: "set",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: Some("RW and ACCESS due to the optional `GET` argument"),
        flags: &["RW", "access", "update", "variable_flags"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SETNX: Doc = Doc {
    name: "setnx",
    arity: 3,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["OW", "insert"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SETRANGE: Doc = Doc {
    name: "setrange",
    arity: 4,
    flags: &["write", "denyoom"],
    range: (1, 1, 1),
    acl: &["@write", "@string", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const SINTER: Doc = Doc {
    name: "sinter",
    arity: -2,
    flags: &["readonly"],
    range: (1, -1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SINTERCARD: Doc = Doc {
    name: "sintercard",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@set", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Keynum { index: 0, first: 1, step: 1 },
    }],
    subcommands: &[],
};

pub(crate) const SINTERSTORE: Doc = Doc {
    name: "sinterstore",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 1),
    acl: &["@write", "@set", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["RW", "update"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: -1, step: 1, limit: 0 },
        },
    ],
    subcommands: &[],
};

pub(crate) const SISMEMBER: Doc = Doc {
    name: "sismember",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const SMEMBERS: Doc = Doc {
    name: "smembers",
    arity: 2,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SMOVE: Doc = Doc {
    name: "smove",
    arity: 4,
    flags: &["write", "fast"],
    range: (1, 2, 1),
    acl: &["@write", "@set", "@fast"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["RW", "access", "delete"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RW", "insert"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
    ],
    subcommands: &[],
};

pub(crate) const SREM: Doc = Doc {
    name: "srem",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@set", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const STRLEN: Doc = Doc {
    name: "strlen",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@string", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const SUNION: Doc = Doc {
    name: "sunion",
    arity: -2,
    flags: &["readonly"],
    range: (1, -1, 1),
    acl: &["@read", "@set", "@slow"],
    tips: &["nondeterministic_output_order"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const SUNIONSTORE: Doc = Doc {
    name: "sunionstore",
    arity: -3,
    flags: &["write", "denyoom"],
    range: (1, -1, 1),
    acl: &["@write", "@set", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: -1, step: 1, limit: 0 },
        },
    ],
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
    subcommands: &[],
};

pub(crate) const TOUCH: Doc = Doc {
    name: "touch",
    arity: -2,
    flags: &["readonly", "fast"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const TTL: Doc = Doc {
    name: "ttl",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &["nondeterministic_output"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const TYPE: Doc = Doc {
    name: "type",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@keyspace", "@read", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const UNLINK: Doc = Doc {
    name: "unlink",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, -1, 1),
    acl: &["@keyspace", "@write", "@fast"],
    tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
    specs: &[KeySpec {
        notes: None,
        flags: &["RM", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: -1, step: 1, limit: 0 },
    }],
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
    subcommands: &[],
};

pub(crate) const ZADD: Doc = Doc {
    name: "zadd",
    arity: -4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZCARD: Doc = Doc {
    name: "zcard",
    arity: 2,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZCOUNT: Doc = Doc {
    name: "zcount",
    arity: 4,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZDIFF: Doc = Doc {
    name: "zdiff",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Keynum { index: 0, first: 1, step: 1 },
    }],
    subcommands: &[],
};

pub(crate) const ZDIFFSTORE: Doc = Doc {
    name: "zdiffstore",
    arity: -4,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(2),
            find: Find::Keynum { index: 0, first: 1, step: 1 },
        },
    ],
    subcommands: &[],
};

pub(crate) const ZINCRBY: Doc = Doc {
    name: "zincrby",
    arity: 4,
    flags: &["write", "denyoom", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "update"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZINTER: Doc = Doc {
    name: "zinter",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Keynum { index: 0, first: 1, step: 1 },
    }],
    subcommands: &[],
};

pub(crate) const ZINTERCARD: Doc = Doc {
    name: "zintercard",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Keynum { index: 0, first: 1, step: 1 },
    }],
    subcommands: &[],
};

pub(crate) const ZINTERSTORE: Doc = Doc {
    name: "zinterstore",
    arity: -4,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(2),
            find: Find::Keynum { index: 0, first: 1, step: 1 },
        },
    ],
    subcommands: &[],
};

pub(crate) const ZLEXCOUNT: Doc = Doc {
    name: "zlexcount",
    arity: 4,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZMSCORE: Doc = Doc {
    name: "zmscore",
    arity: -3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZPOPMAX: Doc = Doc {
    name: "zpopmax",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZPOPMIN: Doc = Doc {
    name: "zpopmin",
    arity: -2,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "access", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZRANGE: Doc = Doc {
    name: "zrange",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZRANGEBYLEX: Doc = Doc {
    name: "zrangebylex",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZRANGEBYSCORE: Doc = Doc {
    name: "zrangebyscore",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZRANGESTORE: Doc = Doc {
    name: "zrangestore",
    arity: -5,
    flags: &["write", "denyoom"],
    range: (1, 2, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(2),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
    ],
    subcommands: &[],
};

pub(crate) const ZRANK: Doc = Doc {
    name: "zrank",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREM: Doc = Doc {
    name: "zrem",
    arity: -3,
    flags: &["write", "fast"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREMRANGEBYLEX: Doc = Doc {
    name: "zremrangebylex",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREMRANGEBYRANK: Doc = Doc {
    name: "zremrangebyrank",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREMRANGEBYSCORE: Doc = Doc {
    name: "zremrangebyscore",
    arity: 4,
    flags: &["write"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RW", "delete"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREVRANGE: Doc = Doc {
    name: "zrevrange",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREVRANGEBYLEX: Doc = Doc {
    name: "zrevrangebylex",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREVRANGEBYSCORE: Doc = Doc {
    name: "zrevrangebyscore",
    arity: -4,
    flags: &["readonly"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZREVRANK: Doc = Doc {
    name: "zrevrank",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZSCORE: Doc = Doc {
    name: "zscore",
    arity: 3,
    flags: &["readonly", "fast"],
    range: (1, 1, 1),
    acl: &["@read", "@sortedset", "@fast"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Range { lastkey: 0, step: 1, limit: 0 },
    }],
    subcommands: &[],
};

pub(crate) const ZUNION: Doc = Doc {
    name: "zunion",
    arity: -3,
    flags: &["readonly", "movablekeys"],
    range: (0, 0, 0),
    acl: &["@read", "@sortedset", "@slow"],
    tips: &[],
    specs: &[KeySpec {
        notes: None,
        flags: &["RO", "access"],
        begin: Begin::Index(1),
        find: Find::Keynum { index: 0, first: 1, step: 1 },
    }],
    subcommands: &[],
};

pub(crate) const ZUNIONSTORE: Doc = Doc {
    name: "zunionstore",
    arity: -4,
    flags: &["write", "denyoom", "movablekeys"],
    range: (1, 1, 1),
    acl: &["@write", "@sortedset", "@slow"],
    tips: &[],
    specs: &[
        KeySpec {
            notes: None,
            flags: &["OW", "update"],
            begin: Begin::Index(1),
            find: Find::Range { lastkey: 0, step: 1, limit: 0 },
        },
        KeySpec {
            notes: None,
            flags: &["RO", "access"],
            begin: Begin::Index(2),
            find: Find::Keynum { index: 0, first: 1, step: 1 },
        },
    ],
    subcommands: &[],
};
