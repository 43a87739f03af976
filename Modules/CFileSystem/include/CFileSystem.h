// File-system calls that Swift's Glibc module does not expose (it is built without _GNU_SOURCE).
#ifndef REVISIT_CFILESYSTEM_H
#define REVISIT_CFILESYSTEM_H

/// Atomically exchanges the directory entries `a` and `b` (Linux renameat2 with RENAME_EXCHANGE,
/// kernel 3.15+): both must exist. Returns 0, or -1 with errno set (EINVAL or ENOSYS where the
/// file system or kernel cannot exchange).
int revisit_exchange_paths(const char *a, const char *b);

/// Renames `from` to `to` only when `to` does not exist (RENAME_NOREPLACE): 0, or -1 with errno
/// (EEXIST when `to` exists; EINVAL or ENOSYS where unsupported).
int revisit_rename_noreplace(const char *from, const char *to);

#endif
