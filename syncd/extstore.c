/*
 * syncd: the extension of each synchronised state (redund/sync_ext.h: the
 * conntrack mark, labels, status and helper), kept beside the state
 * table: a slot per state that has one, found through the state's `user`
 * word (slot index + 1; syncd has no source tracker, the word's other
 * owner). A state without anything to carry has no slot.
 */
#include <stdlib.h>

#include "syncd.h"

struct sd_ext_slot {
	struct rd_sync_ext x;
	uint32_t next_free; /* free list, index + 1; 0: end */
};

const struct rd_sync_ext *sd_extstore_get(const struct sd_extstore *s, const struct rd_state *st)
{
	if (st == NULL || st->user == 0 || st->user > s->n)
		return NULL;
	return &s->v[st->user - 1].x;
}

int sd_extstore_set(struct sd_extstore *s, struct rd_state *st, const struct rd_sync_ext *x)
{
	uint32_t i;

	if (st->user != 0 && st->user <= s->n) {
		s->v[st->user - 1].x = *x;
		return 0;
	}
	if (s->free_head != 0) {
		i = s->free_head - 1;
		s->free_head = s->v[i].next_free;
	} else {
		if (s->n == s->cap) {
			uint32_t cap = s->cap ? 2 * s->cap : 1024;
			struct sd_ext_slot *v =
			    cap > s->cap ? realloc(s->v, cap * sizeof(*v)) : NULL;

			if (v == NULL)
				return -1;
			s->v = v;
			s->cap = cap;
		}
		i = s->n++;
	}
	s->v[i].x = *x;
	s->v[i].next_free = 0;
	st->user = i + 1;
	s->used++;
	return 0;
}

void sd_extstore_drop(struct sd_extstore *s, struct rd_state *st)
{
	if (st->user == 0 || st->user > s->n)
		return;
	s->v[st->user - 1].next_free = s->free_head;
	s->free_head = st->user;
	st->user = 0;
	s->used--;
}

void sd_extstore_free(struct sd_extstore *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = s->free_head = s->used = 0;
}
