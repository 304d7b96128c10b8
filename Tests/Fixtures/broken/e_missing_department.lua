-- Broken on purpose: who carries it out?
action "loyalty_gift" { channel = "mail" }
