-- A valid base for the broken files beside it: two segments, three actions, a contact policy.
segment "high_value" { when = function(c) return c.annual_revenue >= 50000 end }
segment "at_risk" { when = function(c) return c.churn_risk >= 0.7 end }

action "invite_webinar" { department = "marketing", channel = "email" }
action "retention_call" { department = "customer_service", channel = "phone" }
action "cross_sell" { department = "sales", channel = "email" }

policy "webinar" { segments = { "high_value" }, action = "invite_webinar", priority = 50 }
policy "retention" { segments = { "at_risk" }, action = "retention_call", priority = 80 }
policy "cross-sell" { action = "cross_sell", priority = 20 }

contact_policy { max_actions = 2 }
