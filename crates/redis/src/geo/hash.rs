//! Geohashes as Redis 7.0 computes them (geohash.c, geohash_helper.c): 26
//! bits of latitude and 26 of longitude interleaved into the 52-bit score of
//! a sorted-set member, the cell and its eight neighbours a search covers,
//! and the haversine distance on a sphere of 6372797.560856 m. Operations
//! are done in Redis's order so that every double comes out the same.

/// Bits per coordinate of a stored score (`GEO_STEP_MAX`).
pub(crate) const STEP_MAX: u32 = 26;
pub(crate) const LAT_MIN: f64 = -85.051_128_78;
pub(crate) const LAT_MAX: f64 = 85.051_128_78;
pub(crate) const LONG_MIN: f64 = -180.0;
pub(crate) const LONG_MAX: f64 = 180.0;
const EARTH_RADIUS_M: f64 = 6_372_797.560_856;
const MERCATOR_MAX: f64 = 20_037_726.37;

/// A cell: `step` bits per coordinate, interleaved (latitude in the even
/// bits). Step 0 marks a neighbour left out of the search (`GZERO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cell {
    pub(crate) bits: u64,
    pub(crate) step: u32,
}

/// A cell's corners.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Area {
    pub(crate) long_min: f64,
    pub(crate) long_max: f64,
    pub(crate) lat_min: f64,
    pub(crate) lat_max: f64,
}

/// Spreads the low 32 bits of `v` over the even bits.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// The even bits of `v`, packed.
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x >> 4)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x >> 8)) & 0x0000_ffff_0000_ffff;
    ((x | (x >> 16)) & 0x0000_0000_ffff_ffff) as u32
}

