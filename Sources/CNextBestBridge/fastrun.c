// The clock and the watchdog of the hook-free fast path: each fast run of a state is timed,
// and one that runs too long is stopped by a signal that arms the count hook (see state.c).
#define _GNU_SOURCE
#include "internal.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

/// The signal the watchdog sends. Its default action is to ignore it, so a stray one is harmless.
#define NB_WATCH_SIGNAL SIGURG
/// How often the watchdog looks at the running fast runs.
#define NB_WATCH_POLL_NS 2000000L
/// The least time a fast run goes on before the watchdog stops it, whatever its budget: a run
/// that ends by itself past its time is dropped anyway, without the collection a stopped one costs.
#define NB_WATCH_MIN_NS 5000000u
/// Polls with no fast run in sight before the watchdog sleeps until the next one starts.
#define NB_WATCH_IDLE_POLLS 500

uint64_t nb_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_wake = PTHREAD_COND_INITIALIZER;
static nb_watch *watch_list;           // the registered states (under watch_lock)
static atomic_int watch_parked;        // 1 while the watchdog sleeps until a fast run starts
static int watch_started, watch_failed;  // under watch_lock
static struct sigaction chained;       // whatever handled the signal before us

/// The state in a fast run on this thread (the signal handler's only way to it), and whether
/// this thread can receive the watchdog's signal (0 = not checked yet, 1 = yes, -1 = blocked).
static _Thread_local void *volatile current_run;
static _Thread_local int thread_ready;
static _Thread_local pid_t thread_id;

static void on_signal(int sig, siginfo_t *info, void *uc) {
    int saved = errno;
    void *owner = current_run;
    if (owner) nb_fast_interrupt(owner);
    if ((chained.sa_flags & SA_SIGINFO) && chained.sa_sigaction) chained.sa_sigaction(sig, info, uc);
    else if (!(chained.sa_flags & SA_SIGINFO) && chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) chained.sa_handler(sig);
    errno = saved;
}

/// Sends the signal to the threads whose fast run is over its time, and sleeps when none runs.
static void *watchdog(void *arg) {
    (void)arg;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, NB_WATCH_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    pid_t pid = getpid();
    int idle = 0;
    for (;;) {
        struct timespec pause = { 0, NB_WATCH_POLL_NS };
        while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {}
        pthread_mutex_lock(&watch_lock);
        uint64_t now = nb_now_ns();
        int running = 0;
        for (nb_watch *w = watch_list; w; w = w->next) {
            uint64_t start = atomic_load(&w->start);
            if (!start) continue;
            running = 1;
            uint64_t limit = w->limit_ns > NB_WATCH_MIN_NS ? w->limit_ns : NB_WATCH_MIN_NS;
            if (now > start && now - start > limit) {
                // A stale id (the run ended, its thread exited and the id was reused) can only
                // reach a thread of this process, whose handler ignores it outside a fast run.
                syscall(SYS_tgkill, pid, (pid_t)atomic_load(&w->tid), NB_WATCH_SIGNAL);
            }
        }
        idle = running ? 0 : idle + 1;
        if (idle >= NB_WATCH_IDLE_POLLS) {
            atomic_store(&watch_parked, 1);
            // A run that started before it saw `parked` is seen here (both sides sequentially consistent).
            for (;;) {
                int any = 0;
                for (nb_watch *w = watch_list; w; w = w->next) if (atomic_load(&w->start)) any = 1;
                if (any || !atomic_load(&watch_parked)) break;
                pthread_cond_wait(&watch_wake, &watch_lock);
            }
            atomic_store(&watch_parked, 0);
            idle = 0;
        }
        pthread_mutex_unlock(&watch_lock);
    }
    return NULL;
}

/// Installs the handler and starts the watchdog, once per process; 0 when it cannot.
static int start_watchdog(void) {
    if (watch_started) return 1;
    if (watch_failed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    pthread_attr_t attr;
    pthread_t thread;
    if (sigaction(NB_WATCH_SIGNAL, &sa, &chained) != 0) { watch_failed = 1; return 0; }
    if (pthread_attr_init(&attr) != 0) { watch_failed = 1; return 0; }
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 << 10);
    int rc = pthread_create(&thread, &attr, watchdog, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) { sigaction(NB_WATCH_SIGNAL, &chained, NULL); watch_failed = 1; return 0; }
    watch_started = 1;
    return 1;
}

int nb_watch_register(nb_watch *w, uint64_t limit_ns) {
    atomic_store(&w->start, 0);
    w->limit_ns = limit_ns;
    pthread_mutex_lock(&watch_lock);
    int ok = start_watchdog();
    if (ok) {
        w->prev = NULL;
        w->next = watch_list;
        if (watch_list) watch_list->prev = w;
        watch_list = w;
        w->registered = 1;
    }
    pthread_mutex_unlock(&watch_lock);
    return ok;
}

void nb_watch_unregister(nb_watch *w) {
    if (!w->registered) return;
    pthread_mutex_lock(&watch_lock);
    if (w->prev) w->prev->next = w->next; else watch_list = w->next;
    if (w->next) w->next->prev = w->prev;
    w->registered = 0;
    pthread_mutex_unlock(&watch_lock);
}

int nb_fast_begin(nb_watch *w, void *owner, uint64_t *start) {
    if (!w->registered) return 0;
    if (thread_ready == 0) {
        // Once per thread. Dispatch's worker threads (Swift concurrency's too) block every
        // asynchronous signal: let this one through (the handler passes it on to whatever had
        // it before, and by default it is ignored). Where that fails, the count hook stays.
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, NB_WATCH_SIGNAL);
        thread_ready = pthread_sigmask(SIG_UNBLOCK, &mask, NULL) == 0 ? 1 : -1;
        thread_id = (pid_t)syscall(SYS_gettid);
    }
    if (thread_ready < 0) return 0;
    atomic_store_explicit(&w->tid, thread_id, memory_order_relaxed);
    current_run = owner;
    atomic_signal_fence(memory_order_seq_cst);
    uint64_t now = nb_now_ns();
    *start = now;
    atomic_store(&w->start, now ? now : 1);
    if (atomic_load(&watch_parked)) {
        pthread_mutex_lock(&watch_lock);
        atomic_store(&watch_parked, 0);
        pthread_cond_signal(&watch_wake);
        pthread_mutex_unlock(&watch_lock);
    }
    return 1;
}

uint64_t nb_fast_end(nb_watch *w) {
    current_run = NULL;  // first: a signal from now on leaves this state alone
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store_explicit(&w->start, 0, memory_order_release);
    return nb_now_ns();
}
