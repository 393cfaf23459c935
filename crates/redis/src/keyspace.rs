//! The dataset: databases of typed values with expiry, and the execution context a
//! command runs in. Writes say what must be propagated to replicas and the AOF by
//! calling [`Exec::propagate`]; the server decides where those bytes go.

use std::collections::{BTreeMap, BTreeSet};

/// The longest string value kept inside its key's entry ([`Str`]).
pub const STR_INLINE: usize = 16;

/// A string value's bytes: up to [`STR_INLINE`] of them inside the key's
/// entry of the table (as Redis keeps a short string inside its object, an
/// embstr), longer ones in a buffer of their own. In a keyspace too big for
/// the cache a command on a short value then waits for the entry alone, not
/// for the entry and then for a buffer elsewhere. It derefs to `[u8]` and
/// grows like a `Vec<u8>`; what Redis reports (encodings, memory) goes by the
/// length alone, never by where the bytes are.
pub type Str = smallvec::SmallVec<[u8; STR_INLINE]>;

// As small as the `Vec<u8>` it replaces: an entry of the key table stays at 80 bytes.
const _: () = assert!(std::mem::size_of::<Str>() == std::mem::size_of::<Vec<u8>>());

/// A [`Str`] of `bytes`: kept inside when short, the buffer itself otherwise.
pub fn str_from_vec(bytes: Vec<u8>) -> Str {
    if bytes.len() <= STR_INLINE { Str::from_slice(&bytes) } else { Str::from_vec(bytes) }
}

/// One value of the keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// A string (Redis strings are binary-safe byte strings).
    Str(Str),
    /// A list (its elements, head first, with their memory model's node sizes;
    /// boxed, so that an entry of the key table stays within its 80 bytes).
    List(Box<crate::memory::List>),
    /// A hash, fields in insertion order as a small (listpack-encoded) Redis hash
    /// returns them.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// A set.
    Set(BTreeSet<Vec<u8>>),
    /// A sorted set.
    ZSet(Box<crate::zset::ZSet>),
    /// A stream.
    Stream(Box<crate::stream::Stream>),
}

impl Data {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Data::Str(_) => "string",
            Data::List(_) => "list",
            Data::Hash(_) => "hash",
            Data::Set(_) => "set",
            Data::ZSet(_) => "zset",
            Data::Stream(_) => "stream",
        }
    }
}

/// One database (`SELECT n`).
#[derive(Clone, Debug, Default)]
pub struct Db {
    /// Keys and values, walked in key order (SCAN and KEYS walk this order).
    pub keys: crate::keymap::KeyMap,
    /// Expiry times in ms of the node's wall clock, as Redis keeps them.
    pub expires: BTreeMap<Vec<u8>, i64>,
    /// Cluster mode: the keys of each hash slot, built by the first slot query
    /// and kept up to date by [`Db::insert`] and [`Db::remove`] from then on.
    pub(crate) slot_index: Option<Box<SlotIndex>>,
    /// Keys whose value Redis holds in its big encoding: a hashtable hash or set,
    /// a `raw` string that APPEND grew. Redis never converts back, so this outlives
    /// the shrinking (HDEL, SREM) that the value's shape alone would show.
    pub(crate) big: std::collections::BTreeSet<Vec<u8>>,
    /// Keys whose string reads as an integer but is held as a plain string
    /// (`embstr`, or `raw` past 44 bytes): INCRBYFLOAT's result
    /// (`createStringObjectFromLongDouble`), as RENAME, COPY and MOVE carry it.
    pub(crate) plain: BTreeSet<Vec<u8>>,
    /// Keys some client is blocked on (Redis's `blocking_keys`, whose queues
    /// the server keeps: [`crate::blocking`]).
    pub(crate) blocking: BTreeSet<Vec<u8>>,
    /// Keys made ready for their blocked clients, in the order they became
    /// ready, each once (`ready_keys`).
    pub(crate) ready: Vec<Vec<u8>>,
    /// Each key's access field and what it adds to `used_memory`.
    pub(crate) meta: crate::memory::KeyMeta,
    /// The encodings' thresholds writes to this database go by (the
    /// server's configuration, copied here by [`crate::server::Server`]).
    pub(crate) limits: crate::encoding::Limits,
    /// Keys are listed in `added` as they are created (`dbAdd`), for the `n`
    /// class of keyspace notifications; set by [`Exec::new`] while it is on.
    pub(crate) track_added: bool,
    /// The keys created since [`Exec::notify`] last told of them.
    pub(crate) added: Vec<Vec<u8>>,
}

