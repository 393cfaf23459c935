use super::*;

fn name(c: char) -> NodeName {
    NodeName::parse(&c.to_string().repeat(40)).unwrap()
}

#[test]
fn nodes_conf_round_trips_roles_slots_and_epochs() {
    let mut c = Cluster::new(name('a'), 1000);
    c.me_mut().set_address(NodeIp::new("127.0.0.1"), 6381, 16381);
    c.me_mut().config_epoch = 1;
    c.saved_once = true;
    c.current_epoch = 7;
    c.last_vote_epoch = 6;
    for s in (0..=5460).chain([7000]) {
        c.add_slot(0, s);
    }
    let b = c.create_node(name('b'), SLAVE, 1000);
    c.node_mut(b).slaveof = Some(0);
    c.add_replica(0, b);
    c.node_mut(b).set_address(NodeIp::new("127.0.0.1"), 6384, 16384);
    let text = c.config_text();
    assert_eq!(
        text,
        format!(
            "{a} 127.0.0.1:6381@16381 myself,master - 0 0 1 connected 0-5460 7000\n\
             {b} 127.0.0.1:6384@16384 slave {a} 0 0 1 disconnected\nvars currentEpoch 7 lastVoteEpoch 6\n",
            a = "a".repeat(40),
            b = "b".repeat(40)
        )
    );
    let mut back = Cluster::load(&text, 5000, Machinery::Fast).unwrap();
    back.saved_once = true;
    assert_eq!(back.config_text(), text);
    assert_eq!(back.me().numslots, 5462);
    assert_eq!(back.owner(7000), Some(back.myself));
}

#[test]
fn name_lookups_survive_adds_renames_and_deletes() {
    let mut c = Cluster::new(name('m'), 0);
    // Names that differ only past the hashed bytes share a tag and a probe run.
    let names: Vec<String> = (0..200).map(|i| format!("{:016x}{:08x}{:016x}", i % 7, i * 7919, 0)).collect();
    let parse = |s: &str| NodeName::parse(s).unwrap();
    let ids: Vec<usize> = names.iter().map(|n| c.create_node(parse(n), MASTER, 0)).collect();
    let renamed = |n: &str| parse(&format!("r{}", &n[1..]));
    for (k, (n, &i)) in names.iter().zip(&ids).enumerate() {
        if k % 3 == 0 {
            c.del_node(i);
        }
        if k % 3 == 1 {
            c.rename(i, &renamed(n));
        }
    }
    for (k, (n, &i)) in names.iter().zip(&ids).enumerate() {
        match k % 3 {
            0 => assert_eq!((c.lookup_str(n), c.lookup(&renamed(n))), (None, None)),
            1 => assert_eq!((c.lookup_str(n), c.lookup(&renamed(n))), (None, Some(i))),
            _ => assert_eq!(c.lookup_str(n), Some(i)),
        }
    }
    assert_eq!(c.lookup(&name('m')), Some(c.myself));
    assert_eq!(c.lookup_str(&"m".repeat(39)), None);
    let reused = c.create_node(name('f'), SLAVE, 0);
    assert_eq!(c.lookup(&name('f')), Some(reused));
}

/// Two tables that know a node at the same address share its identity;
/// moving it in one table leaves the other's view as it was.
#[test]
fn tables_share_identities_until_one_moves_a_node() {
    let (mut a, mut b) = (Cluster::new(name('a'), 0), Cluster::new(name('b'), 0));
    let ip = NodeIp::new("10.0.0.9");
    let (ia, ib) = (a.create_node(name('c'), MASTER, 0), b.create_node(name('c'), MASTER, 0));
    a.node_mut(ia).set_address(ip, 7000, 17000);
    b.node_mut(ib).set_address(ip, 7000, 17000);
    assert!(Rc::ptr_eq(&a.node(ia).id, &b.node(ib).id));
    a.node_mut(ia).set_address(NodeIp::new("10.0.0.10"), 7000, 17000);
    assert_eq!((a.node(ia).ip().as_str(), b.node(ib).ip().as_str()), ("10.0.0.10", "10.0.0.9"));
    assert_eq!((a.node(ia).port(), b.node(ib).cport(), b.node(ib).name()), (7000, 17000, name('c')));
    a.rename(ia, &name('d'));
    assert_eq!((a.node(ia).name(), a.node(ia).ip().as_str(), a.lookup(&name('d'))), (name('d'), "10.0.0.10", Some(ia)));
    assert_eq!(b.node(ib).name(), name('c'));
}

