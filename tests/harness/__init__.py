# SPDX-License-Identifier: GPL-2.0
"""Guest harness of vmw_pvscsi_rs: builds an initramfs, boots test kernels
under QEMU with a pvscsi controller, runs commands in the guest through a
serial-line agent, drives QMP, and checks the console for kernel errors."""
