// Process-wide SQLite settings that Swift cannot make itself (sqlite3_config is variadic).
#ifndef NEXTBEST_SQLITE_H
#define NEXTBEST_SQLITE_H

/// Turns off SQLite's memory statistics for this process: every allocation SQLite makes
/// otherwise takes a process-wide lock to count itself. Only works before SQLite's first use
/// (any connection opened); returns 1 when applied, 0 when SQLite was already in use.
int nb_sqlite_configure(void);

#endif
