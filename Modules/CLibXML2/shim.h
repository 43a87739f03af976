// libxml2's streaming reader and parser options (Debian: libxml2-dev, pkg-config libxml-2.0).
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
