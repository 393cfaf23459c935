//! What lab tooling (conditions, reports, benchmarks) may read of a running
//! server. Everything here only looks, and hands out copies or plain borrowed
//! bytes, never the server's own structures: the node's fields stay
//! `pub(crate)`, so a condition cannot come to depend on how they are laid out.

use crate::keyspace::Data;
use crate::server::Server;

/// A key as GET or TYPE would see it at a given wall-clock time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyView<'a> {
    /// Absent, or logically expired.
    Missing,
    /// A string's bytes.
    Str(&'a [u8]),
    /// Another type, by the name TYPE prints.
    Other(&'static str),
}

/// A cluster node as one node's table knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerView {
    /// Its 40-character node id.
    pub id: String,
    /// Its announced address.
    pub ip: String,
    /// Its client port.
    pub port: u16,
    /// Its flags as CLUSTER NODES prints them (`myself,master`, `slave,fail?`, ...).
    pub flags: String,
}

/// A run of consecutive hash slots one node's table gives to the same owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotRangeView {
    /// The first slot of the run.
    pub first: u16,
    /// The last slot of the run (inclusive).
    pub last: u16,
    /// The owner's node id.
    pub owner: String,
    /// The owner's configEpoch as this table knows it.
    pub epoch: u64,
}

/// What the report keeps of a cluster node's final state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSummary {
    /// Its own node id.
    pub id: String,
    /// `cluster_state:ok`.
    pub state_ok: bool,
    /// Its own flags.
    pub flags: String,
    /// The id of its master, when it is a replica.
    pub master: Option<String>,
    /// Slots it serves.
    pub slots: usize,
    /// `cluster_current_epoch`.
    pub current_epoch: u64,
    /// Its own config epoch.
    pub config_epoch: u64,
    /// Nodes in its table, itself included.
    pub known_nodes: usize,
    /// Bus messages sent, all types.
    pub bus_messages_sent: u64,
    /// Bus messages received, all types.
    pub bus_messages_received: u64,
}

impl Server {
    /// Key `key` of database `db` at wall-clock `now_ms`; `None` when there is
    /// no such database.
    pub fn key_view(&self, db: usize, key: &[u8], now_ms: i64) -> Option<KeyView<'_>> {
        let db = self.dbs.get(db)?;
        if db.is_expired(key, now_ms) {
            return Some(KeyView::Missing);
        }
        Some(match db.keys.get(key) {
            None => KeyView::Missing,
            Some(Data::Str(v)) => KeyView::Str(v),
            Some(other) => KeyView::Other(other.type_name()),
        })
    }

    /// A digest of every database's keys, values and expiry times, in the
    /// spirit of DEBUG DIGEST (not its bytes): two nodes holding the same
    /// dataset give the same digest. As DEBUG DIGEST composes them, it is
    /// the XOR of one digest per key, so it does not depend on the keys'
    /// order; values keep their digests until written, so a digest after a
    /// few writes rehashes only the values they wrote.
    pub fn dataset_digest(&self) -> u64 {
        let mut digest = 0;
        // An empty database adds nothing (most of the sixteen are).
        for (i, db) in self.dbs.iter().enumerate().filter(|(_, db)| !db.keys.is_empty()) {
            for (key, value) in db.keys.digests_unordered() {
                let mut h = sim::StableHasher::default();
                h.word(i as u64);
                h.bytes(key);
                match db.expires.get(key) {
                    Some(&at) => {
                        h.word(1);
                        h.word(at as u64);
                    }
                    None => h.word(0),
                }
                h.word(value);
                digest ^= h.finish();
            }
        }
        digest
    }

    /// The digest of the value of `key` in database 0 (see
    /// [`Server::dataset_digest`]): equal values, equal digests.
    pub fn key_digest(&self, key: &[u8]) -> Option<u64> {
        self.dbs.first()?.keys.digest(key)
    }

    /// The text of CLUSTER INFO; `None` outside cluster mode.
    pub fn cluster_info_text(&self) -> Option<String> {
        self.cluster.is_some().then(|| self.cluster_info())
    }

    /// The value of one `field` of CLUSTER INFO, as the text gives it;
    /// `None` outside cluster mode or when it has no such field. Cheaper
    /// than the text: waits read a field at every poll.
    pub fn cluster_info_field(&self, field: &str) -> Option<String> {
        self.cluster.as_ref()?;
        self.cluster_info_field_of(field)
    }

    /// The INFO replication section as INFO prints it.
    pub fn info_replication_text(&self, now_ms: i64) -> String {
        self.info_replication(now_ms)
    }

    /// The address this node replicates from (`master_host`, `master_port`
    /// as INFO prints them), when it is a replica.
    pub fn master_address(&self) -> Option<(String, u16)> {
        self.repl.master.as_ref().map(|m| (m.host.to_string(), m.port))
    }

    /// [`Server::master_address`], borrowed.
    pub fn master_host_port(&self) -> Option<(&str, u16)> {
        self.repl.master.as_ref().map(|m| (m.host.as_str(), m.port))
    }

    /// This node's cluster table; `None` outside cluster mode.
    pub fn cluster_view(&self) -> Option<ClusterView<'_>> {
        self.cluster.as_deref().map(|c| ClusterView { c })
    }
}

