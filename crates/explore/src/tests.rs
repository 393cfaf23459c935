use super::*;

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
