-- Broken on purpose: catalog.lua already has the set's contact_policy.

contact_policy { max_actions = 5 }
