// See include/AllocationCounter.h. Forwarding to glibc's __libc_* functions (instead of
// dlsym(RTLD_NEXT, ...)) avoids the classic recursion where dlsym itself allocates.
#include "AllocationCounter.h"

#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void __libc_free(void *pointer);

static __thread int counting;
static __thread long allocations;
static __thread long frees;

void revisit_allocation_count_begin(void) {
    allocations = 0;
    frees = 0;
    counting = 1;
}

long revisit_allocation_frees(void) { return frees; }

long revisit_allocation_count_end(void) {
    counting = 0;
    return allocations;
}

#define COUNT() do { if (counting) allocations++; } while (0)

void *malloc(size_t size) { COUNT(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { COUNT(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { COUNT(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *valloc(size_t size) { COUNT(); return __libc_valloc(size); }
void free(void *pointer) {
    if (counting && pointer != NULL) frees++;
    __libc_free(pointer);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    COUNT();
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}
