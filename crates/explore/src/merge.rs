//! `chaoslab merge`: shards' explore.json files joined into one.

use crate::{ExploreError, ExploreReport, SeedResult};

/// Joins shard reports: same scenario hash and binary, or an error saying which
/// differs. A seed in two shards must have the same result in both. The seeds
/// planned add up (a shard given twice counts once); a shard cut short makes
/// the merge cut short.
pub fn merge(parts: Vec<(String, ExploreReport)>) -> Result<ExploreReport, ExploreError> {
    let mut iter = parts.into_iter();
    let (first_name, mut merged) =
        iter.next().ok_or_else(|| ExploreError::Merge("no explore.json given".to_owned()))?;
    let mut counted = vec![(merged.seeds.clone(), merged.shards.clone())];
    for (name, part) in iter {
        if part.scenario_hash != merged.scenario_hash {
            return Err(ExploreError::Merge(format!(
                "{name} ran scenario hash {} ({}), {first_name} ran {} ({})",
                part.scenario_hash, part.scenario, merged.scenario_hash, merged.scenario
            )));
        }
        if part.binary != merged.binary {
            return Err(ExploreError::Merge(format!(
                "{name} was run by chaoslab {}, {first_name} by {}",
                part.binary, merged.binary
            )));
        }
        if part.seeds != merged.seeds && !merged.seeds.split(" + ").any(|s| s == part.seeds) {
            merged.seeds = format!("{} + {}", merged.seeds, part.seeds);
        }
        if !counted.contains(&(part.seeds.clone(), part.shards.clone())) {
            counted.push((part.seeds.clone(), part.shards.clone()));
            merged.seeds_planned += part.seeds_planned;
        }
        merged.cut = merged.cut.or(part.cut);
        merged.time_budget_secs = merged.time_budget_secs.or(part.time_budget_secs);
        merged.shards.extend(part.shards);
        merged.rerun.extend(part.rerun);
        merged.determinism_checked.extend(part.determinism_checked);
        merged.determinism_mismatches.extend(part.determinism_mismatches);
        merged.results = join(std::mem::take(&mut merged.results), part.results)?;
    }
    merged.shards.sort_by_key(|s| (s.count, s.index));
    merged.shards.dedup();
    merged.rerun.sort_unstable();
    merged.determinism_checked.sort_unstable();
    merged.determinism_checked.dedup();
    Ok(crate::report(merged.clone(), merged.results))
}

fn join(mut a: Vec<SeedResult>, b: Vec<SeedResult>) -> Result<Vec<SeedResult>, ExploreError> {
    a.extend(b);
    a.sort_by_key(|r| r.seed);
    let mut out: Vec<SeedResult> = Vec::with_capacity(a.len());
    for r in a {
        match out.last() {
            Some(last) if last.seed == r.seed && last.trace_hash != r.trace_hash => {
                return Err(ExploreError::Merge(format!(
                    "seed {} has trace hash {} in one shard and {} in another",
                    r.seed, last.trace_hash, r.trace_hash
                )));
            }
            Some(last) if last.seed == r.seed => {}
            _ => out.push(r),
        }
    }
    Ok(out)
}
