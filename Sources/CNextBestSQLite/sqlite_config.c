#include "nextbest_sqlite.h"
#include <sqlite3.h>

int nb_sqlite_configure(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}
