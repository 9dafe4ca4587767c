#ifndef PGWARDEN_CPGQUERY_SHIM_H
#define PGWARDEN_CPGQUERY_SHIM_H

// libpg_query, PostgreSQL's own parser as a library: Debian's libpg-query-dev (15-4.0).
// The package ships no pkg-config file; the header is in the default include path.
#if __has_include(<pg_query.h>)
#include <pg_query.h>
#else
#error "pg_query.h not found: install libpg-query-dev (Debian)"
#endif

#endif
