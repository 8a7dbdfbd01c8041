"""Test clocks (Stripe's ``test_helpers.test_clock``): a frozen time that customers attach to in
test mode, advanced on request; advancing runs what would have happened to the clock's objects
in that interval (``timeline``: what each module registers to run at a clock's time)."""