/// `geohashEncode` over the given latitude range (Redis's own ±85.05 for
/// scores, ±90 for GEOHASH's standard strings); `None` outside the ranges.
pub(crate) fn encode(long: f64, lat: f64, lat_range: (f64, f64), step: u32) -> Option<Cell> {
    let outside = !(LONG_MIN..=LONG_MAX).contains(&long) || !(LAT_MIN..=LAT_MAX).contains(&lat);
    if outside || lat < lat_range.0 || lat > lat_range.1 {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (lat - lat_range.0) / (lat_range.1 - lat_range.0) * scale;
    let long_offset = (long - LONG_MIN) / (LONG_MAX - LONG_MIN) * scale;
    // C converts the offsets to uint32_t, truncating.
    let bits = spread(lat_offset as u32) | (spread(long_offset as u32) << 1);
    Some(Cell { bits, step })
}

/// The 52-bit score of a point (`geohashEncodeWGS84` then `geohashAlign52Bits`).
pub(crate) fn score_of(long: f64, lat: f64) -> Option<u64> {
    encode(long, lat, (LAT_MIN, LAT_MAX), STEP_MAX).map(align52)
}

/// `geohashAlign52Bits`.
pub(crate) fn align52(c: Cell) -> u64 {
    c.bits << (52 - c.step * 2)
}

/// `geohashDecode` in Redis's ranges.
pub(crate) fn area(c: Cell) -> Area {
    let lat = f64::from(squash(c.bits));
    let long = f64::from(squash(c.bits >> 1));
    let cells = (1u64 << c.step) as f64;
    let (lat_scale, long_scale) = (LAT_MAX - LAT_MIN, LONG_MAX - LONG_MIN);
    Area {
        lat_min: LAT_MIN + (lat / cells) * lat_scale,
        lat_max: LAT_MIN + ((lat + 1.0) / cells) * lat_scale,
        long_min: LONG_MIN + (long / cells) * long_scale,
        long_max: LONG_MIN + ((long + 1.0) / cells) * long_scale,
    }
}

/// C's `(uint64_t)` conversion of a double as x86-64 does it: negative
/// values wrap, values out of range and NaN become 2^63 then lose it.
fn c_to_u64(d: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let cvtt = |d: f64| if d.is_nan() || !(-TWO_63..TWO_63).contains(&d) { 1u64 << 63 } else { d as i64 as u64 };
    if d < TWO_63 { cvtt(d) } else { cvtt(d - TWO_63) ^ (1 << 63) }
}

/// The point a score stands for: its cell's centre, clamped to the ranges
/// (`decodeGeohash`).
pub(crate) fn decode(score: f64) -> (f64, f64) {
    let a = area(Cell { bits: c_to_u64(score), step: STEP_MAX });
    let long = ((a.long_min + a.long_max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat_min + a.lat_max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (long, lat)
}

/// `geohash_move_x` (`east`: +1, -1) and `geohash_move_y`: the cell next to
/// `c`, wrapping around.
fn moved(c: Cell, dx: i8, dy: i8) -> Cell {
    let mut bits = c.bits;
    let shift = 64 - c.step * 2;
    for (d, moving, mask) in
        [(dx, 0xaaaa_aaaa_aaaa_aaaa_u64, 0x5555_5555_5555_5555_u64), (dy, 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa)]
    {
        if d == 0 {
            continue;
        }
        let (mut v, kept) = (bits & moving, bits & mask);
        let zz = mask >> shift;
        v = if d > 0 { v.wrapping_add(zz + 1) } else { (v | zz).wrapping_sub(zz + 1) };
        bits = (v & (moving >> shift)) | kept;
    }
    Cell { bits, step: c.step }
}

/// `geohashEstimateStepsByRadius`.
fn steps_for(mut range_m: f64, lat: f64) -> u32 {
    if range_m == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, STEP_MAX as i32) as u32
}

fn deg_rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn rad_deg(r: f64) -> f64 {
    r / (std::f64::consts::PI / 180.0)
}

/// `geohashGetLatDistance`.
pub(crate) fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// `geohashGetDistance`: haversine, in meters.
pub(crate) fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// What a search covers, in its unit, and the unit in meters (Redis keeps
/// both and multiplies where it needs meters, so the doubles round as there).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) kind: Kind,
    pub(crate) to_meters: f64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// The cells `geohashCalculateAreasByShapeWGS84` picks around (`long`,
/// `lat`) for `shape`: the centre cell, then north, south, east, west,
/// north-east, north-west, south-east, south-west, those it leaves out with
/// step 0.
pub(crate) fn search_cells(long: f64, lat: f64, shape: Shape) -> [Cell; 9] {
    let conv = shape.to_meters;
    let (half_h, half_w, radius) = match shape.kind {
        Kind::Radius(r) => (conv * r, conv * r, r * conv),
        Kind::Box { width, height } => {
            let corner = ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt();
            (conv * (height / 2.0), conv * (width / 2.0), corner * conv)
        }
    };
    let lat_delta = rad_deg(half_h / EARTH_RADIUS_M);
    let long_delta_top = rad_deg(half_w / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
    let long_delta_bottom = rad_deg(half_w / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
    let long_delta = if lat < 0.0 { long_delta_bottom } else { long_delta_top };
    let (min_lon, max_lon) = (long - long_delta, long + long_delta);
    let (min_lat, max_lat) = (lat - lat_delta, lat + lat_delta);
    let mut steps = steps_for(radius, lat);
    let at = |steps| encode(long, lat, (LAT_MIN, LAT_MAX), steps).unwrap_or(Cell { bits: 0, step: steps });
    let mut centre = at(steps);
    let too_coarse = area(moved(centre, 0, 1)).lat_max < max_lat
        || area(moved(centre, 0, -1)).lat_min > min_lat
        || area(moved(centre, 1, 0)).long_max < max_lon
        || area(moved(centre, -1, 0)).long_min > min_lon;
    if steps > 1 && too_coarse {
        steps -= 1;
        centre = at(steps);
    }
    let a = area(centre);
    let mut cells = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)]
        .map(|(dx, dy)| moved(centre, dx, dy));
    if steps >= 2 {
        let off = Cell { bits: 0, step: 0 };
        let drop = |cells: &mut [Cell; 9], which: [usize; 3]| which.iter().for_each(|&i| cells[i] = off);
        if a.lat_min < min_lat {
            drop(&mut cells, [2, 8, 7]);
        }
        if a.lat_max > max_lat {
            drop(&mut cells, [1, 5, 6]);
        }
        if a.long_min < min_lon {
            drop(&mut cells, [4, 8, 6]);
        }
        if a.long_max > max_lon {
            drop(&mut cells, [3, 7, 5]);
        }
    }
    cells
}

/// The distance from the centre if the point is inside the shape
/// (`geohashGetDistanceIfInRadiusWGS84` / `geohashGetDistanceIfInRectangle`).
pub(crate) fn within(centre: (f64, f64), point: (f64, f64), shape: Shape) -> Option<f64> {
    let ((x1, y1), (x2, y2)) = (centre, point);
    let conv = shape.to_meters;
    match shape.kind {
        Kind::Radius(r) => Some(distance(x1, y1, x2, y2)).filter(|&d| d <= r * conv),
        Kind::Box { width, height } => {
            if lat_distance(y2, y1) > height * conv / 2.0 || distance(x2, y2, x1, y2) > width * conv / 2.0 {
                return None;
            }
            Some(distance(x1, y1, x2, y2))
        }
    }
}

/// GEOHASH's 11-character standard geohash of a stored score.
pub(crate) fn standard_geohash(score: f64) -> String {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (long, lat) = decode(score);
    let bits = encode(long, lat, (-90.0, 90.0), STEP_MAX).map_or(0, |c| c.bits);
    (0..11)
        .map(|i| if i == 10 { '0' } else { ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize] as char })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreading_and_squashing_are_inverse() {
        for v in [0u32, 1, 0x3ff_ffff, 0x155_5555, 12_345_678] {
            assert_eq!(squash(spread(v)), v);
            assert_eq!(squash(spread(v) >> 1), 0);
        }
    }

    #[test]
    fn moving_east_then_west_comes_back() {
        let c = encode(13.361389, 38.115556, (LAT_MIN, LAT_MAX), 10).unwrap();
        for (dx, dy) in [(1, 0), (0, 1), (1, 1), (-1, -1)] {
            assert_eq!(moved(moved(c, dx, dy), -dx, -dy), c);
        }
        let east = area(moved(c, 1, 0));
        assert_eq!(east.long_min, area(c).long_max);
    }
}
