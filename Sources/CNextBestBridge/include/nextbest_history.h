// Contact history handed to a Lua state as tables, without JSON text (history.c).
#ifndef NEXTBEST_HISTORY_H
#define NEXTBEST_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include "nextbest_bridge.h"

/// A text field of nb_contact: its bytes at `offset` in the strings buffer; `length` is
/// NB_NO_TEXT when the field is absent.
#define NB_NO_TEXT ((size_t)-1)

/// One past contact of one customer, its texts in a shared strings buffer. The rows of one
/// customer are consecutive.
typedef struct nb_contact {
    size_t customer, customer_len;
    size_t action, action_len;
    size_t channel, channel_len;   ///< NB_NO_TEXT: the action's declared channel
    size_t at, at_len;             ///< ISO-8601 text
    size_t outcome, outcome_len;   ///< NB_NO_TEXT: no outcome
    int64_t epoch;                 ///< `at` as seconds since 1970 (UTC); INT64_MIN: not known
} nb_contact;

/// Hands the state the past contacts of the customers it decides next: pushes them as a
/// table `{ [customer] = { {action=, channel=, at=, outcome=}, ... } }` and passes it, with a
/// table of `at` text → seconds, to the prelude's `set_history`; `count` 0 clears it.
/// Returns 0, or non-zero with the reason in `err`.
int nb_set_history(nb_state *s, const nb_contact *rows, size_t count, const char *strings, nb_buf *err);

#endif
