// SPDX-License-Identifier: GPL-2.0
// Copyright (C) 2026 The vmw_pvscsi_rs authors.

//! Host templates, built at compile time from an [`Operations`] type, and the
//! host attributes (sysfs files) a template may carry.

use core::{
    marker::PhantomData,
    ptr::null_mut, //
};

use pin_init::zeroed;

use kernel::{
    bindings as kbindings,
    prelude::*,
    str::as_char_ptr_in_const_context,
    ThisModule, //
};

use super::{
    bindings,
    cmnd::CmdPriv,
    glue,
    vtable::OperationsVTable,
    Operations, //
};

/// The private area of a command with per-command data `D` (`cmd_size`).
///
/// Rounded up to the alignment of a `scsi_cmnd`: the midlayer puts the
/// command's inline scatter-gather list right behind the private area
/// (`scsi_prepare_cmd()`: `(void *)cmd + sizeof(*cmd) + hostt->cmd_size`),
/// so an odd size would misalign it.
pub(super) const fn cmd_size<D>() -> usize {
    size_of::<CmdPriv<D>>().next_multiple_of(align_of::<bindings::scsi_cmnd>())
}

/// What a host template says besides its callbacks.
pub struct TemplateOptions {
    /// The driver's module (`THIS_MODULE`), pinned while its disks are open.
    pub module: &'static ThisModule,
    /// Description of the host adapter (`name`).
    pub name: &'static CStr,
    /// Name of the driver's hosts in `/proc/scsi` and `/sys/class/scsi_host`
    /// (`proc_name`).
    pub proc_name: &'static CStr,
    /// Most scatter-gather elements per command.
    pub sg_tablesize: u16,
    /// Largest command, in 512-byte sectors.
    pub max_sectors: u32,
    /// A DMA segment may not cross a multiple of `dma_boundary + 1`.
    pub dma_boundary: u64,
    /// The host attributes, made by [`host_attributes!`](super::host_attributes).
    pub attributes: Option<&'static HostAttributeGroups>,
}

impl TemplateOptions {
    /// Options with the midlayer's defaults (one segment of up to 1024
    /// sectors, the 4 GiB DMA boundary, no attributes).
    pub const fn new(
        module: &'static ThisModule,
        name: &'static CStr,
        proc_name: &'static CStr,
    ) -> Self {
        Self {
            module,
            name,
            proc_name,
            sg_tablesize: 1,
            max_sectors: 1024,
            dma_boundary: 0xffff_ffff,
            attributes: None,
        }
    }
}

/// A SCSI host template (`struct scsi_host_template`) for `T`.
///
/// Built at compile time, into a `static` of the driver, which therefore
/// outlives every host made from it:
///
/// ```
/// use kernel::scsi::{Command, Operations, Template, TemplateOptions};
/// # use kernel::ThisModule;
/// # struct MyOps;
/// # #[vtable]
/// # impl Operations for MyOps {
/// #     type HostData<'bound> = ();
/// #     type CmdData = ();
/// #     type Attribute = core::convert::Infallible;
/// #     fn queue_command<'bound>(_host: &'bound (), cmd: Command) -> Result<(), Command> {
/// #         Err(cmd)
/// #     }
/// # }
/// # // SAFETY: A null module is a built-in one.
/// # static THIS_MODULE: ThisModule = unsafe { ThisModule::from_ptr(core::ptr::null_mut()) };
///
/// static TEMPLATE: Template<MyOps> = Template::new(TemplateOptions::new(
///     &THIS_MODULE, c"My host adapter", c"my_hba"));
/// ```
///
/// The template holds only what every host of the driver shares; per-adapter
/// limits are [`super::HostLimits`].
///
/// # Invariants
///
/// `raw` holds a complete template whose callbacks are those of
/// `OperationsVTable<T>` (`queuecommand` through `glue.rs`, which in a
/// module goes through a C trampoline), and whose `cmd_size` is that of
/// `CmdPriv<T::CmdData>`.
#[repr(transparent)]
pub struct Template<T: Operations> {
    raw: glue::RawTemplate,
    _ops: PhantomData<T>,
}

// SAFETY: The template is never changed after it is built; the midlayer only
// reads it, from any thread.
unsafe impl<T: Operations> Sync for Template<T> {}

