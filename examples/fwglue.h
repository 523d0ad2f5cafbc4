/*
 * fwglue — the glue between libredund's state table (redund/state.h) and
 * its source tracker (redund/srctrack.h) that the firewall examples share
 * (pcap-firewall.c, nfq-firewall/nfq-firewall.c): the table's attach,
 * detach and established hooks drive the tracker's bindings; the tracker's
 * overload and kill_states hooks fill an overload table (an address set)
 * and kill a source's states.
 *
 * Embed struct fwglue as the FIRST member of the program's own struct, so
 * a callback the program adds to the same configuration (e.g. the state
 * table's cb.event) may cast its user pointer (&fw->glue) to the program's
 * struct. Set st and src once the tables exist.
 *
 * Single-threaded, as the tables it glues; no global state.
 */
#ifndef FWGLUE_H
#define FWGLUE_H

#include <stdbool.h>
#include <stddef.h>

#include "redund/common.h"
#include "redund/srctrack.h"
#include "redund/state.h"

/* An open-addressed set of addresses (the overload table). Zeroed: empty. */
struct addr_set {
	struct rd_addr *slot;
	bool *used;
	size_t cap, n;
};

/* addr_set_has - whether a is in s. */
bool addr_set_has(const struct addr_set *s, const struct rd_addr *a);

/*
 * addr_set_add - put a into s (nothing when it is there); grows the set.
 * Returns 0, or -1 when out of memory (s unchanged).
 */
int addr_set_add(struct addr_set *s, const struct rd_addr *a);

/* addr_set_free - free the set's memory; it is empty afterwards. */
void addr_set_free(struct addr_set *s);

struct fwglue {
	struct rd_state_table *st;
	struct rd_src_table *src;
	/* the binding rd_src_acquire/rd_src_map gave the state being created */
	uint32_t pending;
	/* sources that broke max-src-conn(-rate) with overload set */
	struct addr_set overload;
	/* called after a source joined the overload table (may be NULL) */
	void (*on_overload)(void *user, const struct rd_addr *src);
	void *user;       /* on_overload's first argument */
	const char *prog; /* the program's name, for the out-of-memory message */
};

/*
 * fwglue_state_cb - point the state table's attach, detach and established
 * callbacks (and cb.user) at g: attach commits g->pending into st->user,
 * detach releases it, established applies max-src-conn(-rate).
 */
void fwglue_state_cb(struct fwglue *g, struct rd_state_config *scfg);

/*
 * fwglue_src_cb - point the tracker's overload and kill_states callbacks
 * (and cb.user) at g: overload adds the source to g->overload (exits the
 * program, status 1, when out of memory) then calls g->on_overload;
 * kill_states kills the source's states (of the rule, or all).
 */
void fwglue_src_cb(struct fwglue *g, struct rd_src_config *tcfg);

/*
 * fwglue_track - the rule tracks its sources (RD_SRC_TRACK_RULE) when any
 * limit, overload or src_track is set; RD_SRC_TRACK_NONE otherwise.
 */
void fwglue_track(struct rd_src_rule_config *rcfg);

/*
 * fwglue_create - rd_state_create of p with o, holding g->pending. On
 * failure the binding is released, g->pending is 0 and *reason is the
 * enum rd_state_reason the table counted (RD_ERR_EXIST: state-insert,
 * RD_ERR_NOMEM: memory, RD_ERR_LIMIT: the one of memory / state-limit /
 * src-limit whose counter moved), or -1 when rc names none. Returns
 * rd_state_create's result.
 */
int fwglue_create(struct fwglue *g, const struct rd_state_pkt *p, const struct rd_state_opts *o,
                  rd_time_t now, int *reason);

#endif
