//! `redis-cli --cluster fix`: `clusterManagerFixOpenSlot` and
//! `clusterManagerFixSlotsCoverage`, for the cases chaoslab's redis-cli handles.

use super::*;

impl Manager<'_> {
    /// `clusterManagerFixOpenSlot`, for the cases redis-cli 7.0 knows how to fix.
    pub(super) fn fix_open_slot(&mut self, slot: usize) -> Res<bool> {
        let slot_s = slot.to_string();
        self.s.print(format!(">>> Fixing open slot {slot}"));
        let masters: Vec<usize> = (0..self.nodes.len()).filter(|&i| !self.nodes[i].slave).collect();
        let mut owners = Vec::new();
        for &i in &masters {
            if self.nodes[i].slots[slot] {
                owners.push(i);
            } else if self.count_keys(i, &slot_s)? > 0 {
                let line = format!("*** Found keys about slot {slot} in non-owner node {}!", self.nodes[i].endpoint());
                self.s.print(line);
                owners.push(i);
            }
        }
        let mut owner = (owners.len() == 1).then(|| owners[0]);
        let (mut migrating, mut importing) = (Vec::new(), Vec::new());
        for &i in &masters {
            let is_mig = self.nodes[i].migrating.iter().any(|(s, _)| *s == slot_s);
            let is_imp = self.nodes[i].importing.iter().any(|(s, _)| *s == slot_s);
            if is_mig {
                migrating.push(i);
            } else if is_imp {
                importing.push(i);
            } else if Some(i) != owner && self.count_keys(i, &slot_s)? > 0 {
                let line = format!("*** Found keys about slot {slot} in node {}!", self.nodes[i].endpoint());
                self.s.print(line);
                importing.push(i);
            }
        }
        let list =
            |m: &Manager<'_>, v: &[usize]| v.iter().map(|&i| m.nodes[i].endpoint()).collect::<Vec<_>>().join(",");
        if !migrating.is_empty() {
            let line = format!("Set as migrating in: {}", list(self, &migrating));
            self.s.print(line);
        }
        if !importing.is_empty() {
            let line = format!("Set as importing in: {}", list(self, &importing));
            self.s.print(line);
        }
        if owner.is_none() && owners.len() > 1 {
            self.s.print(format!(
                "[ERR] Slot {slot} has {} owners: chaoslab's redis-cli does not fix that",
                owners.len()
            ));
            return Ok(false);
        }
        if owner.is_none() {
            self.s.print(">>> No single clear owner for the slot, selecting an owner by # of keys...");
            let mut best: Option<(usize, i64)> = None;
            for &i in &masters {
                let n = self.count_keys(i, &slot_s)?;
                if best.is_none_or(|(_, b)| n > b) {
                    best = Some((i, n));
                }
            }
            let Some((o, _)) = best else {
                self.s.print("[ERR] Can't select a slot owner. Impossible to fix.");
                return Ok(false);
            };
            let line = format!("*** Configuring {} as the slot owner", self.nodes[o].endpoint());
            self.s.print(line);
            let _ = self.s.call(self.nodes[o].addr, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            let _ = self.s.call(self.nodes[o].addr, &["CLUSTER", "DELSLOTS", &slot_s])?;
            self.command(o, &["CLUSTER", "ADDSLOTS", &slot_s])?;
            self.command(o, &["CLUSTER", "BUMPEPOCH"])?;
            self.nodes[o].slots[slot] = true;
            migrating.retain(|&i| i != o);
            importing.retain(|&i| i != o);
            owner = Some(o);
        }
        let owner = owner.expect("an owner was chosen above");
        if migrating.len() == 1 && importing.len() == 1 {
            let (src, dst) = (migrating[0], importing[0]);
            let line = format!(
                ">>> Case 1: Moving slot {slot} from {} to {}",
                self.nodes[src].endpoint(),
                self.nodes[dst].endpoint()
            );
            self.s.print(line);
            return self.move_slot(src, dst, slot, MoveOpts { verbose: true, ..MoveOpts::default() });
        }
        if migrating.is_empty() && !importing.is_empty() {
            let line =
                format!(">>> Case 2: Moving all the {slot} slot keys to its owner {}", self.nodes[owner].endpoint());
            self.s.print(line);
            for &i in &importing {
                if i == owner {
                    continue;
                }
                if !self.move_slot(i, owner, slot, MoveOpts { verbose: true, cold: true, ..MoveOpts::default() })? {
                    return Ok(false);
                }
                let line = format!(">>> Setting {slot} as STABLE in {}", self.nodes[i].endpoint());
                self.s.print(line);
                self.command(i, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            }
            let owner_name = self.nodes[owner].name.clone();
            for i in 0..self.nodes.len() {
                if i == owner || self.nodes[i].slave {
                    continue;
                }
                self.command(i, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &owner_name])?;
            }
            return Ok(true);
        }
        if migrating.len() == 1 && importing.len() > 1 {
            let (src, dst) = (migrating[0], importing[0]);
            let line = format!(
                ">>> Case 3: Moving slot {slot} from {} to {} and closing it on all the other importing nodes.",
                self.nodes[src].endpoint(),
                self.nodes[dst].endpoint()
            );
            self.s.print(line);
            if !self.move_slot(src, dst, slot, MoveOpts { verbose: true, ..MoveOpts::default() })? {
                return Ok(false);
            }
            for &i in &importing[1..] {
                self.command(i, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            }
            return Ok(true);
        }
        let mut close = importing.is_empty() && migrating.len() == 1;
        if close && migrating[0] != owner {
            let keys = self.command(migrating[0], &["CLUSTER", "GETKEYSINSLOT", &slot_s, "10"])?;
            close = matches!(keys, Value::Array(k) if k.is_empty());
        }
        if close {
            let n = migrating[0];
            let line = format!(">>> Case 4: Closing slot {slot} on {}", self.nodes[n].endpoint());
            self.s.print(line);
            self.command(n, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"])?;
            return Ok(true);
        }
        let line = format!(
            "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as migrating in {}, as importing in {}, owner is {}",
            list(self, &migrating),
            list(self, &importing),
            self.nodes[owner].endpoint()
        );
        self.s.print(line);
        Ok(false)
    }

    /// `clusterManagerFixSlotsCoverage` for slots that no node or exactly one node has keys for.
    pub(super) fn fix_coverage(&mut self, covered: &[bool]) -> Res<usize> {
        self.s.print(">>> Fixing slots coverage...");
        let uncovered: Vec<usize> = (0..SLOTS).filter(|&s| !covered[s]).collect();
        self.s.print("List of not covered slots: ");
        let list: Vec<String> = uncovered.iter().map(usize::to_string).collect();
        self.s.print(list.join(","));
        let masters: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].is_master()).collect();
        let (mut none, mut single, mut multi) = (Vec::new(), Vec::new(), 0);
        let mut log = Vec::new();
        for &slot in &uncovered {
            let slot_s = slot.to_string();
            let mut holders = Vec::new();
            for &i in &masters {
                if let Value::Array(k) = self.command(i, &["CLUSTER", "GETKEYSINSLOT", &slot_s, "1"])?
                    && !k.is_empty()
                {
                    holders.push(i);
                }
            }
            let names: Vec<String> = holders.iter().map(|&i| self.nodes[i].endpoint()).collect();
            log.push(format!("Slot {slot} has keys in {} nodes: {}", holders.len(), names.join(", ")));
            match holders.len() {
                0 => none.push(slot),
                1 => single.push((slot, holders[0])),
                _ => multi += 1,
            }
        }
        self.s.print("");
        for l in log {
            self.s.print(l);
        }
        let mut fixed = 0;
        let mut cover = |m: &mut Manager<'_>, slot: usize, n: usize| -> Res<()> {
            let slot_s = slot.to_string();
            let line = format!(">>> Covering slot {slot} with {}", m.nodes[n].endpoint());
            m.s.print(line);
            let _ = m.s.call(m.nodes[n].addr, &["CLUSTER", "DELSLOTS", &slot_s])?;
            m.command(n, &["CLUSTER", "ADDSLOTS", &slot_s])?;
            m.command(n, &["CLUSTER", "BUMPEPOCH"])?;
            m.nodes[n].slots[slot] = true;
            fixed += 1;
            Ok(())
        };
        if !none.is_empty() {
            self.s.print("The following uncovered slots have no keys across the cluster:");
            let l: Vec<String> = none.iter().map(usize::to_string).collect();
            self.s.print(l.join(", "));
            self.confirm("Fix these slots by covering with a random node?");
            for slot in none {
                let n = masters[self.s.rand() as usize % masters.len().max(1)];
                cover(self, slot, n)?;
            }
        }
        if !single.is_empty() {
            self.s.print("The following uncovered slots  have keys in just one node:");
            let l: Vec<String> = single.iter().map(|(s, _)| s.to_string()).collect();
            self.s.print(l.join(", "));
            self.confirm("Fix these slots by covering with those nodes?");
            for (slot, n) in single {
                cover(self, slot, n)?;
            }
        }
        if multi > 0 {
            self.s.print(format!(
                "[ERR] {multi} uncovered slots have keys in several nodes: chaoslab's redis-cli does not fix that"
            ));
        }
        Ok(fixed)
    }
}