impl<T: Operations> Template<T> {
    /// Builds the template of `T` with `options`.
    pub const fn new(options: TemplateOptions) -> Self {
        const {
            assert!(
                align_of::<CmdPriv<T::CmdData>>() <= align_of::<bindings::scsi_cmnd>(),
                "the per-command data needs more alignment than a scsi_cmnd has"
            );
            assert!(
                cmd_size::<T::CmdData>() % align_of::<kbindings::scatterlist>() == 0,
                "the inline scatter-gather list behind the private area would be misaligned"
            );
        }
        // All zeroes is the midlayer's "not set" for every field.
        let mut t: bindings::scsi_host_template = zeroed();
        t.module = options.module.as_ptr();
        t.name = as_char_ptr_in_const_context(options.name);
        t.proc_name = as_char_ptr_in_const_context(options.proc_name);
        if T::HAS_COMMIT_RQS {
            t.commit_rqs = Some(OperationsVTable::<T>::commit_rqs);
        }
        if T::HAS_EH_ABORT {
            t.eh_abort_handler = Some(OperationsVTable::<T>::eh_abort);
        }
        if T::HAS_EH_DEVICE_RESET {
            t.eh_device_reset_handler = Some(OperationsVTable::<T>::eh_device_reset);
        }
        if T::HAS_EH_TARGET_RESET {
            t.eh_target_reset_handler = Some(OperationsVTable::<T>::eh_target_reset);
        }
        if T::HAS_EH_BUS_RESET {
            t.eh_bus_reset_handler = Some(OperationsVTable::<T>::eh_bus_reset);
        }
        if T::HAS_EH_HOST_RESET {
            t.eh_host_reset_handler = Some(OperationsVTable::<T>::eh_host_reset);
        }
        t.change_queue_depth = Some(OperationsVTable::<T>::change_queue_depth);
        if T::HAS_MAP_QUEUES {
            t.map_queues = Some(OperationsVTable::<T>::map_queues);
        }
        if T::HAS_MQ_POLL {
            t.mq_poll = Some(OperationsVTable::<T>::mq_poll);
        }
        // With `init_cmd_priv`, the midlayer also stops clearing the private
        // area before every command (`scsi_queue_rq()`), so the data persists.
        t.init_cmd_priv = Some(OperationsVTable::<T>::init_cmd_priv);
        t.exit_cmd_priv = Some(OperationsVTable::<T>::exit_cmd_priv);
        t.cmd_size = cmd_size::<T::CmdData>() as u32;
        t.this_id = -1;
        t.sg_tablesize = options.sg_tablesize;
        t.max_sectors = options.max_sectors;
        t.dma_boundary = options.dma_boundary as usize;
        // Per-host values replace these before the host is registered.
        t.can_queue = 1;
        t.cmd_per_lun = 1;
        if let Some(attrs) = options.attributes {
            t.shost_groups = attrs.groups.as_ptr().cast_mut();
        }
        // INVARIANT: complete, with `T`'s callbacks and `CmdPriv`'s size.
        Self {
            raw: glue::raw_template(t, OperationsVTable::<T>::queuecommand),
            _ops: PhantomData,
        }
    }

    /// The template, for `scsi_host_alloc`.
    pub(super) fn as_raw(&self) -> *const bindings::scsi_host_template {
        glue::host_template(&self.raw)
    }
}

/// A read-only host attribute (a sysfs file of each host): the driver's
/// typed identity of it (`which`, an [`Operations::Attribute`]), whose value
/// [`Operations::show_attribute`] gives.
///
/// Made by [`host_attributes!`](super::host_attributes).
#[repr(C)]
pub struct HostAttribute<A> {
    /// What sysfs sees; the show callback finds `which` from it.
    pub(super) attr: kbindings::device_attribute,
    /// Which of the driver's attributes this is.
    pub(super) which: A,
}

// SAFETY: Never changed after it is built; sysfs only reads it.
unsafe impl<A: Sync> Sync for HostAttribute<A> {}

impl<A> HostAttribute<A> {
    /// The attribute `which`, in the file `name`, of `T`'s hosts.
    pub const fn new<T: Operations<Attribute = A>>(name: &'static CStr, which: A) -> Self {
        let mut attr: kbindings::device_attribute = zeroed();
        attr.attr.name = as_char_ptr_in_const_context(name);
        attr.attr.mode = 0o444;
        attr.__bindgen_anon_1.show = Some(OperationsVTable::<T>::show_attribute);
        Self { attr, which }
    }
}

