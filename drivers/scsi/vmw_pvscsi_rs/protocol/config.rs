// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Module parameters: validation and the per-adapter configuration.
//!
//! The parameters keep the C driver's names, defaults and meaning. Unlike the C
//! driver, every value is checked when the module loads: a ring size that is
//! not a power of two (which panics the guest with the C driver), zero, a
//! negative value or a value above the device's maximum is refused with a
//! message naming the parameter and the allowed values.
//!
//! This file depends on `core` only, so host-side unit tests compile it as is.

use core::fmt;

use super::abi::{
    MAX_MSG_RING_PAGES,
    MAX_RING_PAGES,
    MAX_TARGETS, //
};

/// Default pages of the message ring.
pub(crate) const DEFAULT_MSG_RING_PAGES: u32 = 1;
/// Default (and maximum) queue depth of a LUN.
pub(crate) const DEFAULT_CMD_PER_LUN: u32 = 254;
/// Maximum queue depth of a LUN.
pub(crate) const MAX_CMD_PER_LUN: u32 = 254;
/// Ring pages chosen when the device reports at most 16 targets.
pub(crate) const AUTO_RING_PAGES_SMALL: u32 = 8;
/// Ring pages chosen when the device reports more than 16 targets.
pub(crate) const AUTO_RING_PAGES_LARGE: u32 = MAX_RING_PAGES;
/// Most hardware queues for polled I/O: the device has one completion ring,
/// which more poll queues would only contend for.
pub(crate) const MAX_POLL_QUEUES: u32 = 1;

/// Raw module parameter values, as the user gave them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawParams {
    /// `ring_pages`: 0 (automatic) or pages of the request and completion rings.
    pub(crate) ring_pages: i32,
    /// `msg_ring_pages`: pages of the message ring.
    pub(crate) msg_ring_pages: i32,
    /// `cmd_per_lun`: queue depth of each LUN.
    pub(crate) cmd_per_lun: i32,
    /// `disable_msi`: do not use MSI.
    pub(crate) disable_msi: bool,
    /// `disable_msix`: do not use MSI-X.
    pub(crate) disable_msix: bool,
    /// `use_msg`: use the message ring for hot-plug notifications.
    pub(crate) use_msg: bool,
    /// `use_req_threshold`: use driver-side request coalescing if the device has it.
    pub(crate) use_req_threshold: bool,
    /// `poll_queues`: hardware queues for polled I/O (io_uring `IOPOLL`).
    pub(crate) poll_queues: i32,
}

/// The validated configuration of an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// Pages of the request and completion rings; `None` chooses from the target count.
    pub(crate) ring_pages: Option<u32>,
    /// Pages of the message ring.
    pub(crate) msg_ring_pages: u32,
    /// Queue depth of each LUN (before clamping to the host's queue).
    pub(crate) cmd_per_lun: u32,
    /// Whether MSI may be used.
    pub(crate) allow_msi: bool,
    /// Whether MSI-X may be used.
    pub(crate) allow_msix: bool,
    /// Whether to use the message ring.
    pub(crate) use_msg: bool,
    /// Whether to use request coalescing.
    pub(crate) use_req_threshold: bool,
    /// Hardware queues for polled I/O, besides the interrupt-driven one.
    pub(crate) poll_queues: u32,
}

/// A parameter value that was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParamError {
    /// The parameter's name.
    pub(crate) name: &'static str,
    /// The refused value.
    pub(crate) value: i32,
    /// What the parameter accepts.
    pub(crate) allowed: &'static str,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}={}: {}", self.name, self.value, self.allowed)
    }
}

/// Checks that `value` is a power of two in `1..=max`.
fn ring_pages_in(
    name: &'static str,
    value: i32,
    max: u32,
    allowed: &'static str,
) -> Result<u32, ParamError> {
    let err = ParamError {
        name,
        value,
        allowed,
    };
    let pages = u32::try_from(value).map_err(|_| err)?;
    if pages == 0 || pages > max || !pages.is_power_of_two() {
        return Err(err);
    }
    Ok(pages)
}

