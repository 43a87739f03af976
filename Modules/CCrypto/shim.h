// OpenSSL's libcrypto (https://www.openssl.org/docs/man3.0/man3/EVP_DigestInit.html): SHA-256
// through the EVP interface, which uses the CPU's SHA instructions where there are any.
// The include path comes from pkg-config `libcrypto` (Debian: libssl-dev).
#include <openssl/evp.h>
