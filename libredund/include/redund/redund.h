/*
 * libredund — redundant firewalls as a library: CARP, pfsync-style state
 * sync and pf-style source tracking. Including this header gives every
 * portable module; the Linux socket backends are in redund/io.h and
 * redund/io_sync.h, included separately.
 */
#ifndef REDUND_REDUND_H
#define REDUND_REDUND_H

#include "redund/common.h"
#include "redund/carp.h"
#include "redund/pcap.h"
#include "redund/sim.h"
#include "redund/state.h"
#include "redund/srctrack.h"
#include "redund/pfsync.h"
#include "redund/sync.h"
#include "redund/mirror.h"
#include "redund/sync_engine.h"
#include "redund/sync_ext.h"
#include "redund/sync_carry.h"

#endif
