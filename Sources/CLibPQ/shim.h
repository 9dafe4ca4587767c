#ifndef PGWARDEN_CLIBPQ_SHIM_H
#define PGWARDEN_CLIBPQ_SHIM_H

// pkg-config adds libpq's include directory; without it, Debian and most
// distributions keep the header under postgresql/.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#elif __has_include(<postgresql/libpq-fe.h>)
#include <postgresql/libpq-fe.h>
#else
#error "libpq-fe.h not found: install libpq-dev (Debian) or libpq (Homebrew)"
#endif

#endif
