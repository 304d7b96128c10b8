#include "nextbest_sqlite.h"
#include <sqlite3.h>

int nb_sqlite_configure(void) {
    int ok = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    // A statement journal (what lets one multi-row statement be undone alone) stays in memory:
    // by default it spills to a temporary file past 64 KiB, one write per page it saves.
    ok = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1) == SQLITE_OK && ok;
    return ok;
}
