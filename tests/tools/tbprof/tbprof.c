// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the executions of every kernel translation
 * block and the guest instructions executed in it, for `make profile`
 * (tests/tools/profile.py). Output: one line per block, "vaddr instructions
 * executions".
 *
 * It needs only a handful of functions of the plugin API, which have been
 * stable since its first version; they are declared here so that no QEMU
 * source is needed to build it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
					       struct qemu_plugin_tb *tb);
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags,
					  void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    qemu_plugin_udata_cb_t cb, void *userdata);

/* QEMU 10.0 accepts plugins of API versions 2 to 4. */
__attribute__((visibility("default"))) int qemu_plugin_version = 4;

struct tb_count {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t runs;
	struct tb_count *next;
};

static struct tb_count *all;
static int all_lock;
static const char *out_path = "tbprof.out";

static void on_exec(unsigned int vcpu, void *data)
{
	__atomic_fetch_add(&((struct tb_count *)data)->runs, 1, __ATOMIC_RELAXED);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct tb_count *t;

	if (vaddr < 0xffff800000000000ull)	/* kernel code only */
		return;
	t = calloc(1, sizeof(*t));
	if (!t)
		return;
	t->vaddr = vaddr;
	t->insns = qemu_plugin_tb_n_insns(tb);
	while (__atomic_exchange_n(&all_lock, 1, __ATOMIC_ACQUIRE))
		;
	t->next = all;
	all = t;
	__atomic_store_n(&all_lock, 0, __ATOMIC_RELEASE);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, t);
}

static void on_plugin_exit(qemu_plugin_id_t id, void *data)
{
	FILE *f = fopen(out_path, "w");

	if (!f)
		return;
	for (struct tb_count *t = all; t; t = t->next)
		if (t->runs)
			fprintf(f, "%llx %llu %llu\n", (unsigned long long)t->vaddr,
				(unsigned long long)(t->runs * t->insns),
				(unsigned long long)t->runs);
	fclose(f);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			out_path = strdup(argv[i] + 4);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
	return 0;
}
