/*
 * libredund — redundant firewalls as a library: CARP, pfsync-style state
 * sync and pf-style source tracking. Include this header for everything, or
 * the module headers one by one.
 */
#ifndef REDUND_REDUND_H
#define REDUND_REDUND_H

#include "redund/common.h"
#if __has_include("redund/carp.h")
#include "redund/carp.h"
#endif
#if __has_include("redund/sim.h")
#include "redund/sim.h"
#endif
#if __has_include("redund/state.h")
#include "redund/state.h"
#endif
#if __has_include("redund/srctrack.h")
#include "redund/srctrack.h"
#endif
#if __has_include("redund/sync.h")
#include "redund/sync.h"
#endif

#endif
