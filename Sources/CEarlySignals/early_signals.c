#include <sys/prctl.h>
// pgwarden's first instructions: before the Swift runtime, Foundation or main run, SIGPIPE is ignored
// (a write to a vanished reader fails with EPIPE instead of ending the process) and SIGHUP is held
// (recorded, handed to the first signal monitor). Only the dynamic loader runs before this.
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "CEarlySignals.h"

static atomic_ulong pending;

static void record(int signal) {
    atomic_fetch_or(&pending, 1UL << (signal & 63));
}

void pgwarden_hold_signal(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = record;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signal, &action, 0);
}

unsigned long pgwarden_take_early_signals(unsigned long mask) {
    return atomic_fetch_and(&pending, ~mask) & mask;
}

__attribute__((constructor(101))) static void pgwarden_early_signals(void) {
    signal(SIGPIPE, SIG_IGN);
    pgwarden_hold_signal(SIGHUP);
}

int pgwarden_become_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}