/// Two databases are equal when they hold the same keys, values and expiry
/// times; the slot index is a cache.
impl PartialEq for Db {
    fn eq(&self, other: &Db) -> bool {
        self.keys == other.keys && self.expires == other.expires
    }
}

impl Eq for Db {}

/// Redis's `slots_to_keys`: per hash slot, its keys newest first.
#[derive(Clone, Debug)]
pub(crate) struct SlotIndex {
    next: u64,
    /// Each key's insertion number.
    seq: BTreeMap<Vec<u8>, u64>,
    /// Per non-empty slot, insertion number → key.
    slots: BTreeMap<u16, BTreeMap<u64, Vec<u8>>>,
}

impl SlotIndex {
    fn build(keys: &crate::keymap::KeyMap) -> SlotIndex {
        let mut ix = SlotIndex { next: 0, seq: BTreeMap::new(), slots: BTreeMap::new() };
        for key in keys.keys() {
            ix.add(key);
        }
        ix
    }

    fn add(&mut self, key: &[u8]) {
        self.next += 1;
        self.seq.insert(key.to_vec(), self.next);
        self.slots.entry(common::slot::key_slot(key)).or_default().insert(self.next, key.to_vec());
    }

    fn remove(&mut self, key: &[u8]) {
        if let Some(n) = self.seq.remove(key) {
            let slot = common::slot::key_slot(key);
            if let Some(keys) = self.slots.get_mut(&slot) {
                keys.remove(&n);
                if keys.is_empty() {
                    self.slots.remove(&slot);
                }
            }
        }
    }
}

