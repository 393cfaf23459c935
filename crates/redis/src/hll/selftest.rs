//! PFSELFTEST (`pfselftestCommand`): the register packing, then dense and
//! sparse HLLs fed the same ten million elements, which must agree and stay
//! within six standard errors at each power of ten. Its random values come
//! from the draw the command table gives random commands, so a run is
//! reproducible.

use super::repr::{self, REGISTERS};
use resp::Value;

/// Register-packing rounds (`HLL_TEST_CYCLES`).
const CYCLES: u32 = 1000;
/// Elements added in the accuracy test.
const ELEMENTS: u64 = 10_000_000;

/// PFSELFTEST's reply, drawing from `seed`; its sparse HLL turns dense
/// past `max_sparse` bytes (`hll-sparse-max-bytes`).
pub(super) fn run(seed: u64, max_sparse: usize) -> Value {
    match check(seed, CYCLES, ELEMENTS, max_sparse) {
        Ok(()) => Value::ok(),
        Err(text) => Value::error(text),
    }
}

/// splitmix64, for the register values and the element seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn check(mut seed: u64, cycles: u32, elements: u64, max_sparse: usize) -> Result<(), String> {
    let mut dense = repr::new_sparse();
    repr::to_dense(&mut dense).expect("an empty HLL is valid");
    for _ in 0..cycles {
        let mut values = [0u8; REGISTERS];
        values.iter_mut().for_each(|v| *v = (next(&mut seed) & 63) as u8);
        repr::write_registers(&mut dense, &values);
        let back = repr::registers(&dense);
        if let Some(i) = (0..REGISTERS).find(|&i| back[i] != values[i]) {
            return Err(format!("TESTFAILED Register {i} should be {} but is {}", values[i], back[i]));
        }
    }
    repr::write_registers(&mut dense, &[0; REGISTERS]);
    accuracy(&mut dense, next(&mut seed), elements, max_sparse)
}

/// Test 2: the same elements into `dense` and a new sparse HLL.
fn accuracy(dense: &mut crate::keyspace::Str, seed: u64, elements: u64, max_sparse: usize) -> Result<(), String> {
    let mut sparse = repr::new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint = 1;
    for j in 1..=elements {
        let ele = (j ^ seed).to_le_bytes();
        let _ = repr::add(dense, &ele, max_sparse);
        let _ = repr::add(&mut sparse, &ele, max_sparse);
        if j != checkpoint {
            continue;
        }
        if j < (max_sparse / 2) as u64 && repr::is_dense(&sparse) {
            return Err("TESTFAILED sparse encoding not used".to_owned());
        }
        let card = repr::count(dense).map_err(|_| "TESTFAILED dense/sparse disagree".to_owned())?;
        if repr::count(&sparse).ok() != Some(card) {
            return Err("TESTFAILED dense/sparse disagree".to_owned());
        }
        let maxerr = if j == 10 { 1 } else { (relerr * 6.0 * checkpoint as f64).ceil() as u64 };
        if checkpoint.abs_diff(card) > maxerr {
            let abserr = checkpoint.abs_diff(card);
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_and_a_hundred_thousand_elements_pass() {
        assert_eq!(check(7, 3, 100_000, repr::SPARSE_MAX_BYTES), Ok(()));
    }
}
