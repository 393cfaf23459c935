//! Keyspace notifications (`notify-keyspace-events`): the event classes and
//! their letters, the directive's parsing and the normalised string CONFIG GET
//! shows, and the events a command raises. Commands raise events through
//! [`crate::keyspace::Exec::notify`] where Redis 7.0.15 calls
//! `notifyKeyspaceEvent`; the server publishes them after the command
//! ([`crate::server::Server::publish_events`]) as ordinary local PUBLISHes on
//! `__keyspace@<db>__:<key>` (the event) and `__keyevent@<db>__:<event>` (the
//! key), never propagated to replicas nor over the cluster bus.

/// `K`: `__keyspace@<db>__:<key>` messages.
pub(crate) const KEYSPACE: u16 = 1 << 0;
/// `E`: `__keyevent@<db>__:<event>` messages.
pub(crate) const KEYEVENT: u16 = 1 << 1;
/// `g`: DEL, EXPIRE, RENAME, COPY, MOVE, RESTORE, SORT STORE...
pub(crate) const GENERIC: u16 = 1 << 2;
/// `$`: string commands.
pub(crate) const STRING: u16 = 1 << 3;
/// `l`: list commands.
pub(crate) const LIST: u16 = 1 << 4;
/// `s`: set commands.
pub(crate) const SET: u16 = 1 << 5;
/// `h`: hash commands.
pub(crate) const HASH: u16 = 1 << 6;
/// `z`: sorted set commands.
pub(crate) const ZSET: u16 = 1 << 7;
/// `x`: a key deleted because its time had come.
pub(crate) const EXPIRED: u16 = 1 << 8;
/// `e`: a key evicted for maxmemory.
pub(crate) const EVICTED: u16 = 1 << 9;
/// `t`: stream commands.
pub(crate) const STREAM: u16 = 1 << 10;
/// `m`: key misses.
pub(crate) const KEY_MISS: u16 = 1 << 11;
/// `d`: module events.
pub(crate) const MODULE: u16 = 1 << 12;
/// `n`: a new key.
pub(crate) const NEW: u16 = 1 << 13;
/// `A`: `g$lshzxetd` (not `m` nor `n`).
pub(crate) const ALL: u16 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The letters, as `keyspaceEventsStringToFlags` reads them.
const LETTERS: [(u8, u16); 15] = [
    (b'A', ALL),
    (b'g', GENERIC),
    (b'$', STRING),
    (b'l', LIST),
    (b's', SET),
    (b'h', HASH),
    (b'z', ZSET),
    (b'x', EXPIRED),
    (b'e', EVICTED),
    (b'K', KEYSPACE),
    (b'E', KEYEVENT),
    (b't', STREAM),
    (b'm', KEY_MISS),
    (b'd', MODULE),
    (b'n', NEW),
];

/// The classes `text` names, or Redis's error for a letter it does not know.
pub(crate) fn parse(text: &str) -> Result<u16, String> {
    text.bytes().try_fold(0, |flags, c| match LETTERS.iter().find(|(l, _)| *l == c) {
        Some((_, class)) => Ok(flags | class),
        None => Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_owned()),
    })
}

/// The string CONFIG GET shows for `flags` (`keyspaceEventsFlagsToString`):
/// `A` for the whole of [`ALL`] (which hides `n`), else the class letters in
/// their order, then `K`, `E`, `m`.
pub(crate) fn render(flags: u16) -> String {
    let mut out = String::new();
    if flags & ALL == ALL {
        out.push('A');
    } else {
        let classes = [GENERIC, STRING, LIST, SET, HASH, ZSET, EXPIRED, EVICTED, STREAM, MODULE, NEW];
        out.extend(classes.iter().filter(|&&c| flags & c != 0).map(|&c| letter(c)));
    }
    out.extend([KEYSPACE, KEYEVENT, KEY_MISS].iter().filter(|&&c| flags & c != 0).map(|&c| letter(c)));
    out
}

fn letter(class: u16) -> char {
    LETTERS.iter().find(|(_, c)| *c == class).map_or('?', |(l, _)| char::from(*l))
}

/// One event a command raised: its database, name and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) db: usize,
    pub(crate) name: &'static str,
    pub(crate) key: Vec<u8>,
}

/// The messages of one event under `flags`: (channel, message) pairs,
/// keyspace first, as `notifyKeyspaceEvent` publishes them.
pub(crate) fn messages(flags: u16, event: &Event) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    let keyspace = (flags & KEYSPACE != 0).then(|| {
        let mut channel = format!("__keyspace@{}__:", event.db).into_bytes();
        channel.extend_from_slice(&event.key);
        (channel, event.name.as_bytes().to_vec())
    });
    let keyevent = (flags & KEYEVENT != 0)
        .then(|| (format!("__keyevent@{}__:{}", event.db, event.name).into_bytes(), event.key.clone()));
    keyspace.into_iter().chain(keyevent)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a real 7.0.15 answered to CONFIG GET after each CONFIG SET.
    #[test]
    fn config_get_shows_what_redis_shows() {
        for (set, get) in [
            ("AKE", "AKE"),
            ("KEA", "AKE"),
            ("Ex", "xE"),
            ("", ""),
            ("g$lshzxetmdn", "Am"),
            ("g$lshzxet", "g$lshzxet"),
            ("g$lshzxetd", "A"),
            ("Kx", "xK"),
            ("AKEn", "AKE"),
            ("Kn", "nK"),
            ("KEd", "dKE"),
            ("Ket", "etK"),
            ("mm", "m"),
            ("AA", "A"),
        ] {
            assert_eq!(parse(set).map(render).as_deref(), Ok(get), "{set}");
        }
    }

    #[test]
    fn unknown_letters_are_refused() {
        for bad in ["Q", "kea", "KEA ", "K,E"] {
            assert_eq!(parse(bad), Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_owned()));
        }
    }

    /// `n` is outside `A` but kept: `AKEn` publishes new-key events though it shows as `AKE`.
    #[test]
    fn new_is_kept_under_all() {
        let flags = parse("AKEn").unwrap();
        assert_ne!(flags & NEW, 0);
        assert_eq!(parse("AKE").unwrap() & NEW, 0);
    }

    #[test]
    fn messages_go_keyspace_first_and_only_for_the_enabled_kinds() {
        let event = Event { db: 3, name: "set", key: b"k".to_vec() };
        let got: Vec<_> = messages(KEYSPACE | KEYEVENT, &event).collect();
        assert_eq!(
            got,
            vec![(b"__keyspace@3__:k".to_vec(), b"set".to_vec()), (b"__keyevent@3__:set".to_vec(), b"k".to_vec())]
        );
        assert_eq!(messages(KEYEVENT, &event).count(), 1);
        assert_eq!(messages(0, &event).count(), 0);
    }
}
