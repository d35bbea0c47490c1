// SPDX-License-Identifier: GPL-2.0

//! Parameter parsing: `config::Config::from_params` of the module
//! parameters as the user gives them.
//!
//! The harness checks, for every combination of values:
//!
//! - a configuration is accepted exactly when `ring_pages` is 0 or a power
//!   of two up to 32, `msg_ring_pages` a power of two up to 16 and
//!   `cmd_per_lun` within 1 to 254, and then it holds the given values and
//!   the flags' meaning;
//! - a refusal names the first invalid parameter (in the order above), its
//!   value as given and the allowed values of that parameter, and its
//!   message reads `invalid NAME=VALUE: ALLOWED`;
//! - the ring size chosen for any reported target count is the explicit one
//!   or the automatic rule's (32 pages above 16 targets, else 8), and every
//!   accepted configuration gives request, completion and message rings that
//!   `Ring::new` accepts, as adapter setup needs.

use arbitrary::Arbitrary;

use crate::abi::{
    CMP_ENTRIES_PER_PAGE, MAX_MSG_RING_PAGES, MAX_RING_PAGES, MSG_ENTRIES_PER_PAGE,
    REQ_ENTRIES_PER_PAGE,
};
use crate::config::{Config, ParamError, RawParams, MAX_CMD_PER_LUN};
use crate::ring_index::Ring;

/// An integer parameter value: a listed boundary or raw.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Value {
    /// The boundary value at this index (modulo their count).
    Listed(u8),
    /// This value.
    Raw(i32),
}

impl Value {
    /// The value.
    fn get(self) -> i32 {
        const LISTED: [i32; 16] = [
            0,
            1,
            2,
            3,
            8,
            16,
            17,
            32,
            33,
            64,
            253,
            254,
            255,
            -1,
            i32::MIN,
            i32::MAX,
        ];
        match self {
            Value::Listed(i) => LISTED[usize::from(i) % LISTED.len()],
            Value::Raw(v) => v,
        }
    }
}

/// Module parameters and the target count a device reports.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Input {
    /// `ring_pages`.
    pub ring_pages: Value,
    /// `msg_ring_pages`.
    pub msg_ring_pages: Value,
    /// `cmd_per_lun`.
    pub cmd_per_lun: Value,
    /// `disable_msi`.
    pub disable_msi: bool,
    /// `disable_msix`.
    pub disable_msix: bool,
    /// `use_msg`.
    pub use_msg: bool,
    /// `use_req_threshold`.
    pub use_req_threshold: bool,
    /// `poll_queues`.
    pub poll_queues: Value,
    /// Targets the device reports, if it does.
    pub reported_targets: Option<u32>,
}

/// Whether `v` is a power of two in `1..=max`.
fn power_of_two_up_to(v: i32, max: u32) -> bool {
    v > 0 && (v as u32).is_power_of_two() && v as u32 <= max
}

/// The first invalid parameter, per the documentation: (name, value,
/// allowed values).
fn first_invalid(p: &RawParams) -> Option<(&'static str, i32, &'static str)> {
    if p.ring_pages != 0 && !power_of_two_up_to(p.ring_pages, MAX_RING_PAGES) {
        Some((
            "ring_pages",
            p.ring_pages,
            "allowed values are 0 (automatic) and 1, 2, 4, 8, 16, 32",
        ))
    } else if !power_of_two_up_to(p.msg_ring_pages, MAX_MSG_RING_PAGES) {
        Some((
            "msg_ring_pages",
            p.msg_ring_pages,
            "allowed values are 1, 2, 4, 8, 16",
        ))
    } else if !(1..=254).contains(&p.cmd_per_lun) {
        Some(("cmd_per_lun", p.cmd_per_lun, "allowed values are 1 to 254"))
    } else if !(0..=1).contains(&p.poll_queues) {
        Some(("poll_queues", p.poll_queues, "allowed values are 0 and 1"))
    } else {
        None
    }
}

/// Checks an accepted configuration.
fn check_accepted(p: &RawParams, c: &Config, reported: Option<u32>) {
    match c.ring_pages {
        None => assert_eq!(p.ring_pages, 0),
        Some(n) => {
            assert!(n.is_power_of_two() && n <= MAX_RING_PAGES, "ring_pages {n}");
            assert_eq!(i64::from(n), i64::from(p.ring_pages));
        }
    }
    let m = c.msg_ring_pages;
    assert!(m.is_power_of_two() && m <= MAX_MSG_RING_PAGES, "msg {m}");
    assert_eq!(i64::from(m), i64::from(p.msg_ring_pages));
    assert!((1..=MAX_CMD_PER_LUN).contains(&c.cmd_per_lun));
    assert_eq!(i64::from(c.cmd_per_lun), i64::from(p.cmd_per_lun));
    assert_eq!(c.allow_msi, !p.disable_msi);
    assert_eq!(c.allow_msix, !p.disable_msix);
    assert_eq!(c.use_msg, p.use_msg);
    assert_eq!(c.use_req_threshold, p.use_req_threshold);
    assert_eq!(i64::from(c.poll_queues), i64::from(p.poll_queues));

    let pages = c.ring_pages_for(reported);
    let auto = if matches!(reported, Some(t) if t > 16) {
        32
    } else {
        8
    };
    assert_eq!(
        pages,
        c.ring_pages.unwrap_or(auto),
        "ring size for {reported:?}"
    );
    // What adapter setup builds from it must exist.
    assert!(Ring::new(pages, REQ_ENTRIES_PER_PAGE as u32).is_some());
    assert!(Ring::new(pages, CMP_ENTRIES_PER_PAGE as u32).is_some());
    assert!(Ring::new(m, MSG_ENTRIES_PER_PAGE as u32).is_some());
}

/// Checks a refusal.
fn check_refused(p: &RawParams, e: &ParamError) {
    let Some((name, value, allowed)) = first_invalid(p) else {
        panic!("valid parameters refused: {e:?}");
    };
    assert_eq!((e.name, e.value, e.allowed), (name, value, allowed));
    assert_eq!(e.to_string(), format!("invalid {name}={value}: {allowed}"));
}

/// Checks the validation of one set of parameters.
pub fn run(input: &Input) {
    let p = RawParams {
        ring_pages: input.ring_pages.get(),
        msg_ring_pages: input.msg_ring_pages.get(),
        cmd_per_lun: input.cmd_per_lun.get(),
        disable_msi: input.disable_msi,
        disable_msix: input.disable_msix,
        use_msg: input.use_msg,
        use_req_threshold: input.use_req_threshold,
        poll_queues: input.poll_queues.get(),
    };
    match Config::from_params(&p) {
        Ok(c) => {
            assert_eq!(first_invalid(&p), None, "accepted {p:?}");
            check_accepted(&p, &c, input.reported_targets);
        }
        Err(e) => check_refused(&p, &e),
    }
}