impl Db {
    /// Removes a key and its expiry; true if it existed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key);
        self.forget_encoding(key);
        let existed = self.take_value(key).is_some();
        if existed && let Some(ix) = &mut self.slot_index {
            ix.remove(key);
        }
        existed
    }

    /// Removes a key's value (not its expiry): what `remove` and RENAME share.
    pub(crate) fn take_value(&mut self, key: &[u8]) -> Option<Data> {
        let (value, meta) = self.keys.remove_with_meta(key)?;
        self.meta.removed(meta);
        if !self.blocking.is_empty() {
            self.signal_deleted(key, &value);
        }
        Some(value)
    }

    /// Sets a key's value (its expiry is the caller's business).
    pub fn insert(&mut self, key: Vec<u8>, value: Data) {
        let new = (self.slot_index.is_some() || !self.blocking.is_empty() || self.track_added)
            && !self.keys.contains_key(&key);
        if new && let Some(ix) = &mut self.slot_index {
            ix.add(&key);
        }
        if new {
            self.signal_ready(&key, &value);
            self.note_added(&key);
        }
        // A new value object: its encoding follows its shape, as when Redis creates or loads it.
        if self.limits.big_when_created(&value) {
            self.big.insert(key.clone());
        } else {
            self.forget_encoding(&key);
        }
        if self.blocking.is_empty() {
            self.keys.insert(key, value);
        } else if let Some(old) = self.keys.insert(key.clone(), value) {
            self.signal_deleted(&key, &old);
        }
    }

    /// `setKey` for a value that replaces whatever `key` held (a *STORE
    /// command's destination): removed and inserted anew, but a key that
    /// existed is not told of as new.
    pub(crate) fn replace(&mut self, key: Vec<u8>, value: Data) {
        let existed = self.remove(&key);
        self.insert(key, value);
        if existed && self.track_added {
            self.added.pop();
        }
    }

    /// `key` was just created, by [`Db::insert`] or a raw insert into `keys`.
    pub(crate) fn note_added(&mut self, key: &[u8]) {
        if self.track_added {
            self.added.push(key.to_vec());
        }
    }

    /// `signalDeletedKeyAsReady`: a stream deleted or overwritten under
    /// clients blocked on it wakes them (a group read then fails).
    pub(crate) fn signal_deleted(&mut self, key: &[u8], old: &Data) {
        if matches!(old, Data::Stream(_)) {
            self.signal_stream(key);
        }
    }

    /// `signalKeyAsReady(.., OBJ_STREAM)`: XADD, XGROUP DESTROY.
    pub(crate) fn signal_stream(&mut self, key: &[u8]) {
        if self.blocking.contains(key) && !self.ready.iter().any(|k| k == key) {
            self.ready.push(key.to_vec());
        }
    }

    /// `signalKeyAsReady`: a new `value` at `key` (`dbAdd`) may serve clients
    /// blocked on it; they are served after the command.
    pub(crate) fn signal_ready(&mut self, key: &[u8], value: &Data) {
        if crate::blocking::Kind::of(value).is_some()
            && self.blocking.contains(key)
            && !self.ready.iter().any(|k| k == key)
        {
            self.ready.push(key.to_vec());
        }
    }

    /// The value of `key` was replaced in place by one in its compact encoding (INCR).
    pub(crate) fn forget_encoding(&mut self, key: &[u8]) {
        if !self.big.is_empty() {
            self.big.remove(key);
        }
        if !self.plain.is_empty() {
            self.plain.remove(key);
        }
    }

    /// The marks of `key`'s encoding beyond its value's shape (big, plain),
    /// which the value object keeps when COPY or MOVE takes it elsewhere.
    pub(crate) fn encoding_marks(&self, key: &[u8]) -> (bool, bool) {
        (self.big.contains(key), self.plain.contains(key))
    }

    /// Gives `key` the marks [`Db::encoding_marks`] read from another key.
    pub(crate) fn set_encoding_marks(&mut self, key: &[u8], (big, plain): (bool, bool)) {
        if big {
            self.convert(key);
        }
        if plain {
            self.plain.insert(key.to_vec());
        }
    }

    /// The value of `key` was written in place; Redis converts it for good if it
    /// outgrew its compact encoding ([`crate::encoding::Limits::outgrown`]; a
    /// string whenever APPEND touches it).
    pub(crate) fn note_growth(&mut self, key: &[u8]) {
        // The value first: most writes leave a compact value compact, and
        // `big` is an ordered set, the dearer lookup.
        if self.keys.get(key).is_some_and(|value| self.limits.outgrown(value)) && !self.big.contains(key) {
            self.big.insert(key.to_vec());
        }
    }

    /// The value of `key` was converted to its big encoding for good, whatever
    /// its size (SORT on a sorted set, HSET given a long argument).
    pub(crate) fn convert(&mut self, key: &[u8]) {
        if !self.big.contains(key) {
            self.big.insert(key.to_vec());
        }
    }

    /// OBJECT ENCODING's answer for `key`'s value.
    pub(crate) fn encoding(&self, key: &[u8]) -> Option<&'static str> {
        let big = self.big.contains(key);
        Some(match self.keys.get(key)? {
            Data::Str(_) if big => "raw",
            Data::Str(s) if self.plain.contains(key) && s.len() <= 44 => "embstr",
            Data::Str(s) if self.plain.contains(key) => "raw",
            Data::Str(s) => crate::rdb::string_encoding(s),
            // Redis 7.0 lists are always quicklists (listpack lists came in 7.2).
            Data::List(_) => "quicklist",
            Data::Hash(_) if big => "hashtable",
            Data::Hash(_) => "listpack",
            Data::Set(_) if big => "hashtable",
            Data::Set(_) => "intset",
            Data::ZSet(_) if big => "skiplist",
            Data::ZSet(_) => "listpack",
            Data::Stream(_) => "stream",
        })
    }

    /// Empties the database (FLUSHDB); a tracked slot index stays tracked, empty.
    pub fn clear(&mut self) {
        // `scanDatabaseForDeletedStreams`.
        let streams: Vec<Vec<u8>> =
            self.blocking.iter().filter(|k| matches!(self.keys.get(k), Some(Data::Stream(_)))).cloned().collect();
        for key in streams {
            self.signal_stream(&key);
        }
        self.keys.clear();
        self.expires.clear();
        self.big.clear();
        self.plain.clear();
        self.meta.clear();
        if let Some(ix) = &mut self.slot_index {
            **ix = SlotIndex::build(&self.keys);
        }
    }

    /// The slot index, (re)built if there is none or keys came or went behind
    /// its back (a raw `keys` insert or remove changes the count).
    fn slot_index(&mut self) -> &mut SlotIndex {
        let stale = self.slot_index.as_ref().is_none_or(|ix| ix.seq.len() != self.keys.len());
        if stale {
            self.slot_index = Some(Box::new(SlotIndex::build(&self.keys)));
        }
        self.slot_index.as_mut().expect("built above")
    }

    /// Starts keeping the slot index (cluster mode), so that later keys are
    /// listed in insertion order; a no-op once it exists.
    pub fn track_slots(&mut self) {
        if self.slot_index.is_none() {
            self.slot_index();
        }
    }

    /// How many keys hash to `slot` (`countKeysInSlot`).
    pub fn count_keys_in_slot(&mut self, slot: usize) -> usize {
        self.slot_index().slots.get(&(slot as u16)).map_or(0, BTreeMap::len)
    }

    /// Up to `max` keys of `slot`, newest first, as GETKEYSINSLOT lists them.
    pub fn keys_in_slot(&mut self, slot: usize, max: usize) -> Vec<Vec<u8>> {
        let ix = self.slot_index();
        ix.slots.get(&(slot as u16)).map(|keys| keys.values().rev().take(max).cloned().collect()).unwrap_or_default()
    }

    /// Whether a key exists but its time has passed.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.expires.get(key).is_some_and(|&at| at <= now_ms)
    }
}

