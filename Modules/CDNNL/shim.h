// oneDNN's C interface (https://oneapi-src.github.io/oneDNN/): `dnnl_sgemm`, the row-major
// single-precision matrix product every Revisit product goes through (Docs/Dependencies.md says
// why), and the instruction-set queries. Debian: libdnnl-dev, headers in the standard path.
#include <oneapi/dnnl/dnnl.h>

// The OpenMP runtime oneDNN is built with (Debian's libdnnl2 links libgomp). Declared here, not
// included, because omp.h lives in the compiler's private include directory. Used to keep
// each product on the calling thread (Tensors/MatrixProduct.swift).
int omp_get_max_threads(void);
void omp_set_num_threads(int);
