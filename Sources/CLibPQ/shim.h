#ifndef PLUTCHIK_CLIBPQ_SHIM_H
#define PLUTCHIK_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
