-- Broken on purpose: catalog.lua already declares this action.


action "cross_sell" { department = "sales", channel = "phone" }
