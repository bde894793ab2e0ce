//! Go's `time.Time` as a chart repository index holds it: read from an
//! RFC 3339 string (`Time.UnmarshalJSON`), written back in RFC 3339 with
//! nanoseconds (`Time.MarshalJSON`), compared with `Before`.
//!
//! A zero offset (`Z`, `+00:00`, `-00:00`) is written `Z`: source-controller
//! runs with `Local` = UTC, and Go gives a parsed zero offset that zone.

use std::cmp::Ordering;

/// A wall-clock time and its offset east of UTC in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoTime {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    offset: i32,
}

/// Go's zero `time.Time` (`0001-01-01T00:00:00Z`).
pub const ZERO: GoTime = GoTime {
    year: 1,
    month: 1,
    day: 1,
    hour: 0,
    min: 0,
    sec: 0,
    nanos: 0,
    offset: 0,
};

impl Default for GoTime {
    fn default() -> Self {
        ZERO
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Go's `time.Parse(time.RFC3339, s)` error for text that is not RFC 3339:
/// the first layout element that does not match, and what was left.
fn layout_error(s: &str) -> String {
    let q = crate::strvals::go_quote;
    let cannot = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as \"2006-01-02T15:04:05Z07:00\": cannot parse {} as {}",
            q(s),
            q(rest),
            q(elem)
        )
    };
    let digits = |rest: &str, n: usize| {
        rest.len() >= n && rest.as_bytes()[..n].iter().all(u8::is_ascii_digit)
    };
    let mut rest = s;
    for (elem, width) in [
        ("2006", 4),
        ("-", 0),
        ("01", 2),
        ("-", 0),
        ("02", 2),
        ("T", 0),
        ("15", 2),
        (":", 0),
        ("04", 2),
        (":", 0),
        ("05", 2),
    ] {
        if width == 0 {
            match rest.strip_prefix(elem) {
                Some(r) => rest = r,
                None => return cannot(rest, elem),
            }
        } else if digits(rest, width) {
            rest = &rest[width..];
        } else {
            return cannot(rest, elem);
        }
    }
    if let Some(r) = rest.strip_prefix(['.', ',']) {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 {
            rest = &r[n..];
        }
    }
    if let Some(r) = rest.strip_prefix('Z') {
        rest = r;
    } else {
        let b = rest.as_bytes();
        let ok = b.len() >= 6
            && matches!(b[0], b'+' | b'-')
            && b[3] == b':'
            && [b[1], b[2], b[4], b[5]].iter().all(u8::is_ascii_digit);
        if !ok {
            return cannot(rest, "Z07:00");
        }
        rest = &rest[6..];
    }
    format!("parsing time {}: extra text: {}", q(s), q(rest))
}

impl GoTime {
    /// Go's strict RFC 3339 parse (`YYYY-MM-DDTHH:MM:SS[.fff…](Z|±hh:mm)`);
    /// `Err` is why not, in Go's words where they are short.
    pub fn parse(s: &str) -> Result<GoTime, String> {
        let q = crate::strvals::go_quote(s);
        // Go's `ParseError`: a value out of range names no layout.
        let bad = |why: &str| {
            if why.ends_with("out of range") {
                Err(format!("parsing time {q}: {why}"))
            } else {
                Err(layout_error(s))
            }
        };
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            if part.iter().all(u8::is_ascii_digit) {
                std::str::from_utf8(part).ok()?.parse().ok()
            } else {
                None
            }
        };
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return bad("cannot parse as RFC 3339");
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
            num(0..4),
            num(5..7),
            num(8..10),
            num(11..13),
            num(14..16),
            num(17..19),
        ) else {
            return bad("cannot parse as RFC 3339");
        };
        if !(1..=12).contains(&month) {
            return bad("month out of range");
        }
        if day == 0 || day > days_in_month(year as i32, month) {
            return bad("day out of range");
        }
        if hour > 23 {
            return bad("hour out of range");
        }
        if min > 59 {
            return bad("minute out of range");
        }
        if sec > 59 {
            return bad("second out of range");
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if matches!(b[i], b'.' | b',') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return bad("cannot parse fractional seconds");
            }
            let mut scale = 100_000_000u32;
            for d in &b[start..i.min(start + 9)] {
                nanos += u32::from(d - b'0') * scale;
                scale /= 10;
            }
        }
        let offset = match &b[i..] {
            b"Z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return bad("cannot parse the time zone offset");
                }
                let h = i32::from(h1 - b'0') * 10 + i32::from(h2 - b'0');
                let m = i32::from(m1 - b'0') * 10 + i32::from(m2 - b'0');
                if h > 23 || m > 59 {
                    return bad("time zone offset out of range");
                }
                let o = h * 3600 + m * 60;
                if *sign == b'-' { -o } else { o }
            }
            _ => return bad("extra text or bad time zone"),
        };
        Ok(GoTime {
            year: year as i32,
            month,
            day,
            hour,
            min,
            sec,
            nanos,
            offset,
        })
    }

    /// `t.IsZero()`.
    pub fn is_zero(&self) -> bool {
        self.unix() == ZERO.unix()
    }

    /// Seconds and nanoseconds since the Unix epoch.
    pub fn unix(&self) -> (i64, u32) {
        let days = days_from_civil(self.year, self.month, self.day);
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.min) * 60
            + i64::from(self.sec)
            - i64::from(self.offset);
        (secs, self.nanos)
    }

    /// `t.Before(u)`.
    pub fn before(&self, other: &GoTime) -> bool {
        self.unix().cmp(&other.unix()) == Ordering::Less
    }

    /// `t.Format(time.RFC3339Nano)` (what `MarshalJSON` quotes).
    pub fn rfc3339_nano(&self) -> String {
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.min, self.sec
        );
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let o = self.offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", o / 3600, (o % 3600) / 60));
        }
        out
    }
}
