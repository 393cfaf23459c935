//! The pure decisions of `redis-cli --cluster`, kept apart from any I/O so they
//! can be checked on their own: how `create` spreads nodes over IPs and slots
//! over masters, how it picks replicas and then shuffles them for
//! anti-affinity, which slots `reshard` takes from which source, and what
//! `rebalance` moves. Each follows redis-cli.c (7.0) step by step, including its
//! float32 arithmetic and its rounding.

use redis_client::cluster::SLOTS;

/// `clusterManagerCommandCreate`'s interleaving: group node indices by IP in
/// order of first appearance, then take one from each group in turn.
pub fn interleave_by_ip(ips: &[&str]) -> Vec<usize> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, ip) in ips.iter().enumerate() {
        match groups.iter_mut().find(|(g, _)| g == ip) {
            Some((_, members)) => members.push(i),
            None => groups.push((ip, vec![i])),
        }
    }
    let mut out = Vec::with_capacity(ips.len());
    let mut round = 0;
    while out.len() < ips.len() {
        for (_, members) in &groups {
            if let Some(&i) = members.get(round) {
                out.push(i);
            }
        }
        round += 1;
    }
    out
}

/// What `create` decides before asking for confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Master node indices, in slot order.
    pub masters: Vec<usize>,
    /// (first, last) slot of each master.
    pub ranges: Vec<(usize, usize)>,
    /// (replica, master) pairs as the "Adding replica" lines print them.
    pub pairs: Vec<(usize, usize)>,
    /// Where among `pairs` "Adding extra replicas..." was printed, if it was.
    pub extra: Option<usize>,
}

/// `create`'s plan for nodes at `ips` (in command-line order) with `replicas`
/// replicas per master; `None` when that leaves fewer than 3 masters.
pub fn create_layout(ips: &[&str], replicas: usize) -> Option<Layout> {
    let masters_count = ips.len() / (replicas + 1);
    if masters_count < 3 {
        return None;
    }
    let order = interleave_by_ip(ips);
    let (masters, rest) = order.split_at(masters_count);
    // redis-cli 7.0 rotates the rest left by one before assigning, which "sometimes
    // helps to get better initial anti-affinity before the optimizer runs".
    let mut rest = rest.to_vec();
    if !rest.is_empty() {
        rest.rotate_left(1);
    }
    let (pairs, extra) = assign_replicas(ips, masters, rest, replicas);
    Some(Layout { masters: masters.to_vec(), ranges: slot_ranges(masters_count), pairs, extra })
}

/// The slot range of each master: `16384 / masters` in float32 with a float32
/// cursor, `lround` for each end, the last master ending at 16383.
pub fn slot_ranges(masters: usize) -> Vec<(usize, usize)> {
    let per = SLOTS as f32 / masters as f32;
    let mut cursor = 0.0f32;
    let mut first = 0usize;
    let mut out = Vec::with_capacity(masters);
    for i in 0..masters {
        let mut last = (cursor + per - 1.0).round() as i64;
        if last > SLOTS as i64 || i == masters - 1 {
            last = SLOTS as i64 - 1;
        }
        let last = (last.max(first as i64)) as usize;
        out.push((first, last));
        first = last + 1;
        cursor += per;
    }
    out
}

/// Replica assignment of `create`: for each master in turn, up to `replicas`
/// nodes taken from the remaining interleaved list, preferring one on another
/// IP; leftovers are then handed out one per master ("Adding extra
/// replicas..."). Returns (replica, master) pairs in the order they were
/// printed, and where in them the extra round started, if it ran. Indices are
/// into `ips`.
pub fn assign_replicas(
    ips: &[&str],
    masters: &[usize],
    mut remaining: Vec<usize>,
    replicas: usize,
) -> (Vec<(usize, usize)>, Option<usize>) {
    let mut pairs = Vec::new();
    let mut available = remaining.len();
    let mut extra = false;
    let mut extra_at = None;
    loop {
        for &m in masters {
            let mut assigned = 0;
            while assigned < replicas || extra {
                if available == 0 {
                    break;
                }
                let other_ip = remaining.iter().position(|&n| ips[n] != ips[m]);
                // Without a node on another IP, redis-cli takes the first one left.
                let Some(pos) = other_ip.or(if remaining.is_empty() { None } else { Some(0) }) else { break };
                let slave = remaining.remove(pos);
                assigned += 1;
                available -= 1;
                pairs.push((slave, m));
                if extra {
                    break;
                }
            }
        }
        if !extra && available > 0 {
            extra = true;
            extra_at = Some(pairs.len());
            continue;
        }
        return (pairs, extra_at);
    }
}

