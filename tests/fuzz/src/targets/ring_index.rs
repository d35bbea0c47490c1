// SPDX-License-Identifier: GPL-2.0

//! Ring geometry and free-running index arithmetic: `ring_index::Ring`.
//!
//! Two parts. The geometry part builds a ring from arbitrary page counts
//! (module parameters times descriptors per page) and probes it with
//! arbitrary indices, as the device may write them:
//!
//! - `Ring::new` succeeds exactly when `pages * per_page` is a power of two
//!   that fits in `u32`, and then `entries()` is that product and
//!   `log2() < 32`;
//! - `slot(i) < entries()`, and it is `i % entries()`;
//! - `pending(prod, cons)` is `Ok(prod - cons)` (wrapping) when that is at
//!   most `entries()`, and otherwise an error naming both indices;
//! - `check_device_log2` accepts the ring's own log2 only.
//!
//! The simulation part runs a producer and a consumer over a small ring from
//! an arbitrary starting index (so across the `u32` wrap-around), the way the
//! driver and the device use the rings, against a model queue: a producer
//! that stops when `pending` says the ring is full never overwrites a slot
//! still pending, the consumer reads back every entry in order, and
//! `pending` always equals the model's count.

use arbitrary::Arbitrary;

use crate::ring_index::{Overrun, Ring};

/// One step of the simulation.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Step {
    /// The producer tries to add this many entries (stopping when full).
    Produce(u8),
    /// The consumer takes up to this many entries.
    Consume(u8),
    /// Probe `pending` with a corrupt producer index.
    Corrupt(u32),
}

/// A ring geometry, probes, and a simulation.
#[derive(Arbitrary, Clone, Debug)]
pub struct Input {
    /// Pages of the ring.
    pub pages: u32,
    /// Descriptors per page.
    pub per_page: u32,
    /// log2 of the ring size, as the device writes it back.
    pub device_log2: u32,
    /// Index pairs (producer, consumer) to probe the ring with.
    pub probes: Vec<(u32, u32)>,
    /// log2 of the simulated ring's size (modulo 13: at most 4096 entries).
    pub sim_log2: u8,
    /// Free-running index both sides start at.
    pub start: u32,
    /// What the producer and consumer do.
    pub steps: Vec<Step>,
}

/// Checks one (producer, consumer) pair on `r`.
fn probe(r: Ring, prod: u32, cons: u32) {
    let entries = r.entries();
    let n = prod.wrapping_sub(cons);
    match r.pending(prod, cons) {
        Ok(p) => {
            assert_eq!(p, n);
            assert!(p <= entries, "{p} pending in a ring of {entries}");
        }
        Err(e) => {
            assert!(n > entries, "refused {n} pending of {entries}");
            assert_eq!(e, Overrun { prod, cons });
        }
    }
    for i in [prod, cons] {
        let s = r.slot(i);
        assert!(s < entries as usize, "slot {s} of {entries}");
        assert_eq!(s as u64, u64::from(i) % u64::from(entries));
    }
}

/// Checks the geometry of `Ring::new(pages, per_page)`.
fn geometry(input: &Input) {
    let product = input.pages.checked_mul(input.per_page);
    let Some(r) = Ring::new(input.pages, input.per_page) else {
        assert!(
            !matches!(product, Some(p) if p.is_power_of_two()),
            "refused {} x {}",
            input.pages,
            input.per_page
        );
        return;
    };
    assert_eq!(Some(r.entries()), product, "entries");
    assert!(r.log2() < 32);
    assert_eq!(1u64 << r.log2(), u64::from(r.entries()));
    assert_eq!(
        r.check_device_log2(input.device_log2),
        input.device_log2 == r.log2()
    );
    assert!(r.check_device_log2(r.log2()));
    for &(prod, cons) in input.probes.iter().take(64) {
        probe(r, prod, cons);
    }
}

/// Runs the producer and consumer against a model queue.
fn simulate(input: &Input) {
    let log2 = u32::from(input.sim_log2 % 13);
    let Some(r) = Ring::new(1 << log2, 1) else {
        panic!("no ring of 2^{log2} entries");
    };
    let entries = r.entries();
    // The ring's slots: the sequence number of the entry each holds.
    let mut slots: Vec<Option<u64>> = vec![None; entries as usize];
    let (mut prod, mut cons) = (input.start, input.start);
    let (mut next, mut expect) = (0u64, 0u64);
    for step in input.steps.iter().take(256) {
        match *step {
            Step::Produce(k) => {
                for _ in 0..k {
                    if r.pending(prod, cons).map_or(true, |n| n >= entries) {
                        assert_eq!(next - expect, u64::from(entries), "full too early");
                        break;
                    }
                    let s = r.slot(prod);
                    assert_eq!(slots[s], None, "slot {s} overwritten while pending");
                    slots[s] = Some(next);
                    next += 1;
                    prod = prod.wrapping_add(1);
                }
            }
            Step::Consume(k) => {
                let Ok(n) = r.pending(prod, cons) else {
                    panic!("valid indices {prod} {cons} refused");
                };
                for _ in 0..n.min(u32::from(k)) {
                    let s = r.slot(cons);
                    assert_eq!(slots[s].take(), Some(expect), "slot {s} read out of order");
                    expect += 1;
                    cons = cons.wrapping_add(1);
                }
            }
            Step::Corrupt(p) => probe(r, p, cons),
        }
        assert_eq!(r.pending(prod, cons), Ok((next - expect) as u32));
    }
}

/// Checks the geometry and the simulation of one input.
pub fn run(input: &Input) {
    geometry(input);
    simulate(input);
}
