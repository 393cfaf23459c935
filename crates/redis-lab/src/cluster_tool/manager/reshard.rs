//! Moving slots: `clusterManagerCommandReshard`, `clusterManagerCommandRebalance`,
//! `clusterManagerMoveSlot` and `clusterManagerMigrateKeysInSlot`.

use super::*;

impl Manager<'_> {
    pub(super) fn resharding_node(&mut self, id: &str, target: Option<usize>) -> Result<Option<usize>, Failed> {
        match self.by_name(id) {
            Some(n) if !self.nodes[n].slave => {
                if target.is_some_and(|t| self.nodes[t].name == self.nodes[n].name) {
                    self.s.print("*** It is not possible to use the target node as source node.");
                    return Ok(None);
                }
                Ok(Some(n))
            }
            _ => {
                self.s.print(format!("*** The specified node ({id}) is not known or not a master, please retry."));
                Err(Failed)
            }
        }
    }

    pub(super) fn reshard(&mut self, addr: SocketAddrV4) -> Res<bool> {
        self.load_from(addr)?;
        self.check(false)?;
        if !self.errors.is_empty() {
            self.s.print("*** Please fix your cluster problems before resharding");
            return Ok(false);
        }
        let slots = self.opts.slots;
        if slots == 0 || slots > SLOTS {
            self.s.print(format!("How many slots do you want to move (from 1 to {SLOTS})? "));
            self.s.print("*** redis-cli reads the answer from its terminal: give --cluster-slots");
            return Ok(false);
        }
        let Some(to) = self.opts.to.clone() else {
            self.s.print("What is the receiving node ID? ");
            self.s.print("*** redis-cli reads the answer from its terminal: give --cluster-to");
            return Ok(false);
        };
        let Some(target) = self.resharding_node(&to, None)? else { return Ok(false) };
        let Some(from) = self.opts.from.clone() else {
            self.s.print("Please enter all the source node IDs.");
            self.s.print("*** redis-cli reads the answer from its terminal: give --cluster-from");
            return Ok(false);
        };
        let mut sources = Vec::new();
        let mut all = false;
        for part in from.split(',').filter(|p| !p.is_empty()) {
            if part == "all" {
                all = true;
                break;
            }
            if let Some(src) = self.resharding_node(part, Some(target))? {
                sources.push(src);
            }
        }
        if all {
            let target_name = self.nodes[target].name.clone();
            sources = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].is_master() && self.nodes[i].name != target_name)
                .collect();
        }
        if sources.is_empty() {
            self.s.print("*** No source nodes given, operation aborted.");
            return Ok(false);
        }
        self.s.print("");
        self.s.print(format!("Ready to move {slots} slots."));
        self.s.print("  Source nodes:");
        for &src in &sources {
            for line in Self::node_info(&self.nodes[src], 4).split('\n') {
                self.s.print(line.to_owned());
            }
        }
        self.s.print("  Destination node:");
        for line in Self::node_info(&self.nodes[target], 4).split('\n') {
            self.s.print(line.to_owned());
        }
        let table_input: Vec<(usize, Vec<usize>)> = sources.iter().map(|&i| (i, self.nodes[i].owned_slots())).collect();
        let table = plan::reshard_table(&table_input, slots);
        self.s.print("  Resharding plan:");
        for &(src, slot) in &table {
            let line = format!("    Moving slot {slot} from {}", self.nodes[src].name);
            self.s.print(line);
        }
        self.confirm_reshard();
        for (src, slot) in table {
            if !self.move_slot(src, target, slot, MoveOpts { verbose: true, ..MoveOpts::default() })? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub(super) fn confirm_reshard(&mut self) {
        if !self.opts.yes {
            self.s.print("Do you want to proceed with the proposed reshard plan (yes/no)? yes");
        }
    }

    pub(super) fn rebalance(&mut self, addr: SocketAddrV4) -> Res<bool> {
        self.load_from(addr)?;
        for (name, w) in self.opts.weights.clone() {
            let lower = name.to_ascii_lowercase();
            match self.nodes.iter().position(|n| n.name.starts_with(&lower)) {
                Some(i) => self.nodes[i].weight = w,
                None => {
                    self.s.print(format!("*** No such master node {name}"));
                    return Ok(false);
                }
            }
        }
        let mut involved = Vec::new();
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if !n.is_master() {
                continue;
            }
            if !self.opts.use_empty_masters && n.slots_count == 0 {
                n.weight = 0.0;
                continue;
            }
            involved.push(plan::Weighted { node: i, slots: n.slots_count, weight: n.weight });
        }
        self.check(true)?;
        if !self.errors.is_empty() {
            self.s.print("*** Please fix your cluster problems before rebalancing");
            return Ok(false);
        }
        let threshold = self.opts.threshold.unwrap_or(REBALANCE_THRESHOLD);
        let Some(moves) = plan::rebalance_plan(&involved, threshold) else {
            self.s.print(format!("*** No rebalancing needed! All nodes are within the {threshold:.2}% threshold."));
            return Ok(true);
        };
        let total: f32 = involved.iter().map(|w| w.weight).sum();
        self.s.print(format!(">>> Rebalancing across {} nodes. Total weight = {total:.2}", involved.len()));
        for (src, dst, count) in moves {
            let line =
                format!("Moving {count} slots from {} to {}", self.nodes[src].endpoint(), self.nodes[dst].endpoint());
            self.s.print(line);
            let table = plan::reshard_table(&[(src, self.nodes[src].owned_slots())], count);
            if table.len() != count {
                self.s.print("*** Assertion failed: Reshard table != number of slots");
                return Ok(false);
            }
            if self.opts.simulate {
                self.s.print_partial(&"#".repeat(count));
            } else {
                for (s, slot) in table {
                    let opts = MoveOpts { quiet: true, update: true, ..MoveOpts::default() };
                    if !self.move_slot(s, dst, slot, opts)? {
                        return Ok(false);
                    }
                    self.s.print_partial("#");
                }
            }
            self.s.newline();
        }
        Ok(true)
    }

    /// `clusterManagerMoveSlot`.
    pub(super) fn move_slot(&mut self, src: usize, dst: usize, slot: usize, o: MoveOpts) -> Res<bool> {
        if !o.quiet {
            let line =
                format!("Moving slot {slot} from {} to {}: ", self.nodes[src].endpoint(), self.nodes[dst].endpoint());
            self.s.print_partial(&line);
        }
        let slot_s = slot.to_string();
        if !o.cold {
            let (src_name, dst_name) = (self.nodes[src].name.clone(), self.nodes[dst].name.clone());
            if self.command(dst, &["CLUSTER", "SETSLOT", &slot_s, "importing", &src_name]).is_err()
                || self.command(src, &["CLUSTER", "SETSLOT", &slot_s, "migrating", &dst_name]).is_err()
            {
                return Ok(false);
            }
        }
        let moved = self.migrate_keys_in_slot(src, dst, slot, o.verbose)?;
        if !o.quiet {
            self.s.newline();
        }
        if !moved {
            return Ok(false);
        }
        if !o.cold {
            // The target first, then the source (which may have just become a replica
            // of the target when it gave away its last slot), then every other master.
            let dst_name = self.nodes[dst].name.clone();
            let mut order = vec![dst, src];
            order.extend((0..self.nodes.len()).filter(|&i| i != dst && i != src && !self.nodes[i].slave));
            for i in order {
                let v = self.s.call(self.nodes[i].addr, &["CLUSTER", "SETSLOT", &slot_s, "node", &dst_name])?;
                if let Value::Error(e) = v {
                    if i == src && e == "ERR Please use SETSLOT only with masters." {
                        continue;
                    }
                    let node = self.nodes[i].clone();
                    self.reply_error(&node, &e);
                    return Ok(false);
                }
            }
        }
        if o.update {
            self.nodes[src].slots[slot] = false;
            self.nodes[src].slots_count -= 1;
            self.nodes[dst].slots[slot] = true;
            self.nodes[dst].slots_count += 1;
        }
        Ok(true)
    }

    /// `clusterManagerMigrateKeysInSlot`: GETKEYSINSLOT then MIGRATE, `pipeline` keys at a time.
    pub(super) fn migrate_keys_in_slot(&mut self, src: usize, dst: usize, slot: usize, verbose: bool) -> Res<bool> {
        let pipeline = self.opts.pipeline.unwrap_or(MIGRATE_PIPELINE).to_string();
        let timeout = self.opts.timeout_ms.unwrap_or(MIGRATE_TIMEOUT_MS).to_string();
        let replace_existing = self.fix || self.opts.replace;
        let slot_s = slot.to_string();
        loop {
            let keys = match self.s.call(self.nodes[src].addr, &["CLUSTER", "GETKEYSINSLOT", &slot_s, &pipeline])? {
                Value::Array(keys) => keys,
                other => {
                    let node = self.nodes[src].clone();
                    self.reply_error(&node, &text_of(&other));
                    return Ok(false);
                }
            };
            if keys.is_empty() {
                return Ok(true);
            }
            let keys: Vec<Vec<u8>> =
                keys.into_iter().filter_map(|k| if let Value::Bulk(b) = k { Some(b) } else { None }).collect();
            let mut reply = self.migrate(src, dst, &keys, false, &timeout)?;
            if let Value::Error(e) = &reply {
                let busy = e.contains("BUSYKEY");
                let not_served = e.contains("slot not served");
                if replace_existing && (busy || not_served) {
                    if not_served {
                        let dst_name = self.nodes[dst].name.clone();
                        let _ =
                            self.s.call(self.nodes[src].addr, &["CLUSTER", "SETSLOT", &slot_s, "node", &dst_name])?;
                    }
                    self.s.print("*** Target key exists. Replacing it for FIX.");
                    reply = self.migrate(src, dst, &keys, busy, &timeout)?;
                }
            }
            if let Value::Error(e) = reply {
                self.s.newline();
                let node = self.nodes[src].clone();
                self.reply_error(&node, &e);
                return Ok(false);
            }
            if verbose {
                self.s.print_partial(&".".repeat(keys.len()));
            }
        }
    }

    pub(super) fn migrate(
        &mut self,
        src: usize,
        dst: usize,
        keys: &[Vec<u8>],
        replace: bool,
        timeout: &str,
    ) -> Res<Value> {
        let mut args: Vec<Vec<u8>> = vec![
            b"MIGRATE".to_vec(),
            self.nodes[dst].ip.clone().into_bytes(),
            self.nodes[dst].port.to_string().into_bytes(),
            Vec::new(),
            b"0".to_vec(),
            timeout.as_bytes().to_vec(),
        ];
        if replace {
            args.push(b"REPLACE".to_vec());
        }
        if let Some(p) = &self.s.password {
            args.push(b"AUTH".to_vec());
            args.push(p.clone().into_bytes());
        }
        args.push(b"KEYS".to_vec());
        args.extend(keys.iter().cloned());
        let addr = self.nodes[src].addr;
        self.s.call(addr, &args)
    }

    pub(super) fn count_keys(&mut self, i: usize, slot: &str) -> Res<i64> {
        match self.command(i, &["CLUSTER", "COUNTKEYSINSLOT", slot])? {
            Value::Integer(n) => Ok(n),
            _ => Ok(0),
        }
    }
}