/// SWAPDB (`dbSwapDatabases`): the data of databases `a` and `b` trade
/// places, the clients blocked on each index stay, and any of their keys that
/// now holds a list, sorted set or stream is ready (`scanDatabaseForReadyKeys`),
/// as is one whose stream went away (`scanDatabaseForDeletedStreams`).
pub(crate) fn swap_dbs(dbs: &mut [Db], a: usize, b: usize) {
    dbs.swap(a, b);
    if a == b {
        return;
    }
    let (blocking, ready) = (std::mem::take(&mut dbs[a].blocking), std::mem::take(&mut dbs[a].ready));
    dbs[a].blocking = std::mem::replace(&mut dbs[b].blocking, blocking);
    dbs[a].ready = std::mem::replace(&mut dbs[b].ready, ready);
    for (i, other) in [(a, b), (b, a)] {
        // What the clients of `i` were blocked on now sits at `other`: a stream gone is a wake-up too.
        let now_ready: Vec<Vec<u8>> = dbs[i]
            .blocking
            .iter()
            .filter(|k| {
                dbs[i].keys.get(k).and_then(crate::blocking::Kind::of).is_some()
                    || matches!(dbs[other].keys.get(k), Some(Data::Stream(_)))
            })
            .cloned()
            .collect();
        let db = &mut dbs[i];
        for key in now_ready {
            if !db.ready.contains(&key) {
                db.ready.push(key);
            }
        }
    }
}

/// The keys created in `dbs` since the last call, as `new` events.
pub(crate) fn take_added(dbs: &mut [Db], events: &mut Vec<crate::notify::Event>) {
    for (i, db) in dbs.iter_mut().enumerate().filter(|(_, d)| !d.added.is_empty()) {
        events.extend(db.added.drain(..).map(|key| crate::notify::Event { db: i, name: "new", key }));
    }
}