/// The null-terminated attribute list of a group; made by
/// [`host_attributes!`](super::host_attributes).
pub struct AttributeList<const N: usize>([*mut kbindings::attribute; N]);

// SAFETY: Never changed after it is built; sysfs only reads it.
unsafe impl<const N: usize> Sync for AttributeList<N> {}

impl<const N: usize> AttributeList<N> {
    /// Lists `attrs`, which must be one fewer than `N` (for the null).
    pub const fn new<A>(attrs: &'static [HostAttribute<A>]) -> Self {
        assert!(
            attrs.len() + 1 == N,
            "an attribute list has one entry more than attributes"
        );
        let mut list = [null_mut(); N];
        let mut i = 0;
        while i < attrs.len() {
            list[i] = (&raw const attrs[i].attr.attr).cast_mut();
            i += 1;
        }
        Self(list)
    }
}

/// An attribute group; made by [`host_attributes!`](super::host_attributes).
pub struct AttributeGroup(kbindings::attribute_group);

// SAFETY: Never changed after it is built; sysfs only reads it.
unsafe impl Sync for AttributeGroup {}

impl AttributeGroup {
    /// The group of the attributes in `list`.
    pub const fn new<const N: usize>(list: &'static AttributeList<N>) -> Self {
        let mut g: kbindings::attribute_group = zeroed();
        g.__bindgen_anon_2.attrs = list.0.as_ptr().cast_mut();
        Self(g)
    }
}

/// The host attributes of a template ([`TemplateOptions::attributes`]): a
/// null-terminated list of one group.
pub struct HostAttributeGroups {
    groups: [*const kbindings::attribute_group; 2],
}

// SAFETY: Never changed after it is built; sysfs only reads it.
unsafe impl Sync for HostAttributeGroups {}

impl HostAttributeGroups {
    /// The groups made of `group`.
    pub const fn new(group: &'static AttributeGroup) -> Self {
        Self {
            groups: [&raw const group.0, core::ptr::null()],
        }
    }
}

/// Defines a `static` [`HostAttributeGroups`] with one read-only attribute
/// per entry `file => which`: the sysfs file `file` (an identifier, so the
/// name is checked like one), whose value `$ops`'s
/// [`Operations::show_attribute`] gives for `which` (an
/// [`Operations::Attribute`]: a misspelt one does not compile).
///
// module-only: begin
/// The layer must be mounted as `scsi` at the root of the crate.
// module-only: end
///
/// ```
/// use kernel::scsi::{self, Command, Operations};
///
/// #[derive(Clone, Copy)]
/// enum MyAttr {
///     RingPages,
///     MaxId,
/// }
///
/// struct MyOps;
///
/// #[vtable]
/// impl Operations for MyOps {
///     type HostData<'bound> = ();
///     type CmdData = ();
///     type Attribute = MyAttr;
///
///     fn queue_command<'bound>(_host: &'bound (), cmd: Command) -> Result<(), Command> {
///         Err(cmd)
///     }
///
///     fn show_attribute<'bound>(_host: &'bound (), which: MyAttr) -> u64 {
///         match which {
///             MyAttr::RingPages => 8,
///             MyAttr::MaxId => 64,
///         }
///     }
/// }
///
/// scsi::host_attributes!(ATTRS for MyOps = [
///     ring_pages => MyAttr::RingPages,
///     max_id => MyAttr::MaxId,
/// ]);
/// ```
macro_rules! host_attributes {
    ($vis:vis $name:ident for $ops:ty = [$($file:ident => $which:expr),+ $(,)?]) => {
        $vis static $name: $crate::scsi::HostAttributeGroups = {
            const N: usize = [$(stringify!($file)),+].len();
            static ATTRS: [$crate::scsi::HostAttribute<
                <$ops as $crate::scsi::Operations>::Attribute,
            >; N] = [$($crate::scsi::HostAttribute::new::<$ops>(
                ::kernel::c_str!(stringify!($file)),
                $which,
            )),+];
            static LIST: $crate::scsi::AttributeList<{ N + 1 }> =
                $crate::scsi::AttributeList::new(&ATTRS);
            static GROUP: $crate::scsi::AttributeGroup = $crate::scsi::AttributeGroup::new(&LIST);
            $crate::scsi::HostAttributeGroups::new(&GROUP)
        };
    };
}
// module-only: begin
pub(crate) use host_attributes;
// module-only: end