/// A read-only view of one node's cluster table.
#[derive(Clone, Copy)]
pub struct ClusterView<'a> {
    c: &'a crate::cluster::Cluster,
}

impl ClusterView<'_> {
    fn peer(&self, i: usize) -> PeerView {
        let n = self.c.node(i);
        PeerView { id: n.name().to_string(), ip: n.ip().to_string(), port: n.port(), flags: n.flag_names() }
    }

    /// This node's own id.
    pub fn my_id(&self) -> String {
        self.c.me().name().to_string()
    }

    /// The node that serves `slot` in this node's table.
    pub fn slot_owner(&self, slot: usize) -> Option<PeerView> {
        self.c.owner(slot % crate::cluster::SLOTS).map(|i| self.peer(i))
    }

    /// The node with id `id`, if this node knows it.
    pub fn peer_by_id(&self, id: &str) -> Option<PeerView> {
        self.c.lookup_str(id).map(|i| self.peer(i))
    }

    /// The first run (in [`ClusterView::slot_runs`] order) whose owner this
    /// table flags `fail`: no id is looked up (invariants ask at every poll).
    pub fn first_failed_run(&self) -> Option<usize> {
        self.c.with_owner_runs(|runs| runs.iter().position(|&(_, _, o)| self.c.node(o).failed()))
    }

    /// The first node (in id order) with client port `port`.
    pub fn peer_by_port(&self, port: u16) -> Option<PeerView> {
        self.c.by_name.values().copied().find(|&i| self.c.node(i).port() == port).map(|i| self.peer(i))
    }

    /// Every assigned slot, as runs of the same owner (by id) in slot order.
    pub fn slot_runs(&self) -> Vec<(u16, u16, String)> {
        let name = |o: usize| self.c.node(o).name().to_string();
        self.c.owner_runs().into_iter().map(|(first, last, o)| (first as u16, last as u16, name(o))).collect()
    }

    /// The configEpoch this table gives each run's owner, in
    /// [`ClusterView::slot_runs`] order (without building the runs' ids),
    /// into `out` (cleared first, to reuse its allocation: invariants read
    /// them at every poll).
    pub fn run_epochs_into(&self, out: &mut Vec<u64>) {
        out.clear();
        self.c.with_owner_runs(|runs| out.extend(runs.iter().map(|&(_, _, o)| self.c.epoch_of(o))));
    }

    /// Pushes onto `out` what the cluster invariants read of this table's
    /// node entries beyond its runs (which [`ClusterView::slots_version`]
    /// stands for): [`ClusterView::first_failed_run`] plus one (0 for
    /// none), the number of runs, then each run's
    /// [`ClusterView::run_epochs_into`] epoch. One pass over the cached
    /// runs, nothing built: equal words, equal epochs and failed run
    /// (invariants compare them at every poll).
    pub fn epoch_words_into(&self, out: &mut Vec<u64>) {
        let at = out.len();
        out.push(0);
        self.c.with_owner_runs(|runs| {
            out.push(runs.len() as u64);
            let mut failed = 0;
            for (k, &(_, _, o)) in runs.iter().enumerate() {
                if failed == 0 && self.c.node(o).failed() {
                    failed = k as u64 + 1;
                }
                out.push(self.c.epoch_of(o));
            }
            out[at] = failed;
        });
    }

    /// A number that moves whenever `currentEpoch`,
    /// [`ClusterView::slots_version`] or [`ClusterView::epoch_words_into`]'s
    /// words change, and never comes back to an earlier value (the table
    /// lives as long as its server): what the cluster invariants read of
    /// the table, in one word. The words are read again only when the
    /// versions (slots, node entries, currentEpoch) moved, and the table
    /// keeps them, so every invariant asking at one poll shares one read.
    pub fn view_generation(&self) -> u64 {
        let c = self.c;
        let at = (c.slots_version, c.entries_version, c.current_epoch);
        let mut v = c.view_words.borrow_mut();
        if v.at == Some(at) {
            #[cfg(debug_assertions)]
            {
                let mut fresh = vec![c.slots_version, c.current_epoch];
                self.epoch_words_into(&mut fresh);
                assert_eq!(v.words, fresh, "a table's epochs moved, its versions did not");
            }
            return v.generation;
        }
        let mut fresh = std::mem::take(&mut v.scratch);
        fresh.clear();
        fresh.extend([c.slots_version, c.current_epoch]);
        self.epoch_words_into(&mut fresh);
        if fresh != v.words {
            std::mem::swap(&mut v.words, &mut fresh);
            v.generation += 1;
        }
        v.scratch = fresh;
        v.at = Some(at);
        v.generation
    }

    /// Changes whenever [`ClusterView::slot_runs`] may have changed.
    pub fn slots_version(&self) -> u64 {
        self.c.slots_version
    }

    /// Changes whenever any entry of the node table may have changed (a
    /// node's flags, configEpoch, master, name; nodes added or deleted):
    /// with [`ClusterView::slots_version`] unchanged too, the runs, their
    /// owners' epochs and [`ClusterView::first_failed_run`] are as before.
    pub fn entries_version(&self) -> u64 {
        self.c.entries_version
    }

    /// The configEpoch this table gives node `id` (its master's, for a replica).
    pub fn epoch_of_id(&self, id: &str) -> Option<u64> {
        self.c.lookup_str(id).map(|i| self.c.epoch_of(i))
    }

    /// Every assigned slot, as runs of the same owner in slot order, with the
    /// owner's configEpoch.
    pub fn slot_ranges(&self) -> Vec<SlotRangeView> {
        self.slot_runs()
            .into_iter()
            .map(|(first, last, owner)| {
                let epoch = self.epoch_of_id(&owner).unwrap_or(0);
                SlotRangeView { first, last, owner, epoch }
            })
            .collect()
    }

    /// `cluster_current_epoch`.
    pub fn current_epoch(&self) -> u64 {
        self.c.current_epoch
    }

    /// This node's master, when it is a replica.
    pub fn my_master(&self) -> Option<PeerView> {
        let me = self.c.me();
        me.slaveof.filter(|_| me.is_slave()).map(|m| self.peer(m))
    }

    /// What the report keeps of this node's cluster state.
    pub fn summary(&self) -> ClusterSummary {
        let c = self.c;
        let me = c.me();
        ClusterSummary {
            id: me.name().to_string(),
            state_ok: c.state_ok,
            flags: me.flag_names(),
            master: me.slaveof.map(|m| c.node(m).name().to_string()),
            slots: me.numslots as usize,
            current_epoch: c.current_epoch,
            config_epoch: c.epoch_of(c.myself),
            known_nodes: c.known_nodes(),
            bus_messages_sent: c.stats_sent.iter().sum::<u64>(),
            bus_messages_received: c.stats_received.iter().sum::<u64>(),
        }
    }
}