#[test]
fn fresh_node_first_save_has_no_ports() {
    let mut c = Cluster::new(name('f'), 0);
    c.me_mut().set_address(NodeIp::default(), 6381, 16381);
    assert_eq!(
        c.config_text(),
        format!("{} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n", "f".repeat(40))
    );
    assert_eq!(slot_ranges(|s| s == 3 || s == 4 || s == 16383), vec![(3, 4), (16383, 16383)]);
    let other = c.create_node(name('e'), MASTER, 0);
    for s in [3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 100, 16383].into_iter().chain(200..=5460) {
        c.add_slot(0, s);
    }
    c.add_slot(other, 5);
    let bits = Box::new(*c.slot_bits(0));
    let expected = slot_ranges(|s| bus::bit(&bits, s));
    assert_eq!(c.owned_ranges(0), expected);
    assert_eq!(expected, vec![(3, 4), (8, 16), (100, 100), (200, 5460), (16383, 16383)]);
    assert!(c.owns_exactly(0, &bits));
    assert!(!c.owns_exactly(other, &bits));
    let mut fewer = bits.clone();
    bus::set_bit(&mut fewer, 100, false);
    assert!(!c.owns_exactly(0, &fewer));
    c.del_slot(100);
    assert!(c.owns_exactly(0, &fewer));
    assert_eq!(*c.slot_bits(0), *fewer);
    // One more claimed, whether another node's or nobody's, is not exact.
    for extra in [5, 6, 10_000] {
        let mut more = fewer.clone();
        bus::set_bit(&mut more, extra, true);
        assert!(!c.owns_exactly(0, &more), "slot {extra}");
    }
    // One swapped for another's: the count matches, the slots do not.
    let mut swapped = fewer.clone();
    bus::set_bit(&mut swapped, 16383, false);
    bus::set_bit(&mut swapped, 5, true);
    assert!(!c.owns_exactly(0, &swapped));
    assert!(c.owns_exactly(other, &*{
        let mut only5 = Box::new([0; bus::SLOT_BYTES]);
        bus::set_bit(&mut only5, 5, true);
        only5
    }));
}

/// `owner_runs`, a node's bitmap and the set slots of a bitmap against
/// reading the owner table a slot at a time, over runs of every length
/// around the 16-slot blocks and the bytes they are worked out by.
#[test]
fn owner_runs_are_the_slot_table_read_slot_by_slot() {
    let mut c = Cluster::new(name('a'), 1000);
    let b = c.create_node(name('b'), MASTER, 1000);
    let mut rng = sim::Rng::stream(3, "owner-runs");
    for _ in 0..50 {
        let mut s = 0;
        while s < SLOTS {
            let span = if rng.chance(0.5) { 40 } else { 3000 };
            let len = 1 + rng.below(span) as usize;
            let owner = [None, Some(0), Some(b)][rng.below(3) as usize];
            for slot in s..(s + len).min(SLOTS) {
                c.del_slot(slot);
                if let Some(o) = owner {
                    c.add_slot(o, slot);
                }
            }
            s += len;
        }
        let mut expected: Vec<(usize, usize, usize)> = Vec::new();
        for slot in 0..SLOTS {
            let Some(o) = c.owner(slot) else { continue };
            match expected.last_mut() {
                Some((_, end, owner)) if *end + 1 == slot && *owner == o => *end = slot,
                _ => expected.push((slot, slot, o)),
            }
        }
        assert_eq!(c.owner_runs(), expected);
        // owns_exactly against the table read slot by slot, for each node's
        // own bitmap and that bitmap with one slot flipped.
        for node in [0, b] {
            let mut bits = Box::new([0; bus::SLOT_BYTES]);
            for slot in (0..SLOTS).filter(|&s| c.owner(s) == Some(node)) {
                bus::set_bit(&mut bits, slot, true);
            }
            assert!(c.owns_exactly(node, &bits));
            // The header's bitmap, built a run at a time, and its blocks.
            assert!(*c.slot_bits(node) == *bits, "node {node}'s cached bitmap");
            assert_eq!(c.bits_cache.problem(&c.slots), None);
            assert!(bus::set_slots(&bits).eq((0..SLOTS).filter(|&s| c.owner(s) == Some(node))));
            let flip = rng.below(SLOTS as u64) as usize;
            let was = bus::bit(&bits, flip);
            bus::set_bit(&mut bits, flip, !was);
            assert!(!c.owns_exactly(node, &bits), "slot {flip} flipped");
        }
    }
}

