"""Settlement windows (issue 20, part 2): India's bank working days, each merchant's schedule
(T+0 with several cut-offs a day, T+1, T+2), the next window's countdown, and the windows
recorded and closed — never skipped — by a periodic job."""
