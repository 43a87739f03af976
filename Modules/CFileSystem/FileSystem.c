#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CFileSystem.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

// The raw system call rather than glibc's wrapper (glibc 2.28+): the same binary works with an
// older C library, and a kernel without it answers ENOSYS, which the caller handles.
static int rename_with_flags(const char *from, const char *to, unsigned int flags) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int revisit_exchange_paths(const char *a, const char *b) { return rename_with_flags(a, b, RENAME_EXCHANGE); }

int revisit_rename_noreplace(const char *from, const char *to) { return rename_with_flags(from, to, RENAME_NOREPLACE); }
