use super::*;
use scenario::Registry;

#[test]
fn seed_ranges_exclude_the_end_unless_inclusive_and_refuse_empty_ones() {
    assert_eq!(SeedRange::parse("1..4").unwrap().seeds(), vec![1, 2, 3]);
    assert_eq!(SeedRange::parse("1..=4").unwrap().seeds(), vec![1, 2, 3, 4]);
    for bad in ["5..5", "5..1", "0..0", "x..3", "3", "1..=x"] {
        let e = SeedRange::parse(bad).unwrap_err();
        assert!(matches!(e, ExploreError::BadSeeds(_)), "{bad}: {e}");
    }
    assert!(SeedRange::parse("0..1000000000000").unwrap_err().to_string().contains("more than"));
}

#[test]
fn shards_cover_every_seed_exactly_once() {
    let seeds = SeedRange::parse("10..=46").unwrap().seeds();
    let mut all: Vec<u64> = (0..4).flat_map(|i| Shard { index: i, count: 4 }.take(&seeds)).collect();
    all.sort_unstable();
    assert_eq!(all, seeds);
    assert_eq!(Shard::parse("1/4").unwrap().take(&seeds)[..3], [11, 15, 19]);
    for bad in ["3/2", "2/2", "0/0", "1", "a/2"] {
        assert!(matches!(Shard::parse(bad), Err(ExploreError::BadShard(_))), "{bad}");
    }
}

fn result(seed: u64, hash: &str, pass: bool) -> SeedResult {
    SeedResult {
        seed,
        verdict: if pass { Verdict::Pass } else { Verdict::Fail },
        failure_kind: (!pass).then_some(FailureKind::Check),
        failure: (!pass).then(|| "step 3: expected \"a\"".to_owned()),
        trace_hash: hash.to_owned(),
        events: 10,
        virtual_time_ns: 5,
    }
}

fn shard_report(shard: u64, results: Vec<SeedResult>) -> ExploreReport {
    let header = ExploreReport {
        format: FORMAT,
        scenario: "s".to_owned(),
        scenario_file: "s.yaml".to_owned(),
        scenario_hash: "abc".to_owned(),
        sets: vec![],
        binary: "0.0.0 (x)".to_owned(),
        seeds: "--seeds 1..5".to_owned(),
        shards: vec![Shard { index: shard, count: 2 }],
        seeds_run: 0,
        failures: 0,
        determinism_checked: vec![],
        determinism_mismatches: vec![],
        rerun: vec![],
        seeds_planned: results.len() as u64,
        time_budget_secs: None,
        cut: None,
        results: vec![],
    };
    report(header, results)
}