/// `rebind_slots` leaves the table as deleting then adding each slot does:
/// owners, slot counts, slots text, the shard's lost slots, the bitmaps.
#[test]
fn rebinding_slots_at_once_is_deleting_and_adding_each() {
    let mut rng = sim::Rng::stream(5, "rebind");
    for round in 0..40 {
        let mut tables = [Cluster::new(name('a'), 1000), Cluster::new(name('a'), 1000)];
        for c in &mut tables {
            let (b, d) = (c.create_node(name('b'), MASTER, 1000), c.create_node(name('d'), MASTER, 1000));
            let r = c.create_node(name('r'), SLAVE, 1000);
            c.node_mut(r).slaveof = Some(b);
            if round % 2 == 1 {
                // Myself a replica of b: b's slots are the shard's.
                c.node_mut(0).flags = SLAVE | MYSELF;
                c.node_mut(0).slaveof = Some(b);
            }
            let _ = (d, r);
        }
        let owners = [None, Some(0), Some(1), Some(2)];
        let layout: Vec<Option<usize>> = (0..SLOTS).map(|s| owners[(s / 700 + round) % 4]).collect();
        for c in &mut tables {
            for (s, o) in layout.iter().enumerate() {
                if let Some(o) = o {
                    c.add_slot(*o, s);
                }
            }
            c.take_lost_shard_slots();
            // Each node's slots text built, so a stale one would show.
            c.nodes_text(false);
        }
        let to = 1 + rng.below(3) as usize;
        let moved: Vec<u16> = (0..SLOTS as u16).filter(|_| rng.chance(0.3)).collect();
        let [one, each] = &mut tables;
        one.rebind_slots(&moved, to);
        for &s in &moved {
            each.del_slot(usize::from(s));
            each.add_slot(to, usize::from(s));
        }
        assert_eq!(one.slots, each.slots, "round {round}");
        for i in 0..4 {
            assert_eq!(one.node(i).numslots, each.node(i).numslots, "round {round}, node {i}");
            assert!(*one.slot_bits(i) == *each.slot_bits(i), "round {round}, node {i}");
        }
        assert_eq!(one.nodes_text(false), each.nodes_text(false), "round {round}");
        assert_eq!(one.take_lost_shard_slots(), each.take_lost_shard_slots(), "round {round}");
        assert_eq!(one.slot_changes(), each.slot_changes(), "round {round}");
    }
}

/// `add_slots` (ADDSLOTS of a master's range, at creation) leaves the table
/// as `add_slot` of each slot in turn: owners, counts, bitmaps, nodes.conf
/// text, published slot changes and the runs.
#[test]
fn adding_free_slots_at_once_is_adding_them_one_by_one() {
    let mut rng = sim::Rng::stream(7, "add-slots");
    for round in 0..30 {
        let mut tables = [Cluster::new(name('a'), 1000), Cluster::new(name('a'), 1000)];
        for c in &mut tables {
            c.create_node(name('b'), MASTER, 1000);
            // Some slots owned already, each table's slots text built.
            for s in (0..SLOTS).filter(|s| (s / 500 + round) % 3 == 0) {
                c.add_slot(1, s);
            }
            c.nodes_text(false);
            c.slot_changes();
        }
        let to = round % 2;
        let free: Vec<u16> =
            (0..SLOTS as u16).filter(|&s| tables[0].owner(usize::from(s)).is_none() && rng.chance(0.5)).collect();
        let [one, each] = &mut tables;
        one.add_slots(to, &free);
        for &s in &free {
            each.add_slot(to, usize::from(s));
        }
        assert_eq!(one.slots, each.slots, "round {round}");
        for i in 0..2 {
            assert_eq!(one.node(i).numslots, each.node(i).numslots, "round {round}, node {i}");
            assert!(*one.slot_bits(i) == *each.slot_bits(i), "round {round}, node {i}");
        }
        assert_eq!(one.nodes_text(false), each.nodes_text(false), "round {round}");
        assert_eq!(one.slot_changes(), each.slot_changes(), "round {round}");
        assert_eq!(one.owner_runs(), each.owner_runs(), "round {round}");
    }
}
