// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! The PCI driver: device table, probe, unbind, shutdown and system sleep.
//!
//! Resources are owned by RAII and released in mirror order, on every error
//! path of probe as on unbind: the SCSI host, then the interrupt, then the
//! vectors, then the adapter (which resets the device before its DMA memory
//! is freed), then the register mapping.
//!
//! Shutdown runs from `device_shutdown()`, after the disks' own shutdown
//! (their final SYNCHRONIZE CACHE), and resets the adapter. Suspend,
//! freeze and power-off (the disks are already quiesced) stop the adapter
//! the same way, keeping submission paused; resume, thaw and restore reset
//! it, register the rings and the interrupt mask again and rescan for disks
//! that came or went meanwhile.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    io::{
        register,
        register::Array,
        Io, //
    },
    pci::{
        self,
        IrqType,
        IrqTypes, //
    },
    prelude::*,
    sync::Arc, //
};

use super::{
    abi::{
        MAX_SG_ENTRIES,
        MEM_SPACE_SIZE, //
    },
    adapter::{
        Adapter,
        Gate, //
    },
    additions::{
        self,
        PciIrq,
        PmDriver,
        Sleep, //
    },
    complete::IrqHandler,
    config::Config,
    hw::Hw,
    ops::PvscsiOps,
    params,
    probe,
    scsi::{
        self,
        Host,
        HostByte,
        HostLimits,
        Registration,
        Template,
        TemplateOptions, //
    }, //
};

/// PCI device id of the VMware PVSCSI adapter.
const PCI_DEVICE_ID_VMWARE_PVSCSI: u32 = 0x07c0;

/// Registers of PCI configuration space the driver reads.
mod pci_cfg {
    use super::register;

    register! {
        /// Base address registers.
        pub(super) BAR(u32)[6] @ 0x10 {
            /// 1 for an I/O-space BAR, 0 for a memory BAR.
            0:0 io_space => bool;
            /// Memory BAR type: 2 means 64-bit (the next BAR holds the upper half).
            2:1 mem_type;
        }
    }
}

/// The PVSCSI PCI driver.
pub(crate) struct PvscsiDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <PvscsiDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::VMWARE, PCI_DEVICE_ID_VMWARE_PVSCSI),
        ()
    )]
);

/// The host attributes (sysfs files of each `scsi_host`): each adapter's
/// effective settings (the 7.3 `module!` macro registers module parameters
/// without sysfs files, and the values that matter are per adapter: the
/// automatic ring size, whether the device took the message ring, request
/// coalescing), then what the driver refused from the device since the
/// adapter was probed (each refusal is also logged, rate-limited; see
/// Documentation/scsi/vmw_pvscsi_rs.rst).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Attribute {
    /// `ring_pages`: pages of the request and completion rings.
    RingPages,
    /// `msg_ring_pages`: pages of the message ring, 0 without one.
    MsgRingPages,
    /// `req_threshold`: the request coalescing threshold in effect.
    ReqThreshold,
    /// `poll_queues`: the host's poll queues.
    PollQueues,
    /// `max_id`: targets are `0..max_id`.
    MaxId,
    /// `bad_completions`: completions refused (a context naming no command).
    BadCompletions,
    /// `stale_completions`: completions of commands already taken back.
    StaleCompletions,
    /// `bad_messages`: message ring entries refused.
    BadMessages,
    /// `bad_submissions`: submissions refused (a corrupt ring state).
    BadSubmissions,
    /// `lost_commands`: commands the device never completed, taken back.
    LostCommands,
    /// `unpolled_completions`: polled commands the adapter completed because
    /// nobody polled for them (a stopped or frozen submitter).
    UnpolledCompletions,
}

scsi::host_attributes!(HOST_ATTRIBUTES for PvscsiOps = [
    ring_pages => Attribute::RingPages,
    msg_ring_pages => Attribute::MsgRingPages,
    req_threshold => Attribute::ReqThreshold,
    poll_queues => Attribute::PollQueues,
    max_id => Attribute::MaxId,
    bad_completions => Attribute::BadCompletions,
    stale_completions => Attribute::StaleCompletions,
    bad_messages => Attribute::BadMessages,
    bad_submissions => Attribute::BadSubmissions,
    lost_commands => Attribute::LostCommands,
    unpolled_completions => Attribute::UnpolledCompletions,
]);

/// The host template of every PVSCSI adapter; per-adapter limits are set on
/// each host ([`HostLimits`]).
static TEMPLATE: Template<PvscsiOps> = Template::new(TemplateOptions {
    sg_tablesize: MAX_SG_ENTRIES as u16,
    // The C driver's 0xffff. The block layer also keeps every request within
    // `sg_tablesize` segments (of up to 64 KiB each), so any request it
    // builds fits one SG list; a DMA layer that maps less (swiotlb) lowers
    // it further in `scsi_add_host()`.
    max_sectors: 0xffff,
    dma_boundary: u32::MAX as u64,
    attributes: Some(&HOST_ATTRIBUTES),
    ..TemplateOptions::new(
        &<crate::PvscsiModule as kernel::ModuleMetadata>::THIS_MODULE,
        c"VMware PVSCSI Host Adapter (Rust)",
        c"vmw_pvscsi_rs",
    )
});

