//! A node's disk, modelled as the OS presents it: what a process writes lands in
//! the page cache at once and is visible to reads; it becomes *durable* only on
//! `fsync` or when the OS writes dirty pages back by itself (after about 30 s, as
//! Linux's `dirty_expire_centisecs` does). A SIGKILL keeps the page cache (the OS
//! still flushes it); a host crash keeps only what was durable. This is what makes
//! `appendfsync always|everysec|no` differ under each fault.

use crate::time::Instant;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a dirty page may stay unwritten before the OS flushes it.
pub const DIRTY_EXPIRE: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Default)]
struct File {
    /// What reads see (the page cache).
    data: Vec<u8>,
    /// What survives a power loss.
    durable: Durable,
    /// When the oldest unsynced write happened; `None` when clean.
    dirty_since: Option<Instant>,
}

#[derive(Clone, Debug, Default)]
enum Durable {
    /// Never made durable: a power loss removes the file.
    #[default]
    Absent,
    /// The durable content is the first `n` bytes of `data`; appends keep this cheap.
    Prefix(usize),
    /// The file was rewritten since it was last made durable.
    Separate(Vec<u8>),
}

/// One node's files. Paths are plain names (`appendonly.aof`, `nodes.conf`);
/// the map is ordered so listings are deterministic.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    files: BTreeMap<String, File>,
    /// Set by the kernel before each input, so writes know when they happened.
    pub(crate) clock: Instant,
    /// Bytes written and fsyncs issued, for reports.
    stats: DiskStats,
}

/// Counters of a disk's activity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    /// Bytes written through `write` and `append`.
    pub bytes_written: u64,
    /// Number of `fsync` calls.
    pub fsyncs: u64,
}

