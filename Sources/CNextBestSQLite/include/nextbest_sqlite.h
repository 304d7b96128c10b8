// Process-wide SQLite settings that Swift cannot make itself (sqlite3_config is variadic).
#ifndef NEXTBEST_SQLITE_H
#define NEXTBEST_SQLITE_H

/// Process-wide SQLite settings: no memory statistics (every allocation SQLite makes otherwise
/// takes a process-wide lock to count itself), and statement journals kept in memory (a
/// multi-row INSERT writes one page after another to a temporary file otherwise). Only works
/// before SQLite's first use (any connection opened); returns 1 when applied, 0 when SQLite was
/// already in use.
int nb_sqlite_configure(void);

#endif
