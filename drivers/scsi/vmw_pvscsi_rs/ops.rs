// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The SCSI host operations of a PVSCSI adapter: what the midlayer calls,
//! each one handing over to the part of the driver that does it
//! (submission, polling, error handling, attributes).

use kernel::{
    prelude::*,
    sync::atomic::ordering::Relaxed, //
};

use super::{
    adapter::Adapter,
    driver::Attribute,
    faults::Faults,
    scsi::{
        self,
        Command,
        EhCommand,
        EhResult,
        QueueMaps,
        QueueType,
        ScsiDevice, //
    },
    submit::Refusal, //
};

/// The SCSI host operations of a PVSCSI adapter.
pub(crate) struct PvscsiOps;

#[vtable]
impl scsi::Operations for PvscsiOps {
    type HostData<'bound> = Adapter<'bound>;
    type CmdData = ();
    type Attribute = Attribute;

    // Inlined into the `queuecommand` callback: one call level less.
    #[inline(always)]
    fn queue_command<'bound>(a: &'bound Adapter<'bound>, cmd: Command) -> Result<(), Command> {
        let tag = cmd.tag() as usize;
        let refused = match a.submit(cmd, tag) {
            Ok(()) => return Ok(()),
            Err(refused) => refused,
        };
        if refused.0.is_last() {
            // The batch ends here, with no request of its own to ring for:
            // ring what the earlier requests of the batch are owed (the
            // midlayer does not call `commit_rqs` after a command it thinks
            // was queued, nor always after a busy one).
            a.commit_rqs_now();
        }
        match refused {
            (cmd, Refusal::Busy) => Err(cmd),
            (cmd, Refusal::Fail(host, why)) => {
                if Faults::should_log(&a.faults.bad_submissions) {
                    dev_err!(a.dev, "refusing command (tag {}): {}\n", tag, why);
                }
                cmd.fail(host);
                Ok(())
            }
        }
    }

    fn commit_rqs<'bound>(a: &'bound Adapter<'bound>) {
        a.commit_rqs_now();
    }

    /// One interrupt-driven queue, then the poll queue if there is one;
    /// no queue of its own for reads.
    fn map_queues<'bound>(a: &'bound Adapter<'bound>, maps: &mut QueueMaps<'_>) -> Result {
        let total = maps.nr_hw_queues();
        let poll = u32::from(a.poll.is_some());
        let irq = total.checked_sub(poll).filter(|&n| n > 0).ok_or(EINVAL)?;
        maps.map(QueueType::Default, irq, 0)?;
        maps.map(QueueType::Read, 0, 0)?;
        maps.map(QueueType::Poll, poll, irq)
    }

    fn mq_poll<'bound>(a: &'bound Adapter<'bound>, _queue: u32) -> u32 {
        a.poll_completions()
    }

    fn eh_abort<'bound>(a: &'bound Adapter<'bound>, cmd: EhCommand<'_>) -> EhResult {
        a.abort(cmd).into()
    }

    fn eh_device_reset<'bound>(a: &'bound Adapter<'bound>, cmd: EhCommand<'_>) -> EhResult {
        a.device_reset(cmd).into()
    }

    fn eh_target_reset<'bound>(a: &'bound Adapter<'bound>, cmd: EhCommand<'_>) -> EhResult {
        // PVSCSI's RESET_DEVICE addresses a target; its devices have LUN 0
        // only, so a device reset already is a target reset.
        a.device_reset(cmd).into()
    }

    fn eh_bus_reset<'bound>(a: &'bound Adapter<'bound>, cmd: EhCommand<'_>) -> EhResult {
        a.bus_reset(cmd).into()
    }

    fn eh_host_reset<'bound>(a: &'bound Adapter<'bound>, cmd: EhCommand<'_>) -> EhResult {
        a.host_reset(cmd).into()
    }

    /// As the C driver: an untagged device gets a depth of 1, a tagged one
    /// what was asked (the sysfs store already refuses more than
    /// `can_queue`).
    fn change_queue_depth(sdev: &ScsiDevice, depth: u32) -> u32 {
        if sdev.tagged_supported() {
            depth
        } else {
            1
        }
    }

    fn show_attribute<'bound>(a: &'bound Adapter<'bound>, which: Attribute) -> u64 {
        match which {
            Attribute::RingPages => u64::from(a.rings.pages),
            Attribute::MsgRingPages => a
                .msg
                .as_ref()
                .filter(|m| m.is_enabled())
                .map_or(0, |m| u64::from(m.ring().pages)),
            Attribute::ReqThreshold => u64::from(a.submit.lock().req_threshold),
            Attribute::PollQueues => u64::from(a.poll.is_some()),
            Attribute::MaxId => u64::from(a.max_id),
            Attribute::BadCompletions => u64::from(a.faults.bad_completions.load(Relaxed)),
            Attribute::StaleCompletions => u64::from(a.faults.stale_completions.load(Relaxed)),
            Attribute::BadMessages => a.msg.as_ref().map_or(0, |m| u64::from(m.bad_messages())),
            Attribute::BadSubmissions => u64::from(a.faults.bad_submissions.load(Relaxed)),
            Attribute::LostCommands => u64::from(a.faults.lost_commands.load(Relaxed)),
            Attribute::UnpolledCompletions => u64::from(a.faults.unpolled.load(Relaxed)),
        }
    }
}
