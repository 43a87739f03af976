// NLopt's C interface (https://nlopt.readthedocs.io): the maximum-likelihood fits of the
// statistical contenders (BG/NBD). The include path comes from pkg-config `nlopt` (Debian: libnlopt-dev).
#include <nlopt.h>
