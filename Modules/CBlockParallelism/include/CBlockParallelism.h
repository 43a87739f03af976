#ifndef REVISIT_CBLOCKPARALLELISM_H
#define REVISIT_CBLOCKPARALLELISM_H

/// A fixed set of worker threads that run the blocks of one parallel section, for
/// `BlockParallelism` (Modules/Tensors). Why not libdispatch: `concurrentPerform` mallocs on
/// every call, and a training step must allocate nothing once its buffers exist.
///
/// Workers are created on first use (the only allocation) and kept for the life of the
/// process; between sections they spin briefly, then sleep on a condition variable. One section runs at a time
/// (concurrent callers take turns); a call made from inside a block runs its blocks inline.

/// Runs `function(context, block)` for every block in [0, count) on up to `threads` threads
/// (the calling thread is one of them) and returns when every block has finished. Blocks are
/// handed out in increasing order to whichever thread is free.
void revisit_parallel_blocks(long count, long threads, void (*function)(void *context, long block), void *context);

/// How long, in microseconds, a thread that waits (a worker for the next section, the caller
/// for the last block) spins before it sleeps on its condition variable: the environment's
/// `REVISIT_SPIN_MICROSECONDS` (0 … 10000) when set, else 100. 0 sleeps at once.
#define REVISIT_DEFAULT_SPIN_MICROSECONDS 100
#define REVISIT_MAXIMUM_SPIN_MICROSECONDS 10000
long revisit_parallel_spin_microseconds(void);
/// Sets the spin budget for the rest of the process (clamped to 0 … 10000), for tests and tools.
void revisit_set_parallel_spin_microseconds(long microseconds);

/// Whether the calling thread is running a block of a parallel section.
int revisit_in_parallel_block(void);

/// The calling thread's choice of matrix-product library (Tensors' `BLAS.withLibrary`): 0 for
/// the process's, another value for an override that only this thread sees. A parallel
/// section's workers run its blocks with the choice of the thread that started it, so a
/// section computes with one library throughout.
int revisit_thread_product_library(void);
void revisit_set_thread_product_library(int library);

#endif