impl Config {
    /// Validates raw parameter values.
    ///
    /// # Errors
    ///
    /// Returns the first invalid parameter.
    pub(crate) fn from_params(p: &RawParams) -> Result<Self, ParamError> {
        let ring_pages = if p.ring_pages == 0 {
            None
        } else {
            Some(ring_pages_in(
                "ring_pages",
                p.ring_pages,
                MAX_RING_PAGES,
                "allowed values are 0 (automatic) and 1, 2, 4, 8, 16, 32",
            )?)
        };
        let msg_ring_pages = ring_pages_in(
            "msg_ring_pages",
            p.msg_ring_pages,
            MAX_MSG_RING_PAGES,
            "allowed values are 1, 2, 4, 8, 16",
        )?;
        let cmd_per_lun = u32::try_from(p.cmd_per_lun)
            .ok()
            .filter(|v| (1..=MAX_CMD_PER_LUN).contains(v))
            .ok_or(ParamError {
                name: "cmd_per_lun",
                value: p.cmd_per_lun,
                allowed: "allowed values are 1 to 254",
            })?;
        let poll_queues = u32::try_from(p.poll_queues)
            .ok()
            .filter(|v| *v <= MAX_POLL_QUEUES)
            .ok_or(ParamError {
                name: "poll_queues",
                value: p.poll_queues,
                allowed: "allowed values are 0 and 1",
            })?;
        Ok(Self {
            ring_pages,
            msg_ring_pages,
            cmd_per_lun,
            allow_msi: !p.disable_msi,
            allow_msix: !p.disable_msix,
            use_msg: p.use_msg,
            use_req_threshold: p.use_req_threshold,
            poll_queues,
        })
    }

    /// Pages of the request and completion rings for an adapter.
    ///
    /// Automatic sizing follows the C driver: 32 pages when the device reports
    /// more than 16 targets, otherwise 8. A device that reports nothing (QEMU)
    /// gets 8 pages even though the driver then scans all 64 targets.
    pub(crate) fn ring_pages_for(&self, reported_targets: Option<u32>) -> u32 {
        match (self.ring_pages, reported_targets) {
            (Some(pages), _) => pages,
            (None, Some(t)) if t > 16 => AUTO_RING_PAGES_LARGE,
            (None, _) => AUTO_RING_PAGES_SMALL,
        }
    }
}

/// The target count a device reported in its controller configuration page
/// (`numPhys`), if the driver can use it: 1 to [`MAX_TARGETS`], the targets
/// a request can address.
///
/// VMware reports 16 on older virtual hardware and 65 (ids 0 to 64) on
/// vSphere hosts that take 64 disks per controller. The C driver takes any
/// value, 0 (nothing scanned) and billions included.
pub(crate) fn reported_targets(num_phys: u32) -> Option<u32> {
    (1..=MAX_TARGETS).contains(&num_phys).then_some(num_phys)
}

/// The C driver's defaults.
pub(crate) const DEFAULT_PARAMS: RawParams = RawParams {
    ring_pages: 0,
    msg_ring_pages: DEFAULT_MSG_RING_PAGES as i32,
    cmd_per_lun: DEFAULT_CMD_PER_LUN as i32,
    disable_msi: false,
    disable_msix: false,
    use_msg: true,
    use_req_threshold: true,
    // Not a parameter of the C driver, which has no polled I/O.
    poll_queues: 0,
};

