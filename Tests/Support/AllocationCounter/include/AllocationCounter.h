#ifndef REVISIT_ALLOCATION_COUNTER_H
#define REVISIT_ALLOCATION_COUNTER_H

/// Counts heap allocations made by the calling thread between begin and end.
///
/// Linked into the test executable, this target defines malloc, calloc, realloc, memalign,
/// aligned_alloc, posix_memalign and valloc; the dynamic linker binds every library's calls
/// (the Swift runtime's included) to these, and they forward to glibc's __libc_* entry points.
/// Only the calling thread's allocations are counted, so tests running in parallel on other
/// threads do not disturb a measurement. glibc only.
void revisit_allocation_count_begin(void);

/// Stops counting and returns the number of allocation calls since the matching begin.
long revisit_allocation_count_end(void);

/// The frees (of non-null pointers) the calling thread made between the last begin and its end:
/// equal to the allocations when everything allocated in between was also released.
long revisit_allocation_frees(void);

#endif