/// Everything a bound adapter owns, in drop order.
#[pin_data(PinnedDrop)]
pub(crate) struct PvscsiData<'bound> {
    /// The SCSI host (removed in unbind, put on drop).
    host: Registration<'bound, PvscsiOps>,
    /// The interrupt vector and handler.
    #[pin]
    irq: PciIrq<'bound, IrqHandler<'bound>>,
    /// The shared adapter state.
    adapter: Arc<Adapter<'bound>>,
}

/// Returns the index of the register BAR: the first memory BAR of at least
/// [`MEM_SPACE_SIZE`] bytes. QEMU's device has it at BAR 0; VMware's has an
/// I/O BAR first.
fn find_mmio_bar(pdev: &pci::Device<Core<'_>>) -> Result<u32> {
    let config = pdev.config_space();
    let mut index = 0;
    while index < 6 {
        let bar = config.read(pci_cfg::BAR::try_at(index).ok_or(EINVAL)?);
        let bar_u32 = u32::try_from(index)?;
        if bar.io_space() {
            index += 1;
            continue;
        }
        if pdev.resource_len(bar_u32)? >= MEM_SPACE_SIZE as u64 {
            return Ok(bar_u32);
        }
        // A 64-bit memory BAR also occupies the next BAR register.
        index += if u32::from(bar.mem_type()) == 2 { 2 } else { 1 };
    }
    dev_err!(
        pdev,
        "no memory BAR of at least {} bytes; not a PVSCSI adapter?\n",
        MEM_SPACE_SIZE
    );
    Err(ENODEV)
}

/// Interrupt types allowed by the configuration.
fn irq_types(cfg: &Config) -> IrqTypes {
    let mut types = IrqTypes::default().with(IrqType::Intx);
    if cfg.allow_msi {
        types = types.with(IrqType::Msi);
    }
    if cfg.allow_msix {
        types = types.with(IrqType::MsiX);
    }
    types
}

/// Allocates and registers the SCSI host, unmasks interrupts and scans.
fn register_host<'bound>(
    pdev: &'bound pci::Device<Bound>,
    adapter: &Arc<Adapter<'bound>>,
) -> Result<Registration<'bound, PvscsiOps>> {
    let limits = HostLimits {
        can_queue: adapter.rings.req_ring.entries(),
        cmd_per_lun: adapter.cmd_per_lun,
        max_id: adapter.max_id,
        max_lun: 1,
        max_channel: 0,
        max_cmd_len: 16,
        poll_queues: u32::from(adapter.poll.is_some()),
        // With a poll queue the host's tags are shared by its queues, for
        // which blk-mq picks mq-deadline by default; its one queue of
        // requests per device lets a run of any hardware queue dispatch any
        // request, so the poll queue's runs (from kblockd, on any CPU) would
        // send interrupt-driven requests from CPUs other than their
        // submitters'. No scheduler by default, as for other multi-queue
        // devices (`test_poll.py` checks that one vCPU rings every doorbell
        // of a pinned job).
        no_sched_by_default: adapter.poll.is_some(),
    };
    let host = Host::new(&TEMPLATE, adapter.clone(), &limits)?;
    // SAFETY: The registration goes into the driver's data (`PvscsiData`),
    // which the PCI core drops at unbind, within `'bound`.
    let host = unsafe { Registration::new_with_lt(host, pdev.as_ref()) }
        .inspect_err(|e| dev_err!(pdev, "scsi_add_host failed: {:?}\n", e))?;
    if let Some(msg) = &adapter.msg {
        if let Some(href) = host.get_ref() {
            msg.set_host(href);
        }
    }
    adapter.unmask_interrupts();
    dev_info!(
        pdev,
        "scsi host{}: VMware PVSCSI (Rust) rev {}, req/cmp/msg rings: {}/{}/{} pages, cmd_per_lun={}, max_id={}\n",
        host.host_no(),
        pdev.revision_id(),
        adapter.rings.pages,
        adapter.rings.pages,
        adapter.msg.as_ref().filter(|m| m.is_enabled()).map_or(0, |m| m.ring().pages),
        adapter.cmd_per_lun,
        adapter.max_id
    );
    host.scan();
    Ok(host)
}