#[test]
fn merge_joins_shards_by_seed_and_counts_failures() {
    let a = shard_report(0, vec![result(1, "h1", true), result(3, "h3", false)]);
    let b = shard_report(1, vec![result(2, "h2", true), result(4, "h4", false)]);
    let merged = merge(vec![("b".into(), b), ("a".into(), a)]).unwrap();
    assert_eq!(merged.results.iter().map(|r| r.seed).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!((merged.seeds_run, merged.failures), (4, 2));
    assert_eq!(merged.shards, [Shard { index: 0, count: 2 }, Shard { index: 1, count: 2 }]);
    assert_eq!(merged.seeds, "--seeds 1..5", "shards of one range name it once");
    let mut other = shard_report(0, vec![result(9, "h9", true)]);
    other.seeds = "--count 1".to_owned();
    let mixed = merge(vec![("m".into(), merged), ("o".into(), other)]).unwrap();
    assert_eq!(mixed.seeds, "--seeds 1..5 + --count 1");
    assert_eq!(mixed.seeds_run, 5);
}

#[test]
fn merge_refuses_other_scenarios_binaries_and_disagreeing_seeds() {
    let a = shard_report(0, vec![result(1, "h1", true)]);
    let mut b = shard_report(1, vec![result(2, "h2", true)]);
    b.scenario_hash = "def".to_owned();
    let e = merge(vec![("a".into(), a.clone()), ("b".into(), b)]).unwrap_err().to_string();
    assert!(e.contains("scenario hash def") && e.contains("abc"), "{e}");
    let mut c = shard_report(1, vec![result(2, "h2", true)]);
    c.binary = "0.0.1 (y)".to_owned();
    let e = merge(vec![("a".into(), a.clone()), ("c".into(), c)]).unwrap_err().to_string();
    assert!(e.contains("0.0.1 (y)"), "{e}");
    let d = shard_report(1, vec![result(1, "other", true)]);
    let e = merge(vec![("a".into(), a), ("d".into(), d)]).unwrap_err().to_string();
    assert!(e.contains("seed 1 has trace hash"), "{e}");
    assert!(merge(vec![]).is_err());
}

#[test]
fn the_determinism_sample_is_bounded_and_takes_failing_seeds() {
    let results: Vec<SeedResult> = (0..100).map(|s| result(s, "h", s != 57)).collect();
    let sample = determinism_sample(&results);
    assert!(sample.len() <= DETERMINISM_SAMPLE && sample.len() >= 8, "{sample:?}");
    assert!(sample.contains(&57) && sample.contains(&0));
    assert_eq!(determinism_sample(&results[..3]), [0, 1, 2]);
}

/// A scenario of no node: a run is a second of virtual sleep.
const SLEEPER: &str = "name: t\nseed: 1\ntopology:\n  nodes: []\nsteps:\n  - sleep: 1s\n";

#[test]
fn once_go_on_says_no_no_seed_starts_and_the_cut_says_it_was_the_budget() {
    let load = |r: &Registry| scenario::parse_scenario("t.yaml", SLEEPER, r).map_err(|d| d.render("t.yaml", SLEEPER));
    let target = Target { registry: Registry::new, load: &load };
    let asked = AtomicUsize::new(0);
    let go_on = || asked.fetch_add(1, Ordering::SeqCst) < 5;
    let plan = Plan { jobs: 2, stop_after: None };
    let seeds: Vec<u64> = (1..=40).collect();
    let results = run_seeds_while(&target, &seeds, plan, &|_| {}, &go_on).unwrap();
    assert_eq!(results.iter().map(|r| r.seed).collect::<Vec<_>>(), [1, 2, 3, 4, 5], "five yeses, five seeds");
    assert_eq!(cut(seeds.len(), &results, plan), Some(Cut::TimeBudget));
    let all = run_seeds(&target, &seeds, plan, &|_| {}).unwrap();
    assert_eq!(all.len(), 40);
    assert_eq!(cut(seeds.len(), &all, plan), None);
    assert_eq!(all[..5], results[..], "a seed's result does not depend on what else ran");
}

#[test]
fn a_run_short_of_seeds_with_k_failures_was_cut_by_stop_after() {
    let results = vec![result(1, "h1", false), result(2, "h2", false), result(3, "h3", true)];
    let plan = Plan { jobs: 1, stop_after: Some(2) };
    assert_eq!(cut(10, &results, plan), Some(Cut::StopAfter));
    assert_eq!(cut(10, &results, Plan { stop_after: Some(3), ..plan }), Some(Cut::TimeBudget));
    assert_eq!(cut(3, &results, plan), None);
}

#[test]
fn merge_adds_up_the_planned_seeds_once_per_shard_and_keeps_a_cut() {
    let a = shard_report(0, vec![result(1, "h1", true), result(3, "h3", true)]);
    let mut b = shard_report(1, vec![result(2, "h2", true)]);
    b.seeds_planned = 2;
    b.cut = Some(Cut::TimeBudget);
    b.time_budget_secs = Some(5.0);
    let merged = merge(vec![("a".into(), a.clone()), ("b".into(), b), ("a again".into(), a)]).unwrap();
    assert_eq!((merged.seeds_run, merged.seeds_planned), (3, 4));
    assert_eq!((merged.cut, merged.time_budget_secs), (Some(Cut::TimeBudget), Some(5.0)));
}
