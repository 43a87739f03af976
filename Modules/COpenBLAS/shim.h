// OpenBLAS's CBLAS interface and its runtime queries (openblas_get_corename, thread control).
// The include path comes from pkg-config `openblas` (Debian: libopenblas-dev).
#include <cblas.h>