/// Where a command's propagation goes: encoded commands for one database. The
/// server prefixes a SELECT per destination when the database changes.
#[derive(Debug, Default)]
pub struct Feed {
    /// RESP-encoded commands to propagate, in order.
    pub bytes: Vec<u8>,
    /// The database those commands apply to.
    pub db: usize,
    /// Whether to record propagation at all (false on replicas: a writable
    /// replica's local writes are not propagated, and its own stream is the
    /// master's bytes, forwarded verbatim).
    pub enabled: bool,
    /// The command runs inside EXEC, whose MULTI/EXEC wraps everything it
    /// propagates (so a command propagating several commands does not wrap
    /// them itself).
    pub in_multi: bool,
    /// Commands propagated beyond one by commands that propagate several
    /// (SPOP with a count: one SREM per member), which EXEC counts when it
    /// decides whether to wrap.
    pub also: usize,
    /// The keys clients WATCH, which propagated writes touch.
    pub(crate) watch: crate::watch::Watches,
    /// Keys deleted because their time had come (INFO's `expired_keys`).
    pub(crate) expired: u64,
    /// Read lookups that found their key, and those that did not
    /// (`keyspace_hits`, `keyspace_misses`; see [`Exec::read`]).
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    /// `notify-keyspace-events` ([`crate::notify`]'s classes), copied here by the server.
    pub(crate) notify: u16,
    /// The keyspace events raised since the server last published them.
    pub(crate) events: Vec<crate::notify::Event>,
}

/// What a command runs against.
pub struct Exec<'a> {
    /// All databases (FLUSHALL touches every one).
    pub dbs: &'a mut [Db],
    /// The client's selected database.
    pub db: usize,
    /// The node's wall clock in ms.
    pub now_ms: i64,
    /// Masters delete a logically expired key when it is touched and propagate a
    /// DEL; replicas only hide it and wait for the master's DEL.
    pub is_master: bool,
    /// Changes made (Redis's `server.dirty`): drives save points and tells
    /// whether a write did anything.
    pub dirty: u64,
    /// Propagation sink.
    pub feed: &'a mut Feed,
    /// The client speaks RESP3 (replies whose shape differs, such as
    /// ZRANGE WITHSCORES, are built for it).
    pub resp3: bool,
    /// Cluster mode (COPY, MOVE and SWAPDB refuse other databases there).
    pub cluster: bool,
    /// A draw from the process's seeded random stream, for the commands the
    /// table marks random (RANDOMKEY); 0 for the others.
    pub random: u64,
    /// The node's clock in ms even where `now_ms` is frozen for expiry (a
    /// replica applying its master's stream): stream IDs, delivery and seen times.
    pub clock_ms: i64,
    /// The command comes from the master or the AOF (Redis's `mustObeyClient`).
    pub obey: bool,
    /// How the command's key lookups touch the keys' access fields.
    pub(crate) access: crate::memory::Access,
    /// Small integers are shared objects (no LRU/LFU policy with a limit).
    pub(crate) shared_integers: bool,
    /// The running command's arguments and the bytes they came in, when
    /// those are exactly what [`resp::encode_command`] makes of them
    /// (`RequestParser::raw_command`): a command that propagates its own
    /// arguments copies the bytes instead of encoding them again.
    pub(crate) request: Option<(&'a [Vec<u8>], &'a [u8])>,
}

