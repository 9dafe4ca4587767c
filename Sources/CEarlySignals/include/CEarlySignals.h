#ifndef PGWARDEN_EARLY_SIGNALS_H
#define PGWARDEN_EARLY_SIGNALS_H

/// Takes the held signals in `mask` (bit N for signal N) that arrived since the process started
/// or since they were last taken.
unsigned long pgwarden_take_early_signals(unsigned long mask);

/// Holds `signal`: recorded by a handler from now on, instead of its default action.
void pgwarden_hold_signal(int signal);

/// Makes this process the child subreaper of its descendants (Linux `PR_SET_CHILD_SUBREAPER`): an orphaned
/// descendant (a daemon that double-forked or `setsid` away) becomes its child instead of init's.
/// Returns 0, or -1 with errno set.
int pgwarden_become_child_subreaper(void);

#endif