/// `clusterManagerGetAntiAffinityScore`: 10000 for each replica on its
/// master's IP, plus the size of each group of same-master replicas sharing an
/// IP. Also returns the offenders: per offending group, the first replica (in
/// node order) of that master on that IP. `replicate[i]` is the master index
/// of node i, `None` for masters.
pub fn anti_affinity(ips: &[&str], replicate: &[Option<usize>]) -> (u64, Vec<usize>) {
    let mut seen_ips: Vec<&str> = Vec::new();
    for ip in ips {
        if !seen_ips.contains(ip) {
            seen_ips.push(ip);
        }
    }
    let mut score = 0;
    let mut offenders = Vec::new();
    for ip in seen_ips {
        // Related groups on this IP, keyed by master, in order of first appearance.
        let mut groups: Vec<(usize, bool, usize)> = Vec::new(); // (master, master here, replicas here)
        for (i, _) in ips.iter().enumerate().filter(|(_, x)| **x == ip) {
            let key = replicate[i].unwrap_or(i);
            let entry = match groups.iter_mut().find(|g| g.0 == key) {
                Some(g) => g,
                None => {
                    groups.push((key, false, 0));
                    groups.last_mut().expect("just pushed")
                }
            };
            if replicate[i].is_none() {
                entry.1 = true;
            } else {
                entry.2 += 1;
            }
        }
        for (master, master_here, count) in groups {
            let len = count + usize::from(master_here);
            if len < 2 {
                continue;
            }
            score += if master_here { 10_000 * (len as u64 - 1) } else { len as u64 };
            if let Some(first) = (0..ips.len()).find(|&n| replicate[n] == Some(master) && ips[n] == ip) {
                offenders.push(first);
            }
        }
    }
    (score, offenders)
}

/// `clusterManagerOptimizeAntiAffinity`: up to `500 × nodes` random swaps of
/// an offender's master with another replica's, each kept unless it makes the
/// score worse. `rand` stands for C's `rand()`. Returns the final message.
pub fn optimize_anti_affinity(
    ips: &[&str],
    replicate: &mut [Option<usize>],
    mut rand: impl FnMut() -> u32,
) -> Option<&'static str> {
    let (score, _) = anti_affinity(ips, replicate);
    if score == 0 {
        return None;
    }
    let mut iterations = 500 * ips.len();
    while iterations > 0 {
        let (score, offenders) = anti_affinity(ips, replicate);
        if score == 0 || offenders.is_empty() {
            break;
        }
        let first = offenders[rand() as usize % offenders.len()];
        let others: Vec<usize> = (0..ips.len()).filter(|&n| n != first && replicate[n].is_some()).collect();
        if others.is_empty() {
            break;
        }
        let second = others[rand() as usize % others.len()];
        replicate.swap(first, second);
        if anti_affinity(ips, replicate).0 > score {
            replicate.swap(first, second);
        }
        iterations -= 1;
    }
    let (score, _) = anti_affinity(ips, replicate);
    Some(match score {
        0 => "[OK] Perfect anti-affinity obtained!",
        s if s >= 10_000 => "[WARNING] Some slaves are in the same host as their master",
        _ => "[WARNING] Some slaves of the same master are in the same host",
    })
}

/// `clusterManagerComputeReshardTable`: sources sorted by slot count
/// (descending, stable), each giving `numslots / total × its_slots` (float32),
/// rounded up for the first and down for the others, lowest slots first.
/// `sources` are (source id, its slots in ascending order); returns
/// (source id, slot) in move order.
pub fn reshard_table(sources: &[(usize, Vec<usize>)], numslots: usize) -> Vec<(usize, usize)> {
    let total: usize = sources.iter().map(|(_, s)| s.len()).sum();
    let mut sorted: Vec<&(usize, Vec<usize>)> = sources.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.1.len()));
    let mut moved = Vec::new();
    for (i, (id, slots)) in sorted.into_iter().enumerate() {
        let share = numslots as f32 / total as f32 * slots.len() as f32;
        let max = if i == 0 { share.ceil() } else { share.floor() } as usize;
        for &slot in slots.iter().take(max) {
            if moved.len() >= numslots {
                break;
            }
            moved.push((*id, slot));
        }
    }
    moved
}

