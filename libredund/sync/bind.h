/*
 * libredund sync — the link between a secure channel and the sync engine
 * carried over it (rd_sync_engine_cfg.channel). Private to the module.
 */
#ifndef RD_SYNC_BIND_H
#define RD_SYNC_BIND_H

#include "redund/sync.h"

/*
 * rd_sync_channel_bind - route ch's DATA to e (rd_sync_engine_input) and
 * its `lost` to rd_sync_engine_bulk_repair (a repair never demotes); e NULL
 * unbinds. Returns 0, or
 * RD_ERR_INVAL when ch already carries another engine.
 */
int rd_sync_channel_bind(struct rd_sync_channel *ch, struct rd_sync_engine *e);

#endif
