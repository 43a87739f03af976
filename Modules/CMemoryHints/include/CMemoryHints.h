// Cache hints that Swift has no spelling for.
#ifndef REVISIT_CMEMORYHINTS_H
#define REVISIT_CMEMORYHINTS_H

/// Asks the CPU to start loading the cache line holding `address` for reading (`prefetcht0` on
/// x86-64): a hint only, never a fault, whatever the address. Used where a loop knows which
/// scattered record it will read a few iterations ahead (ExternalSort's sorted stream).
static inline void revisit_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