/// One master as `rebalance` weighs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Weighted {
    /// Index of the node.
    pub node: usize,
    /// Slots it serves.
    pub slots: usize,
    /// `--cluster-weight` (1 by default).
    pub weight: f32,
}

/// `clusterManagerCommandRebalance`'s plan: `None` when every node is within
/// `threshold` percent of its share; otherwise the (from, to, count) moves in
/// order. Only the nodes given take part (callers drop empty masters unless
/// `--cluster-use-empty-masters`).
pub fn rebalance_plan(nodes: &[Weighted], threshold: f32) -> Option<Vec<(usize, usize, usize)>> {
    let total_weight: f32 = nodes.iter().map(|n| n.weight).sum();
    let mut balance: Vec<(usize, i64)> = Vec::new();
    let mut total_balance = 0i64;
    let mut over = false;
    for n in nodes {
        let expected = ((SLOTS as f32 / total_weight) * n.weight) as i64;
        let b = n.slots as i64 - expected;
        total_balance += b;
        balance.push((n.node, b));
        if threshold > 0.0 {
            if n.slots > 0 {
                let err = (100.0 - (100.0 * expected as f64 / n.slots as f64)).abs();
                if err > f64::from(threshold) {
                    over = true;
                }
            } else if expected > 1 {
                over = true;
            }
        }
    }
    if !over {
        return None;
    }
    while total_balance > 0 {
        for (_, b) in balance.iter_mut() {
            if *b <= 0 && total_balance > 0 {
                *b -= 1;
                total_balance -= 1;
            }
        }
    }
    balance.sort_by_key(|&(_, b)| b);
    let mut moves = Vec::new();
    let (mut dst, mut src) = (0usize, balance.len().saturating_sub(1));
    while dst < src {
        let n = balance[dst].1.unsigned_abs().min(balance[src].1.unsigned_abs()) as i64;
        if n > 0 {
            moves.push((balance[src].0, balance[dst].0, n as usize));
        }
        balance[dst].1 += n;
        balance[src].1 -= n;
        if balance[dst].1 == 0 {
            dst += 1;
        }
        if balance[src].1 == 0 {
            src -= 1;
        }
    }
    Some(moves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ranges_match_the_table_redis_cli_prints() {
        assert_eq!(slot_ranges(3), [(0, 5460), (5461, 10922), (10923, 16383)]);
        assert_eq!(slot_ranges(4), [(0, 4095), (4096, 8191), (8192, 12287), (12288, 16383)]);
        assert_eq!(slot_ranges(5), [(0, 3276), (3277, 6553), (6554, 9829), (9830, 13106), (13107, 16383)]);
        assert_eq!(
            slot_ranges(6),
            [(0, 2730), (2731, 5460), (5461, 8191), (8192, 10922), (10923, 13652), (13653, 16383)]
        );
        for masters in 3..=200 {
            let r = slot_ranges(masters);
            assert_eq!(r[0].0, 0);
            assert_eq!(r[masters - 1].1, 16383);
            assert!(r.windows(2).all(|w| w[1].0 == w[0].1 + 1), "{masters} masters: contiguous");
        }
    }

    #[test]
    fn six_nodes_on_one_ip_get_redis_clis_replica_lines() {
        // redis-cli 7.0.15 on 127.0.0.1:7210..7215 printed "Adding replica 7214 to 7210",
        // "7215 to 7211", "7213 to 7212".
        let ips = ["127.0.0.1"; 6];
        let layout = create_layout(&ips, 1).unwrap();
        assert_eq!(layout.masters, [0, 1, 2]);
        assert_eq!(layout.ranges, [(0, 5460), (5461, 10922), (10923, 16383)]);
        assert_eq!(layout.pairs, [(4, 0), (5, 1), (3, 2)]);
        assert_eq!(layout.extra, None);
        assert_eq!(create_layout(&ips[..5], 1), None, "5 nodes with 1 replica each is 2 masters");
        let seven = ["127.0.0.1"; 7];
        let layout = create_layout(&seven, 1).unwrap();
        assert_eq!(layout.extra, Some(3), "the 7th node is an extra replica");
        assert_eq!(layout.pairs.len(), 4);
    }

    #[test]
    fn interleaving_spreads_masters_over_ips_and_replicas_avoid_their_master() {
        let ips = ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.3"];
        let order = interleave_by_ip(&ips);
        assert_eq!(order, [0, 2, 4, 1, 3, 5]);
        let pairs = create_layout(&ips, 1).unwrap().pairs;
        assert_eq!(pairs, [(3, 0), (5, 2), (1, 4)]);
        for (replica, master) in &pairs {
            assert_ne!(ips[*replica], ips[*master]);
        }
        let mut replicate = vec![None; 6];
        for (r, m) in pairs {
            replicate[r] = Some(m);
        }
        assert_eq!(anti_affinity(&ips, &replicate).0, 0);
        assert_eq!(optimize_anti_affinity(&ips, &mut replicate, || 0), None, "already perfect: no optimiser");
    }

    #[test]
    fn anti_affinity_scores_and_the_optimiser_never_makes_it_worse() {
        let ips = ["a", "a", "a", "a", "a", "a"];
        let mut replicate = vec![None, None, None, Some(2), Some(0), Some(1)];
        assert_eq!(anti_affinity(&ips, &replicate), (30_000, vec![4, 5, 3]));
        let mut seed = 12345u32;
        let msg = optimize_anti_affinity(&ips, &mut replicate, || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            seed >> 16
        });
        assert_eq!(msg, Some("[WARNING] Some slaves are in the same host as their master"));
        let mut masters: Vec<usize> = replicate.iter().flatten().copied().collect();
        masters.sort_unstable();
        assert_eq!(masters, [0, 1, 2], "still one replica per master, in some order");
        // Two hosts, replicas both on the masters' host: swaps reach a better layout.
        let ips = ["a", "b", "a", "b"];
        let mut replicate = vec![None, None, Some(0), Some(1)];
        assert_eq!(anti_affinity(&ips, &replicate).0, 20_000);
        let msg = optimize_anti_affinity(&ips, &mut replicate, || 1);
        assert_eq!(msg, Some("[OK] Perfect anti-affinity obtained!"));
        assert_eq!(replicate, [None, None, Some(1), Some(0)]);
    }

    #[test]
    fn reshard_takes_shares_rounding_up_for_the_biggest_source() {
        let a: Vec<usize> = (0..5461).collect();
        let b: Vec<usize> = (5461..10923).collect();
        let c: Vec<usize> = (10923..16384).collect();
        let table = reshard_table(&[(0, a.clone())], 1000);
        assert_eq!(table.len(), 1000);
        assert_eq!(table[0], (0, 0));
        assert_eq!(table[999], (0, 999));
        let table = reshard_table(&[(0, a), (1, b), (2, c)], 1000);
        // 1000 × 5462/16384 = 333.37 → 334 from the biggest (5462 slots) first, then 333 and 333.
        let from = |id| table.iter().filter(|(s, _)| *s == id).count();
        assert_eq!((from(1), from(0), from(2)), (334, 333, 333));
        assert_eq!(table[0], (1, 5461));
    }

    #[test]
    fn rebalance_moves_from_the_fullest_to_the_emptiest() {
        let w = |node, slots| Weighted { node, slots, weight: 1.0 };
        assert_eq!(rebalance_plan(&[w(0, 5461), w(1, 5462), w(2, 5461)], 2.0), None);
        // After adding an empty master with --cluster-use-empty-masters: 4096 each.
        let plan = rebalance_plan(&[w(0, 5461), w(1, 5462), w(2, 5461), w(3, 0)], 2.0).unwrap();
        let moved_to_3: usize = plan.iter().filter(|m| m.1 == 3).map(|m| m.2).sum();
        assert_eq!(moved_to_3, 4096);
        assert_eq!(plan.iter().map(|m| m.2).sum::<usize>(), 4096);
        assert!(plan.iter().all(|m| m.0 != 3));
    }
}
