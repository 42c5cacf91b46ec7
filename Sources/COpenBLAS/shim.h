#ifndef PLUTCHIK_COPENBLAS_SHIM_H
#define PLUTCHIK_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
