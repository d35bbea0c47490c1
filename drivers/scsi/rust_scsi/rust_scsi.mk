# SPDX-License-Identifier: GPL-2.0
#
# Build rules of the Rust SCSI host layer, for a module that uses it. The
# kernel crate has no SCSI support, so each user generates the layer's
# bindings itself and compiles the layer's C helpers into its own object.
#
# Before including this file, a user's Kbuild sets:
#   rust_scsi_dir   - this directory
#   rust_scsi_users - its crate roots' objects (e.g. pvscsi.o), whose crates
#                     mount the layer with #[path = ".../rust_scsi/mod.rs"]
# and lists a one-line C wrapper that includes rust_scsi_helpers.c among its
# module's objects.

ifndef CONFIG_CC_IS_CLANG
$(error the Rust SCSI layer needs a kernel built with clang (make LLVM=...): its bindgen step uses the kernel's C flags as they are)
endif

ccflags-y += -I$(rust_scsi_dir)

# --no-recursive-allowlist plus `use kernel::bindings::*` in bindings.rs make
# every non-SCSI type (device, sg_table, ...) the kernel crate's own type.
# The flags mirror rust/Makefile's cmd_bindgen (without -DMODULE: the same
# bindings serve a built-in driver; the layout check in mod.rs guards them).
quiet_cmd_rust_scsi_bindgen = BINDGEN $@
      cmd_rust_scsi_bindgen = \
	$(BINDGEN) $< --rust-target 1.85 --use-core --with-derive-default \
	    --ctypes-prefix ffi --no-layout-tests --no-debug '.*' \
	    --enable-function-attribute-detection --no-doc-comments \
	    --no-recursive-allowlist \
	    --allowlist-type 'Scsi_Host|scsi_.*|sdev_.*|sam_status|blist_flags_t|bsg_device|pr_type|rust_scsi_.*' \
	    --allowlist-function 'scsi_.*|__scsi_.*|rust_scsi_.*' \
	    --allowlist-var 'SCSI_.*|DID_.*|SAM_STAT_.*|SCMD_.*|RUST_SCSI_.*' \
	    --newtype-enum scsi_qc_status \
	    -o $@ -- $(c_flags) -fno-builtin -D__BINDGEN__

$(obj)/rust_scsi_bindings.rs: $(rust_scsi_dir)/rust_scsi_bindgen.h FORCE
	$(call if_changed_dep,rust_scsi_bindgen)

targets += rust_scsi_bindings.rs
$(addprefix $(obj)/,$(rust_scsi_users)): $(obj)/rust_scsi_bindings.rs
$(foreach u,$(rust_scsi_users),$(eval RUSTFLAGS_$(u) += --env-set RUST_SCSI_OBJ=$(abspath $(obj))))
