//! Geo commands against a transcript of a real Redis 7.0.15 (`redis-cli
//! --no-raw`): scores, distances, coordinates, geohashes, the searches'
//! cells, order, COUNT/ANY and stores, every error in Redis's order.

use crate::tests::lab;

const TRANSCRIPT: &str = include_str!("tests_geo_transcript.txt");

#[test]
fn replies_match_a_real_redis_transcript() {
    crate::tests::replay_transcript(TRANSCRIPT);
}

/// splitmix64, for seeded points.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let z = (*state ^ (*state >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A value in `lo..hi` with six decimals, as a user would type it.
fn coord(state: &mut u64, lo: f64, hi: f64) -> String {
    format!("{:.6}", lo + (next(state) % 1_000_000) as f64 / 1_000_000.0 * (hi - lo))
}

/// The nine cells a search walks hold every stored point within the
/// radius (away from the poles and the antimeridian, where the cells are
/// not squares): the reply is exactly the points whose distance from the
/// centre, computed as GEODIST computes it, is within the radius, in
/// ascending order.
#[test]
fn a_radius_search_finds_exactly_the_points_within_it() {
    use super::hash;
    for seed in 0..12u64 {
        let mut l = lab();
        let mut state = seed;
        let (lon0, lat0) = (-20.0 + seed as f64 * 7.0, -50.0 + seed as f64 * 9.0);
        let mut points = Vec::new();
        for i in 0..60 {
            let (lon, lat) = (coord(&mut state, lon0 - 3.0, lon0 + 3.0), coord(&mut state, lat0 - 3.0, lat0 + 3.0));
            assert_eq!(l.cmd(&format!("geoadd g {lon} {lat} p{i}")), "(integer) 1");
            let score = hash::score_of(lon.parse().unwrap(), lat.parse().unwrap()).unwrap();
            points.push((format!("p{i}"), hash::decode(score as f64)));
        }
        let radius_km = 20 + next(&mut state) % 200;
        let centre = (lon0 + 0.5, lat0 - 0.5);
        let mut want: Vec<(f64, String)> = points
            .iter()
            .map(|(m, (lon, lat))| (hash::distance(centre.0, centre.1, *lon, *lat), m.clone()))
            .filter(|(d, _)| *d <= radius_km as f64 * 1000.0)
            .collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0));
        let want: Vec<String> = want.into_iter().map(|(_, m)| format!("\"{m}\"")).collect();
        let got = l.cmd(&format!("geosearch g fromlonlat {} {} byradius {radius_km} km asc", centre.0, centre.1));
        let got: Vec<String> = got.lines().filter_map(|l| l.split_once(") ")).map(|(_, m)| m.to_owned()).collect();
        assert!(!want.is_empty() || got.is_empty(), "seed {seed}");
        assert_eq!(got, want, "seed {seed}");
    }
}