impl pci::Driver for PvscsiDriver {
    type IdInfo = ();
    type Data<'bound> = PvscsiData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            // The parameters were validated when the module loaded.
            let cfg = Config::from_params(&params::raw()).map_err(|_| EINVAL)?;
            pdev.enable_device_mem()
                .inspect_err(|e| dev_err!(pdev, "cannot enable the device: {:?}\n", e))?;
            pdev.set_master();
            let dma_bits = additions::set_dma_mask(pdev)
                .inspect_err(|_| dev_err!(pdev, "no usable DMA mask\n"))?;

            let bar_index = find_mmio_bar(pdev)?;
            let bar = pdev
                .iomap_region_sized::<MEM_SPACE_SIZE>(bar_index, c"vmw_pvscsi_rs")
                .inspect_err(|e| dev_err!(pdev, "cannot map BAR {}: {:?}\n", bar_index, e))?;
            let hw = Hw::new(bar);
            // Firmware (SeaBIOS boots from PVSCSI disks) may have set up rings.
            hw.set_intr_mask(0);
            hw.reset();

            let targets = probe::query_targets(pdev.as_ref(), &hw)?;
            let use_msg = cfg.use_msg && probe::msg_ring_supported(&hw);
            let adapter = Arc::pin_init(
                Adapter::new(pdev.as_ref(), hw, &cfg, targets, use_msg)?,
                GFP_KERNEL,
            )?;
            adapter.start()?;
            dev_info!(
                pdev,
                "PVSCSI adapter at BAR {}, {}-bit DMA\n",
                bar_index,
                dma_bits
            );

            let irq_adapter = adapter.clone();
            Ok(try_pin_init!(PvscsiData {
                // SAFETY: The interrupt goes into the driver's data, which
                // the PCI core drops at unbind, within `'bound`.
                irq <- unsafe { PciIrq::new(pdev, irq_types(&cfg), c"vmw_pvscsi_rs", move |ty| {
                    dev_info!(pdev, "using {}\n", match ty {
                        IrqType::MsiX => "MSI-X",
                        IrqType::Msi => "MSI",
                        IrqType::Intx => "INTx",
                    });
                    (
                        IrqHandler::flags(ty),
                        Ok::<_, Error>(IrqHandler::new(irq_adapter, ty)),
                    )
                }) },
                // Last: it unmasks interrupts and scans, so nothing after it
                // can fail.
                host: register_host(pdev, &adapter)?,
                adapter,
            }))
        })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Dropping the data then frees the interrupt, resets the adapter and
        // frees its memory.
        this.stop();
    }
}

impl PmDriver for PvscsiDriver {
    fn shutdown<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        this.adapter.shut_down();
        this.irq.synchronize();
    }

    fn suspend<'bound>(
        _pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
        why: Sleep,
    ) -> Result {
        let a = &this.adapter;
        {
            let _eh = a.eh.lock();
            // The disks are quiesced, so nothing should be in flight; should
            // anything be, the midlayer requeues it after the wake-up.
            a.halt(Gate::Paused, HostByte::REQUEUE);
        }
        this.irq.synchronize();
        dev_info!(a.dev, "adapter stopped for {}\n", sleep_name(why, true));
        Ok(())
    }

    fn resume<'bound>(
        _pdev: &'bound pci::Device<Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
        why: Sleep,
    ) -> Result {
        let a = &this.adapter;
        let _eh = a.eh.lock();
        // The device may have been reset, or powered off, or left as the
        // boot kernel of a hibernation restore had it: start it afresh.
        a.restart().inspect_err(|e| {
            dev_err!(
                a.dev,
                "adapter did not restart after {}: {:?}; its disks will fail\n",
                sleep_name(why, false),
                e
            )
        })?;
        dev_info!(
            a.dev,
            "adapter restarted after {}\n",
            sleep_name(why, false)
        );
        Ok(())
    }
}

/// The transition `why`, for the log: going to sleep if `down`.
fn sleep_name(why: Sleep, down: bool) -> &'static str {
    match (why, down) {
        (Sleep::Suspend, true) => "suspend",
        (Sleep::Suspend, false) => "resume",
        (Sleep::Freeze, true) => "hibernation (freeze)",
        (Sleep::Freeze, false) => "hibernation (thaw)",
        (Sleep::Hibernate, true) => "hibernation (power-off)",
        (Sleep::Hibernate, false) => "hibernation (restore)",
    }
}

impl PvscsiData<'_> {
    /// Stops all activity: removes the host (which waits for outstanding
    /// commands and removes the disks), masks interrupts, waits for running
    /// handlers and stops hot-plug work. Idempotent.
    fn stop(&self) {
        self.host.remove();
        self.adapter.mask_interrupts();
        // No handler runs after this, so none queues message work again.
        self.irq.synchronize();
        if let Some(msg) = &self.adapter.msg {
            msg.stop();
        }
    }
}

#[pinned_drop]
impl PinnedDrop for PvscsiData<'_> {
    fn drop(self: Pin<&mut Self>) {
        // After unbind this does nothing new; on a probe that failed after
        // the host was registered, unbind did not run.
        self.stop();
    }
}