/// One value's digest, as [`Server::dataset_digest`] mixes it in.
pub(crate) fn value_digest(value: &Data) -> u64 {
    let mut h = sim::StableHasher::default();
    digest_value(value, &mut h);
    h.finish()
}

/// Mixes one value into a digest: its type, then its contents in the
/// order that makes two equal values give equal words (a set's and a sorted
/// set's orders are their own; a hash's is its insertion order, as HGETALL
/// shows it, so two hashes built in other orders differ as they do on screen).
fn digest_value(value: &Data, h: &mut sim::StableHasher) {
    match value {
        Data::Str(s) => {
            h.word(0);
            h.bytes(s);
        }
        Data::List(items) => {
            h.word(1);
            h.word(items.len() as u64);
            h.word(items.fingerprint());
        }
        Data::Hash(fields) => {
            h.word(2);
            h.word(fields.len() as u64);
            for (f, v) in fields {
                h.bytes(f);
                h.bytes(v);
            }
        }
        Data::Set(members) => {
            h.word(3);
            h.word(members.len() as u64);
            members.iter().for_each(|m| h.bytes(m));
        }
        Data::ZSet(z) => {
            h.word(4);
            h.word(z.len() as u64);
            for (m, score) in z.iter() {
                h.bytes(m);
                h.word(score.to_bits());
            }
        }
        // Streams are rare in invariant checks: their whole state (entries,
        // node layout, groups) as the type prints it.
        Data::Stream(stream) => {
            h.word(5);
            h.bytes(format!("{stream:?}").as_bytes());
        }
    }
}
