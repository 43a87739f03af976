// OpenBLAS's CBLAS interface and its runtime queries (openblas_get_corename, thread control).
// The include path comes from pkg-config `openblas` (Debian: libopenblas-dev).
#include <cblas.h>

// LAPACK's Cholesky solve of A·X = B for symmetric positive definite A (column-major), which
// libopenblas carries (Debian's build includes LAPACK); declared here because libopenblas-dev
// ships no LAPACK header. Used by Workflow's reasons surrogate (a small ridge regression).
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb, int *info);