impl<'a> Exec<'a> {
    /// A context on `dbs` at database `db`. Only a master records propagation:
    /// a replica's own writes stay local.
    pub fn new(dbs: &'a mut [Db], feed: &'a mut Feed, is_master: bool, db: usize, now_ms: i64) -> Exec<'a> {
        feed.enabled = is_master;
        if feed.notify & crate::notify::NEW != 0 {
            // Databases a load replaced start untracked.
            dbs.iter_mut().for_each(|d| d.track_added = true);
        }
        Exec {
            dbs,
            db,
            now_ms,
            is_master,
            dirty: 0,
            feed,
            resp3: false,
            cluster: false,
            random: 0,
            clock_ms: now_ms,
            obey: false,
            access: crate::memory::Access::default(),
            shared_integers: true,
            request: None,
        }
    }

    /// Whether `key` of the selected database, if a set, is an intset.
    pub(crate) fn is_intset(&self, key: &[u8]) -> bool {
        !self.dbs[self.db].big.contains(key)
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.dbs[self.db]
    }

    /// Lazy expiry as `expireIfNeeded` does it: true if `key` is logically expired.
    /// On a master the key is deleted and a DEL propagated.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        let now = self.now_ms;
        if !self.dbs[self.db].is_expired(key, now) {
            return false;
        }
        if self.is_master {
            self.dbs[self.db].remove(key);
            self.dirty += 1;
            self.feed.expired += 1;
            self.propagate(&[b"DEL", key]);
            self.notify(crate::notify::EXPIRED, "expired", key);
        }
        true
    }

    /// The live value of `key` (expired keys read as absent).
    pub fn lookup(&mut self, key: &[u8]) -> Option<&Data> {
        if self.expire_if_needed(key) {
            return None;
        }
        self.dbs[self.db].keys.get(key)
    }

    /// The live value of `key`, looked up as Redis's `lookupKeyRead` does for
    /// the commands that read it (GET, EXISTS, LRANGE, TTL...): counted as a
    /// keyspace hit or miss. Writes' lookups, and a command's own internal
    /// checks, use [`Exec::lookup`] and count nothing. A miss is a `keymiss`
    /// keyspace event (the `m` class).
    #[inline]
    pub fn read(&mut self, key: &[u8]) -> Option<&Data> {
        self.read_telling(key, true)
    }

    /// [`Exec::read`] without the `keymiss` event (`LOOKUP_NONOTIFY`: OBJECT).
    pub(crate) fn read_untold(&mut self, key: &[u8]) -> Option<&Data> {
        self.read_telling(key, false)
    }

    #[inline]
    fn read_telling(&mut self, key: &[u8], tell: bool) -> Option<&Data> {
        // One lookup unless misses are told of.
        let told = tell && self.feed.notify & crate::notify::KEY_MISS != 0;
        if self.expire_if_needed(key) || (told && !self.dbs[self.db].keys.contains_key(key)) {
            self.feed.misses += 1;
            if tell {
                self.notify(crate::notify::KEY_MISS, "keymiss", key);
            }
            return None;
        }
        let value = self.dbs[self.db].keys.get(key);
        if value.is_some() {
            self.feed.hits += 1;
        } else {
            self.feed.misses += 1;
        }
        value
    }

    /// The live value of `key`, mutably.
    pub fn lookup_mut(&mut self, key: &[u8]) -> Option<&mut Data> {
        if self.expire_if_needed(key) {
            // A replica keeps the expired key until its master's DEL, but a write
            // (possible on a writable replica) treats it as absent and replaces it.
            if self.dbs[self.db].remove(key) && !self.is_master && !self.obey {
                self.feed.expired += 1;
            }
            return None;
        }
        self.dbs[self.db].keys.get_mut(key)
    }

    /// `notifyKeyspaceEvent`: `event` of `class` happened to `key` of the
    /// selected database; kept for the server to publish if the class is on.
    #[inline]
    pub(crate) fn notify(&mut self, class: u16, event: &'static str, key: &[u8]) {
        self.notify_in(self.db, class, event, key);
    }

    /// [`Exec::notify`] for a key of database `db` (MOVE, COPY ... DB).
    /// Inlined down to one test while notifications are off (the default).
    #[inline]
    pub(crate) fn notify_in(&mut self, db: usize, class: u16, event: &'static str, key: &[u8]) {
        if self.feed.notify != 0 {
            self.raise(db, class, event, key);
        }
    }

    #[inline(never)]
    fn raise(&mut self, db: usize, class: u16, event: &'static str, key: &[u8]) {
        if self.feed.notify & crate::notify::NEW != 0 {
            // `dbAdd` told of them as it made them: before the command's own events.
            take_added(self.dbs, &mut self.feed.events);
        }
        let on = crate::notify::KEYSPACE | crate::notify::KEYEVENT;
        if self.feed.notify & class != 0 && self.feed.notify & on != 0 {
            self.feed.events.push(crate::notify::Event { db, name: event, key: key.to_vec() });
        }
    }

    /// Records a command for replicas and the AOF, in the selected database;
    /// the keys it wrote are touched for WATCH.
    pub fn propagate<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        if !self.feed.watch.is_empty() {
            self.touch_watched(argv);
        }
        if self.feed.enabled {
            self.feed.db = self.db;
            match self.request {
                Some((args, raw)) if same_slice(argv, args) => self.feed.bytes.extend_from_slice(raw),
                _ => resp::encode_command(argv, &mut self.feed.bytes),
            }
        }
    }
}

