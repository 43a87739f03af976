// XGBoost's C API (https://xgboost.readthedocs.io/en/stable/c.html): the gradient-boosted-trees
// contender. The include path comes from pkg-config `xgboost` (Debian: libxgboost-dev).
#include <xgboost/c_api.h>
