#ifndef REVISIT_CBLOCKPARALLELISM_H
#define REVISIT_CBLOCKPARALLELISM_H

/// A fixed set of worker threads that run the blocks of one parallel section, for
/// `BlockParallelism` (Modules/Tensors). Why not libdispatch: `concurrentPerform` mallocs on
/// every call, and a training step must allocate nothing once its buffers exist.
///
/// Workers are created on first use (the only allocation) and kept for the life of the
/// process; they sleep on a condition variable between sections. One section runs at a time
/// (concurrent callers take turns); a call made from inside a block runs its blocks inline.

/// Runs `function(context, block)` for every block in [0, count) on up to `threads` threads
/// (the calling thread is one of them) and returns when every block has finished. Blocks are
/// handed out in increasing order to whichever thread is free.
void revisit_parallel_blocks(long count, long threads, void (*function)(void *context, long block), void *context);

/// Whether the calling thread is running a block of a parallel section.
int revisit_in_parallel_block(void);

/// The calling thread's choice of matrix-product library (Tensors' `BLAS.withLibrary`): 0 for
/// the process's, another value for an override that only this thread sees. A parallel
/// section's workers run its blocks with the choice of the thread that started it, so a
/// section computes with one library throughout.
int revisit_thread_product_library(void);
void revisit_set_thread_product_library(int library);

#endif