/// Whether `argv` is `args` itself (the same arguments at the same place),
/// not merely equal: then the bytes `args` came in encode `argv`.
fn same_slice<A>(argv: &[A], args: &[Vec<u8>]) -> bool {
    std::mem::size_of::<A>() == std::mem::size_of::<Vec<u8>>()
        && argv.len() == args.len()
        && std::ptr::eq(argv.as_ptr().cast::<u8>(), args.as_ptr().cast::<u8>())
}

impl Exec<'_> {
    /// The keys of a propagated write, by its command's key positions, touched.
    fn touch_watched<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        let args: Vec<Vec<u8>> = argv.iter().map(|a| a.as_ref().to_vec()).collect();
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let Some(command) = crate::command_table::lookup(&name) else { return };
        for i in command.keys.indexes(&args) {
            let exists = self.dbs[self.db].keys.contains_key(&args[i]);
            self.feed.watch.touched(self.db, &args[i], exists);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_index_follows_inserts_and_removes_and_rebuilds_after_raw_edits() {
        let mut db = Db::default();
        db.insert(b"{a}1".to_vec(), Data::Str(b"x"[..].into()));
        let slot = common::slot::key_slot(b"a") as usize;
        assert_eq!(db.count_keys_in_slot(slot), 1);
        db.insert(b"{a}2".to_vec(), Data::Str(b"x"[..].into()));
        db.insert(b"{a}1".to_vec(), Data::Str(b"y"[..].into()));
        assert_eq!(db.keys_in_slot(slot, 10), vec![b"{a}2".to_vec(), b"{a}1".to_vec()]);
        assert!(db.remove(b"{a}2"));
        assert_eq!(db.keys_in_slot(slot, 10), vec![b"{a}1".to_vec()]);
        // A raw insert behind the index's back changes the count: the index is rebuilt.
        db.keys.insert(b"{a}3".to_vec(), Data::Str(b"z"[..].into()));
        assert_eq!(db.count_keys_in_slot(slot), 2);
        db.keys.clear();
        assert_eq!(db.count_keys_in_slot(slot), 0);
        assert_eq!(db, Db::default(), "the index is not part of equality");
    }

    /// A command's own arguments propagate as the bytes they came in; an
    /// equal copy of them, or a part, is encoded.
    #[test]
    fn propagation_copies_the_request_only_for_its_own_arguments() {
        let args = vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()];
        let (mut dbs, mut feed) = (vec![Db::default()], Feed::default());
        let mut x = Exec::new(&mut dbs, &mut feed, true, 0, 0);
        // Not what the arguments encode to, to tell which way each went.
        x.request = Some((&args, b"as sent;"));
        x.propagate(&args);
        x.propagate(&args.clone());
        x.propagate(&args[..2]);
        x.propagate(&[b"SET".as_slice(), b"k", b"v"]);
        let mut want = b"as sent;".to_vec();
        resp::encode_command(&args, &mut want);
        resp::encode_command(&args[..2], &mut want);
        resp::encode_command(&args, &mut want);
        assert_eq!(String::from_utf8_lossy(&feed.bytes), String::from_utf8_lossy(&want));
    }

    /// FLUSHDB then new keys: the slot lists hold only the new keys, newest first,
    /// even when the new count equals the old one.
    #[test]
    fn slot_index_survives_flush() {
        let mut db = Db::default();
        let slot = common::slot::key_slot(b"a") as usize;
        db.insert(b"{a}old1".to_vec(), Data::Str(b"x"[..].into()));
        db.insert(b"{a}old2".to_vec(), Data::Str(b"x"[..].into()));
        assert_eq!(db.count_keys_in_slot(slot), 2);
        db.clear();
        db.insert(b"{a}new2".to_vec(), Data::Str(b"x"[..].into()));
        db.insert(b"{a}new1".to_vec(), Data::Str(b"x"[..].into()));
        assert_eq!(db.keys_in_slot(slot, 10), vec![b"{a}new1".to_vec(), b"{a}new2".to_vec()]);
    }
}
