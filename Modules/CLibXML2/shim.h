// libxml2's streaming reader and parser options (Debian: libxml2-dev, pkg-config libxml-2.0).
//
// Debian builds libxml2 with ICU, so encoding.h includes <unicode/ucnv.h>; its ICU types clash
// with the ICU that Foundation bundles ("'UErrorCode' has different definitions in different
// modules") in any Swift module that imports both. The ICU part of encoding.h only adds two
// pointer members at the end of xmlCharEncodingHandler, a struct Revisit never allocates or
// reads, so hiding it changes nothing that Swift code uses.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
