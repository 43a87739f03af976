#include "CBlockParallelism.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SPIN_PAUSE() _mm_pause()
#else
#define SPIN_PAUSE() ((void)0)
#endif

// At most this many workers besides the calling thread.
#define MAXIMUM_WORKERS 63

static pthread_mutex_t section_lock = PTHREAD_MUTEX_INITIALIZER;  // one section at a time
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;    // guards everything below
static pthread_cond_t section_started = PTHREAD_COND_INITIALIZER;
static pthread_cond_t workers_finished = PTHREAD_COND_INITIALIZER;
static long worker_count;             // workers created so far
static atomic_ulong section_number;  // incremented when a section starts
static long section_threads;          // threads taking part in the current section, caller included
static atomic_long workers_running;   // workers still running blocks of the current section
static void (*section_function)(void *, long);
static void *section_context;
static long section_blocks;
static atomic_long next_block;
static unsigned long created_in_section[MAXIMUM_WORKERS + 1];  // section_number when each worker was created
static _Thread_local int inside_block;
static _Thread_local int product_library;  // 0: the process's choice; see the header
static int section_product_library;         // the caller's, for the workers of the current section

// How long a waiting thread spins before it sleeps, in nanoseconds; -1 until first read.
static atomic_long spin_budget = -1;

static long spin_nanoseconds(void) {
    long value = atomic_load_explicit(&spin_budget, memory_order_relaxed);
    if (value >= 0) return value;
    long microseconds = REVISIT_DEFAULT_SPIN_MICROSECONDS;
    const char *text = getenv("REVISIT_SPIN_MICROSECONDS");
    if (text && *text) {
        char *end;
        long parsed = strtol(text, &end, 10);
        // A value that is not a whole number of microseconds in range keeps the default (the
        // Swift side refuses it with a message before any section runs).
        if (*end == 0 && parsed >= 0 && parsed <= REVISIT_MAXIMUM_SPIN_MICROSECONDS) microseconds = parsed;
    }
    value = microseconds * 1000;
    atomic_store_explicit(&spin_budget, value, memory_order_relaxed);
    return value;
}

long revisit_parallel_spin_microseconds(void) { return spin_nanoseconds() / 1000; }

void revisit_set_parallel_spin_microseconds(long microseconds) {
    if (microseconds < 0) microseconds = 0;
    if (microseconds > REVISIT_MAXIMUM_SPIN_MICROSECONDS) microseconds = REVISIT_MAXIMUM_SPIN_MICROSECONDS;
    atomic_store_explicit(&spin_budget, microseconds * 1000, memory_order_relaxed);
}

static long monotonic_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000L + now.tv_nsec;
}

// Spins (with PAUSE) until `done(argument)` or the spin budget is spent; returns whether it is
// done. Why spin at all: a sleeping thread woken through a futex takes tens of microseconds to
// run again on these VMs (the idle vCPU must be interrupted and rescheduled), and a training
// step starts and ends several sections a few hundred microseconds apart; the caller waiting
// for the last block pays the same wake-up. The budget is bounded so that an idle process, or
// one with more threads than cores, stops burning a core within a fraction of a millisecond.
static int spin_until(int (*done)(unsigned long), unsigned long argument) {
    long budget = spin_nanoseconds();
    if (budget <= 0) return done(argument);
    long start = monotonic_nanoseconds();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (done(argument)) return 1;
            SPIN_PAUSE();
        }
        if (monotonic_nanoseconds() - start > budget) return done(argument);
    }
}

static int section_changed(unsigned long seen) { return atomic_load_explicit(&section_number, memory_order_acquire) != seen; }
static int workers_done(unsigned long unused) { (void)unused; return atomic_load_explicit(&workers_running, memory_order_acquire) == 0; }

// Runs blocks of the current section until none is left.
static void run_blocks(void (*function)(void *, long), void *context, long count) {
    inside_block = 1;
    for (long block = atomic_fetch_add(&next_block, 1); block < count; block = atomic_fetch_add(&next_block, 1)) {
        function(context, block);
    }
    inside_block = 0;
}

static void *worker_main(void *argument) {
    long index = (long)argument;  // 1 … MAXIMUM_WORKERS; the caller is 0
    pthread_mutex_lock(&state_lock);
    // The section that created this worker had not started yet: wait for that one first.
    unsigned long seen = created_in_section[index];
    for (;;) {
        if (section_number == seen) {
            pthread_mutex_unlock(&state_lock);
            spin_until(section_changed, seen);
            pthread_mutex_lock(&state_lock);
        }
        while (section_number == seen) pthread_cond_wait(&section_started, &state_lock);
        seen = section_number;
        if (index >= section_threads) continue;  // not needed in this section
        void (*function)(void *, long) = section_function;
        void *context = section_context;
        long count = section_blocks;
        int library = section_product_library;
        pthread_mutex_unlock(&state_lock);
        product_library = library;  // the section runs with its caller's choice
        run_blocks(function, context, count);
        product_library = 0;
        pthread_mutex_lock(&state_lock);
        if (--workers_running == 0) pthread_cond_signal(&workers_finished);
    }
    return 0;
}

int revisit_in_parallel_block(void) { return inside_block; }

int revisit_thread_product_library(void) { return product_library; }

void revisit_set_thread_product_library(int library) { product_library = library; }

void revisit_parallel_blocks(long count, long threads, void (*function)(void *, long), void *context) {
    if (threads > count) threads = count;
    if (threads > MAXIMUM_WORKERS + 1) threads = MAXIMUM_WORKERS + 1;
    if (threads <= 1 || inside_block) {
        for (long block = 0; block < count; block++) function(context, block);
        return;
    }
    pthread_mutex_lock(&section_lock);
    pthread_mutex_lock(&state_lock);
    while (worker_count < threads - 1) {
        pthread_t thread;
        created_in_section[worker_count + 1] = section_number;
        if (pthread_create(&thread, 0, worker_main, (void *)(worker_count + 1)) != 0) break;
        pthread_detach(thread);
        worker_count++;
    }
    if (threads - 1 > worker_count) threads = worker_count + 1;  // could not start more: use what exists
    section_function = function;
    section_context = context;
    section_blocks = count;
    section_product_library = product_library;
    section_threads = threads;
    workers_running = threads - 1;
    atomic_store(&next_block, 0);
    section_number++;
    pthread_cond_broadcast(&section_started);
    pthread_mutex_unlock(&state_lock);

    run_blocks(function, context, count);

    spin_until(workers_done, 0);
    pthread_mutex_lock(&state_lock);
    while (workers_running > 0) pthread_cond_wait(&workers_finished, &state_lock);
    pthread_mutex_unlock(&state_lock);
    pthread_mutex_unlock(&section_lock);
}