/// Test cases (see [`super::check`]).
#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod cases {
    use super::*;
    use crate::check::{
        check,
        CaseResult, //
    };

    fn with(f: impl FnOnce(&mut RawParams)) -> Result<Config, ParamError> {
        let mut p = DEFAULT_PARAMS;
        f(&mut p);
        Config::from_params(&p)
    }

    fn refused(name: &str, value: i32, r: Result<Config, ParamError>) -> bool {
        matches!(r, Err(e) if e.name == name && e.value == value)
    }

    /// The defaults are the C driver's.
    pub(crate) fn defaults_are_the_c_drivers() -> CaseResult {
        let c = with(|_| {});
        check!(matches!(c, Ok(c) if c.ring_pages.is_none()
            && c.msg_ring_pages == 1
            && c.cmd_per_lun == 254
            && c.allow_msi && c.allow_msix && c.use_msg && c.use_req_threshold
            && c.poll_queues == 0));
        Ok(())
    }

    /// `ring_pages` is 0 or a power of two up to 32.
    pub(crate) fn ring_pages_power_of_two_up_to_32() -> CaseResult {
        for ok in [1, 2, 4, 8, 16, 32] {
            check!(matches!(with(|p| p.ring_pages = ok), Ok(c) if c.ring_pages == Some(ok as u32)));
        }
        for bad in [3, 5, 6, 7, 12, 33, 64, -1, -8, i32::MIN, i32::MAX] {
            check!(refused("ring_pages", bad, with(|p| p.ring_pages = bad)));
        }
        Ok(())
    }

    /// `msg_ring_pages` is a power of two up to 16.
    pub(crate) fn msg_ring_pages_power_of_two_up_to_16() -> CaseResult {
        for ok in [1, 2, 4, 8, 16] {
            check!(
                matches!(with(|p| p.msg_ring_pages = ok), Ok(c) if c.msg_ring_pages == ok as u32)
            );
        }
        for bad in [0, 3, 32, -1] {
            check!(refused(
                "msg_ring_pages",
                bad,
                with(|p| p.msg_ring_pages = bad)
            ));
        }
        Ok(())
    }

    /// `cmd_per_lun` is 1 to 254.
    pub(crate) fn cmd_per_lun_range() -> CaseResult {
        check!(matches!(with(|p| p.cmd_per_lun = 1), Ok(c) if c.cmd_per_lun == 1));
        check!(matches!(with(|p| p.cmd_per_lun = 254), Ok(c) if c.cmd_per_lun == 254));
        for bad in [0, -1, 255, 100000] {
            check!(refused("cmd_per_lun", bad, with(|p| p.cmd_per_lun = bad)));
        }
        Ok(())
    }

    /// `poll_queues` is 0 or 1.
    pub(crate) fn poll_queues_0_or_1() -> CaseResult {
        check!(matches!(with(|p| p.poll_queues = 0), Ok(c) if c.poll_queues == 0));
        check!(matches!(with(|p| p.poll_queues = 1), Ok(c) if c.poll_queues == 1));
        for bad in [2, 4, -1, i32::MIN, i32::MAX] {
            check!(refused("poll_queues", bad, with(|p| p.poll_queues = bad)));
        }
        Ok(())
    }

    /// The refusal names the allowed values.
    pub(crate) fn refusal_names_allowed_values() -> CaseResult {
        let e = with(|p| p.ring_pages = 3);
        let allowed = "allowed values are 0 (automatic) and 1, 2, 4, 8, 16, 32";
        check!(matches!(e, Err(e) if e.allowed == allowed));
        let e = with(|p| p.msg_ring_pages = 0);
        check!(matches!(e, Err(e) if e.allowed == "allowed values are 1, 2, 4, 8, 16"));
        Ok(())
    }

    /// Automatic ring sizing follows the reported target count.
    pub(crate) fn automatic_ring_size() -> CaseResult {
        let Ok(c) = with(|_| {}) else {
            check!(false);
            return Ok(());
        };
        check!(c.ring_pages_for(None) == 8);
        check!(c.ring_pages_for(Some(16)) == 8);
        check!(c.ring_pages_for(Some(64)) == 32);
        check!(c.ring_pages_for(Some(65)) == 32);
        check!(matches!(with(|p| p.ring_pages = 2), Ok(c) if c.ring_pages_for(Some(64)) == 2));
        Ok(())
    }

    /// Every target count a request can address is taken, nothing else;
    /// VMware's 16 and 65 among them.
    pub(crate) fn reported_target_counts() -> CaseResult {
        for n in [1, 16, 64, 65, 256] {
            check!(reported_targets(n) == Some(n));
        }
        for n in [0, 257, 0x1000, u32::MAX] {
            check!(reported_targets(n).is_none());
        }
        Ok(())
    }

    /// The disable flags turn features off.
    pub(crate) fn disable_flags() -> CaseResult {
        let c = with(|p| {
            p.disable_msi = true;
            p.disable_msix = true;
            p.use_msg = false;
        });
        check!(matches!(c, Ok(c) if !c.allow_msi && !c.allow_msix && !c.use_msg));
        Ok(())
    }
}
