// libcsv's streaming RFC 4180 parser (Debian: libcsv-dev). It ships no pkg-config file;
// the header and library live in the default search paths.
#include <csv.h>