impl Disk {
    /// Current content of `path` as reads see it.
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(|f| f.data.as_slice())
    }

    /// Whether `path` exists.
    pub fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Size of `path` in bytes, if it exists.
    pub fn len(&self, path: &str) -> Option<usize> {
        self.files.get(path).map(|f| f.data.len())
    }

    /// Whether the disk holds no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// File names in sorted order.
    pub fn list(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Runs `change` on the file at `path` (created empty if needed: its
    /// name is copied only then; an existing file is found in one lookup),
    /// marks it dirty and counts `written` bytes.
    fn change(&mut self, path: &str, written: usize, change: impl FnOnce(&mut File)) {
        let now = self.clock;
        self.stats.bytes_written += written as u64;
        let apply = |file: &mut File| {
            change(file);
            file.dirty_since.get_or_insert(now);
        };
        match self.files.get_mut(path) {
            Some(file) => apply(file),
            None => {
                let mut file = File::default();
                apply(&mut file);
                self.files.insert(path.to_owned(), file);
            }
        }
    }

    /// Creates or truncates `path` and writes `bytes` (not yet durable).
    pub fn write(&mut self, path: &str, bytes: &[u8]) {
        self.change(path, bytes.len(), |file| {
            if let Durable::Prefix(n) = file.durable {
                file.durable = Durable::Separate(file.data[..n].to_vec());
            }
            file.data.clear();
            file.data.extend_from_slice(bytes);
        });
    }

    /// Writes `bytes` at the start of `path` without truncating it (a
    /// `pwrite` at offset 0): a longer old content keeps its tail. Creates
    /// `path` if needed (not yet durable).
    pub fn overwrite(&mut self, path: &str, bytes: &[u8]) {
        self.change(path, bytes.len(), |file| {
            if let Durable::Prefix(n) = file.durable
                && n > 0
                && !bytes.is_empty()
            {
                file.durable = Durable::Separate(file.data[..n].to_vec());
            }
            let common = bytes.len().min(file.data.len());
            file.data[..common].copy_from_slice(&bytes[..common]);
            file.data.extend_from_slice(&bytes[common..]);
        });
    }

    /// Appends `bytes` to `path`, creating it if needed (not yet durable).
    pub fn append(&mut self, path: &str, bytes: &[u8]) {
        self.change(path, bytes.len(), |file| file.data.extend_from_slice(bytes));
    }

    /// Truncates `path` to `len` bytes (Redis does this to drop a torn AOF tail).
    pub fn truncate(&mut self, path: &str, len: usize) {
        let now = self.clock;
        if let Some(file) = self.files.get_mut(path) {
            if len >= file.data.len() {
                return;
            }
            if let Durable::Prefix(n) = file.durable
                && n > len
            {
                file.durable = Durable::Separate(file.data[..n].to_vec());
            }
            file.data.truncate(len);
            file.dirty_since.get_or_insert(now);
        }
    }

    /// Makes the current content of `path` durable. Returns false if it does not exist.
    pub fn fsync(&mut self, path: &str) -> bool {
        self.stats.fsyncs += 1;
        match self.files.get_mut(path) {
            Some(file) => {
                file.durable = Durable::Prefix(file.data.len());
                file.dirty_since = None;
                true
            }
            None => false,
        }
    }

    /// Atomically renames `from` to `to`, replacing `to`. The rename is journaled
    /// with the file's durable state (Redis 7 fsyncs the directory after its
    /// temp-file-and-rename dance), so a synced temp file renamed into place
    /// survives a crash. Returns false if `from` does not exist.
    pub fn rename(&mut self, from: &str, to: &str) -> bool {
        match self.files.remove(from) {
            Some(file) => {
                self.files.insert(to.to_owned(), file);
                true
            }
            None => false,
        }
    }

    /// Deletes `path`. Returns false if it did not exist.
    pub fn remove(&mut self, path: &str) -> bool {
        self.files.remove(path).is_some()
    }

    /// Activity counters.
    pub fn stats(&self) -> DiskStats {
        self.stats
    }

    /// Whether any file holds writes that are not durable yet.
    pub fn is_dirty(&self) -> bool {
        self.files.values().any(|f| f.dirty_since.is_some())
    }

    /// When the OS's writeback will next find something expired, if ever.
    pub(crate) fn next_writeback(&self) -> Option<Instant> {
        self.files.values().filter_map(|f| f.dirty_since).min().map(|t| t + DIRTY_EXPIRE)
    }

    /// The OS flusher: makes durable every file dirty for at least `DIRTY_EXPIRE`.
    pub(crate) fn writeback(&mut self, now: Instant) {
        for file in self.files.values_mut() {
            if file.dirty_since.is_some_and(|t| t + DIRTY_EXPIRE <= now) {
                file.durable = Durable::Prefix(file.data.len());
                file.dirty_since = None;
            }
        }
    }

    /// Power loss: every file goes back to its durable content; never-synced files vanish.
    pub(crate) fn lose_unsynced(&mut self) {
        self.files.retain(|_, file| {
            match std::mem::take(&mut file.durable) {
                Durable::Absent => return false,
                Durable::Prefix(n) => file.data.truncate(n),
                Durable::Separate(bytes) => file.data = bytes,
            }
            file.durable = Durable::Prefix(file.data.len());
            file.dirty_since = None;
            true
        });
    }

    /// The disk is replaced by an empty one (`docker rm` plus a new volume).
    pub(crate) fn wipe(&mut self) {
        self.files.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(secs)
    }

    #[test]
    fn power_loss_keeps_only_synced_prefix_of_appends() {
        let mut d = Disk::default();
        d.append("appendonly.aof", b"SET a 1\n");
        d.fsync("appendonly.aof");
        d.append("appendonly.aof", b"SET b 2\n");
        assert_eq!(d.read("appendonly.aof"), Some(&b"SET a 1\nSET b 2\n"[..]));
        d.lose_unsynced();
        assert_eq!(d.read("appendonly.aof"), Some(&b"SET a 1\n"[..]));
    }

    #[test]
    fn never_synced_file_vanishes_on_power_loss() {
        let mut d = Disk::default();
        d.write("dump.rdb", b"data");
        d.lose_unsynced();
        assert!(!d.exists("dump.rdb"));
    }

    #[test]
    fn rewrite_after_sync_rolls_back_to_old_content() {
        let mut d = Disk::default();
        d.write("nodes.conf", b"epoch 1");
        d.fsync("nodes.conf");
        d.write("nodes.conf", b"epoch 2");
        d.lose_unsynced();
        assert_eq!(d.read("nodes.conf"), Some(&b"epoch 1"[..]));
    }

    #[test]
    fn synced_temp_file_renamed_into_place_survives() {
        let mut d = Disk::default();
        d.write("dump.rdb", b"old");
        d.fsync("dump.rdb");
        d.write("temp-1.rdb", b"new");
        d.fsync("temp-1.rdb");
        d.rename("temp-1.rdb", "dump.rdb");
        d.lose_unsynced();
        assert_eq!(d.read("dump.rdb"), Some(&b"new"[..]));
        assert!(!d.exists("temp-1.rdb"));
    }

    #[test]
    fn os_writeback_makes_old_dirty_data_durable() {
        let mut d = Disk { clock: at(10), ..Disk::default() };
        d.append("appendonly.aof", b"x");
        assert_eq!(d.next_writeback(), Some(at(40)));
        d.writeback(at(39));
        d.clock = at(39);
        d.append("appendonly.aof", b"y");
        d.writeback(at(40));
        assert!(!d.is_dirty());
        d.lose_unsynced();
        assert_eq!(d.read("appendonly.aof"), Some(&b"xy"[..]));
    }

    #[test]
    fn overwrite_keeps_a_longer_tail_and_a_crash_restores_the_synced_text() {
        let mut d = Disk::default();
        d.overwrite("master.info", b"33\nfile.000001\n1234\n");
        d.fsync("master.info");
        d.overwrite("master.info", b"33\nfile.000001\n99\n");
        assert_eq!(d.read("master.info"), Some(&b"33\nfile.000001\n99\n4\n"[..]));
        d.overwrite("master.info", b"33\nfile.000002\n4\n123456\n");
        assert_eq!(d.read("master.info"), Some(&b"33\nfile.000002\n4\n123456\n"[..]));
        d.lose_unsynced();
        assert_eq!(d.read("master.info"), Some(&b"33\nfile.000001\n1234\n"[..]));
    }

    #[test]
    fn truncate_below_synced_length_is_not_undone_by_power_loss_of_later_writes() {
        let mut d = Disk::default();
        d.append("f", b"abcdef");
        d.fsync("f");
        d.truncate("f", 3);
        d.lose_unsynced();
        assert_eq!(d.read("f"), Some(&b"abcdef"[..]), "the truncate was never synced");
    }
}
