//! Integration tests of ferroflux-explain: every fixture repository under
//! `testdata/<case>/input` explained, checked against a table (which link
//! breaks first, what the report must say) and against the golden report in
//! `testdata/<case>/expected/report.txt` (`FERROFLUX_BLESS=1` rewrites it).

mod cases;
mod support;
