-- Broken on purpose: the action is misspelled.

policy "webinar-again" { segments = { "high_value" }, action = "invite_webinr", priority = 40 }
