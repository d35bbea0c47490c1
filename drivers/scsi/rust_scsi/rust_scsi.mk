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

# bindgen parses C with libclang. A kernel built with clang gives it its own
# C flags; one built with gcc (Debian's, for example) gets them with the
# gcc-only flags removed and the target named, exactly as rust/Makefile does
# for the kernel crate's bindings (the list below is its
# bindgen_skip_c_flags of 7.3, which that Makefile does not export).
ifdef CONFIG_CC_IS_CLANG
rust_scsi_bindgen_c_flags = $(c_flags)
else
rust_scsi_bindgen_skip_c_flags := -mno-fp-ret-in-387 -mpreferred-stack-boundary=% \
	-mskip-rax-setup -mgeneral-regs-only -msign-return-address=% \
	-mindirect-branch=thunk-extern -mindirect-branch-register \
	-mfunction-return=thunk-extern -mrecord-mcount -mabi=lp64 \
	-mindirect-branch-cs-prefix -mstack-protector-guard% -mtraceback=no \
	-mno-pointers-to-nested-functions -mno-string \
	-mno-strict-align -mstrict-align -mdirect-extern-access \
	-mexplicit-relocs -mno-check-zero-division \
	-fconserve-stack -falign-jumps=% -falign-loops=% \
	-femit-struct-debug-baseonly -fno-ipa-cp-clone -fno-ipa-sra \
	-fno-partial-inlining -fplugin-arg-arm_ssp_per_task_plugin-% \
	-fno-reorder-blocks -fno-allow-store-data-races -fasan-shadow-offset=% \
	-fzero-call-used-regs=% -fno-stack-clash-protection \
	-fno-inline-functions-called-once -fsanitize=bounds-strict \
	-fstrict-flex-arrays=% -fmin-function-alignment=% \
	-fzero-init-padding-bits=% -mno-fdpic \
	-fdiagnostics-show-context -fdiagnostics-show-context=% \
	--param=% --param asan-% -fno-isolate-erroneous-paths-dereference \
	-ffixed-r2 -mmultiple -mno-readonly-in-sdata
ifndef CONFIG_X86_64
$(error the Rust SCSI layer's bindgen step knows the target of an x86_64 kernel built with gcc only: build the kernel with clang (make LLVM=1))
endif
rust_scsi_bindgen_c_flags = $(filter-out $(rust_scsi_bindgen_skip_c_flags),$(c_flags)) \
	-w --target=x86_64-linux-gnu
endif

ccflags-y += -I$(rust_scsi_dir)

# --no-recursive-allowlist plus `use kernel::bindings::*` in bindings.rs make
# every non-SCSI type (device, sg_table, ...) the kernel crate's own type.
# The flags mirror rust/Makefile's cmd_bindgen and rust/bindgen_parameters
# (`MaybeZeroable` makes a struct `Zeroable` when its fields are, for
# `pin_init::zeroed()`), without -DMODULE (the same
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
	    --with-derive-custom-struct '.*=MaybeZeroable' \
	    --with-derive-custom-union '.*=MaybeZeroable' \
	    -o $@ -- $(rust_scsi_bindgen_c_flags) -fno-builtin -D__BINDGEN__

$(obj)/rust_scsi_bindings.rs: $(rust_scsi_dir)/rust_scsi_bindgen.h FORCE
	$(call if_changed_dep,rust_scsi_bindgen)

targets += rust_scsi_bindings.rs
$(addprefix $(obj)/,$(rust_scsi_users)): $(obj)/rust_scsi_bindings.rs
$(foreach u,$(rust_scsi_users),$(eval RUSTFLAGS_$(u) += --env-set RUST_SCSI_OBJ=$(abspath $(obj))))
