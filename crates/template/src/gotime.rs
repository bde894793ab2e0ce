//! Go's `time.Time` as templates see it (sprig's `now`, `toDate`, `date`,
//! `dateModify`, ...): civil dates from Unix time, `Time.Format` and
//! `time.ParseInLocation` with Go's reference-layout language, and
//! `time.Duration`'s parsing and printing. The zone is fixed per value:
//! UTC or the caller's local zone (no time zone database: ferroflux reads
//! no files).

use std::rc::Rc;

use crate::funcs::P;
use crate::object::{Object, Signature};
use crate::value::Value;

/// A `time.Time`: an instant and the zone it is shown in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoTime {
    pub secs: i64,
    pub nanos: u32,
    pub offset: i32,
    pub zone: Rc<str>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Days since 1970-01-01 to (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The civil fields of a time in its zone.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    yday: u32,
    wday: usize,
}

impl GoTime {
    pub fn utc(secs: i64, nanos: u32) -> GoTime {
        GoTime {
            secs,
            nanos,
            offset: 0,
            zone: "UTC".into(),
        }
    }

    pub fn value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    fn civil(&self) -> Civil {
        let local = self.secs.saturating_add(i64::from(self.offset));
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let yday = (days - days_from_civil(year, 1, 1) + 1) as u32;
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            min: ((rem / 60) % 60) as u32,
            sec: (rem % 60) as u32,
            yday,
            wday: (days + 4).rem_euclid(7) as usize,
        }
    }

    /// Go's `Time.Format`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, after) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(std) = std else { break };
            rest = after;
            match std {
                Std::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
                Std::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
                Std::NumMonth => out.push_str(&c.month.to_string()),
                Std::ZeroMonth => out.push_str(&format!("{:02}", c.month)),
                Std::LongWeekDay => out.push_str(DAYS[c.wday]),
                Std::WeekDay => out.push_str(&DAYS[c.wday][..3]),
                Std::Day => out.push_str(&c.day.to_string()),
                Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
                Std::ZeroDay => out.push_str(&format!("{:02}", c.day)),
                Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
                Std::ZeroYearDay => out.push_str(&format!("{:03}", c.yday)),
                Std::Hour => out.push_str(&format!("{:02}", c.hour)),
                Std::Hour12 => out.push_str(&hour12(c.hour).to_string()),
                Std::ZeroHour12 => out.push_str(&format!("{:02}", hour12(c.hour))),
                Std::Minute => out.push_str(&c.min.to_string()),
                Std::ZeroMinute => out.push_str(&format!("{:02}", c.min)),
                Std::Second => out.push_str(&c.sec.to_string()),
                Std::ZeroSecond => out.push_str(&format!("{:02}", c.sec)),
                Std::LongYear => {
                    if c.year < 0 {
                        out.push_str(&format!("-{:04}", -c.year));
                    } else {
                        out.push_str(&format!("{:04}", c.year));
                    }
                }
                Std::Year => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
                Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
                Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
                Std::Tz => {
                    if self.zone.is_empty() {
                        let z = self.offset / 60;
                        let sign = if z < 0 { '-' } else { '+' };
                        out.push_str(&format!("{sign}{:02}{:02}", z.abs() / 60, z.abs() % 60));
                    } else {
                        out.push_str(&self.zone);
                    }
                }
                Std::Iso(z, colon, secs, hours_only) | Std::Num(z, colon, secs, hours_only) => {
                    let is_iso = matches!(std, Std::Iso(..));
                    if is_iso && self.offset == 0 {
                        out.push('Z');
                        continue;
                    }
                    let _ = z;
                    let off = self.offset;
                    let sign = if off < 0 { '-' } else { '+' };
                    let a = off.unsigned_abs();
                    out.push(sign);
                    out.push_str(&format!("{:02}", a / 3600));
                    if !hours_only {
                        if colon {
                            out.push(':');
                        }
                        out.push_str(&format!("{:02}", (a / 60) % 60));
                    }
                    if secs {
                        if colon {
                            out.push(':');
                        }
                        out.push_str(&format!("{:02}", a % 60));
                    }
                }
                Std::Frac(sep, digits, trim) => {
                    let frac = format!("{:09}", self.nanos);
                    let mut d = frac[..digits.min(9)].to_string();
                    if trim {
                        d = d.trim_end_matches('0').to_string();
                        if d.is_empty() {
                            continue;
                        }
                    }
                    out.push(sep);
                    out.push_str(&d);
                }
            }
        }
        out
    }

    /// Go's `Time.String()` (without the monotonic clock reading).
    pub fn string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The instant `nanos` later (Go's `Time.Add`), same zone.
    pub fn add_nanos(&self, d: i64) -> GoTime {
        let total = self.unix_nanos() + i128::from(d);
        GoTime {
            secs: total.div_euclid(1_000_000_000) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            offset: self.offset,
            zone: Rc::clone(&self.zone),
        }
    }

    pub fn in_zone(&self, offset: i32, zone: &str) -> GoTime {
        GoTime {
            secs: self.secs,
            nanos: self.nanos,
            offset,
            zone: zone.into(),
        }
    }
}

fn hour12(h: u32) -> u32 {
    match h % 12 {
        0 => 12,
        x => x,
    }
}

impl Object for GoTime {
    fn type_name(&self) -> String {
        "time.Time".into()
    }

    fn kind(&self) -> &'static str {
        "struct"
    }

    fn method(&self, name: &str) -> Option<Signature> {
        match name {
            "Format" => Some(Signature::new(&[P::Str])),
            "Year" | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "YearDay" | "Unix"
            | "UnixMilli" | "UnixMicro" | "UnixNano" | "UTC" | "Local" | "IsZero" | "String" => {
                Some(Signature::new(&[]))
            }
            _ => None,
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let c = self.civil();
        let nanos = self.unix_nanos();
        Ok(match name {
            "Format" => Value::str(self.format(args[0].as_str().unwrap_or_default())),
            "Year" => Value::Int(c.year),
            "Day" => Value::Int(i64::from(c.day)),
            "Hour" => Value::Int(i64::from(c.hour)),
            "Minute" => Value::Int(i64::from(c.min)),
            "Second" => Value::Int(i64::from(c.sec)),
            "Nanosecond" => Value::Int(i64::from(self.nanos)),
            "YearDay" => Value::Int(i64::from(c.yday)),
            "Unix" => Value::Int64(self.secs),
            "UnixMilli" => Value::Int64((nanos / 1_000_000) as i64),
            "UnixMicro" => Value::Int64((nanos / 1_000) as i64),
            "UnixNano" => Value::Int64(nanos as i64),
            "UTC" => self.in_zone(0, "UTC").value(),
            "Local" => self.clone().value(),
            "IsZero" => Value::Bool(self.secs == ZERO_UNIX && self.nanos == 0),
            _ => Value::str(self.string()),
        })
    }

    fn string(&self) -> Option<String> {
        Some(GoTime::string(self))
    }

    fn to_json(&self) -> Option<Result<String, String>> {
        let s = self.format("2006-01-02T15:04:05.999999999Z07:00");
        Some(Ok(format!("\"{s}\"")))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// Go's zero `time.Time` (January 1, year 1, 00:00:00 UTC) in Unix seconds.
pub const ZERO_UNIX: i64 = -62_135_596_800;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// `Z07:00` forms: (z, colon, seconds, hours only).
    Iso(bool, bool, bool, bool),
    /// `-07:00` forms.
    Num(bool, bool, bool, bool),
    /// separator, digits, trailing zeros trimmed (`.999`)
    Frac(char, usize, bool),
}

fn starts_lower(s: &str) -> bool {
    s.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go's `nextStdChunk`: the literal prefix, the element, the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if rest.starts_with("Jan") => {
                if rest.starts_with("January") {
                    Some((Std::LongMonth, 7))
                } else if !starts_lower(&rest[3..]) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' if rest.starts_with("Mon") => {
                if rest.starts_with("Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if !starts_lower(&rest[3..]) {
                    Some((Std::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if rest.starts_with("MST") => Some((Std::Tz, 3)),
            b'0' if b.len() > i + 1 && (b'1'..=b'6').contains(&b[i + 1]) => Some((
                match b[i + 1] {
                    b'1' => Std::ZeroMonth,
                    b'2' => Std::ZeroDay,
                    b'3' => Std::ZeroHour12,
                    b'4' => Std::ZeroMinute,
                    b'5' => Std::ZeroSecond,
                    _ => Std::Year,
                },
                2,
            )),
            b'0' if rest.starts_with("002") => Some((Std::ZeroYearDay, 3)),
            b'1' if rest.starts_with("15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if rest.starts_with("2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if rest.starts_with("_2") => {
                if rest.starts_with("_2006") {
                    return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if rest.starts_with("__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if rest.starts_with("PM") => Some((Std::PM, 2)),
            b'p' if rest.starts_with("pm") => Some((Std::Pm, 2)),
            b'-' => {
                if rest.starts_with("-070000") {
                    Some((Std::Num(false, false, true, false), 7))
                } else if rest.starts_with("-07:00:00") {
                    Some((Std::Num(false, true, true, false), 9))
                } else if rest.starts_with("-0700") {
                    Some((Std::Num(false, false, false, false), 5))
                } else if rest.starts_with("-07:00") {
                    Some((Std::Num(false, true, false, false), 6))
                } else if rest.starts_with("-07") {
                    Some((Std::Num(false, false, false, true), 3))
                } else {
                    None
                }
            }
            b'Z' => {
                if rest.starts_with("Z070000") {
                    Some((Std::Iso(true, false, true, false), 7))
                } else if rest.starts_with("Z07:00:00") {
                    Some((Std::Iso(true, true, true, false), 9))
                } else if rest.starts_with("Z0700") {
                    Some((Std::Iso(true, false, false, false), 5))
                } else if rest.starts_with("Z07:00") {
                    Some((Std::Iso(true, true, false, false), 6))
                } else if rest.starts_with("Z07") {
                    Some((Std::Iso(true, false, false, true), 3))
                } else {
                    None
                }
            }
            c @ (b'.' | b',') if b.len() > i + 1 && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    Some((Std::Frac(c as char, j - (i + 1), ch == b'9'), j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
        i += layout[i..].chars().next().map_or(1, char::len_utf8);
    }
    (layout, None, "")
}

/// Go's `time.ParseInLocation(layout, value, loc)` where `loc` is a fixed
/// zone (`offset`, `zone`). The error is Go's text.
pub fn parse(layout: &str, value: &str, offset: i32, zone: &str) -> Result<GoTime, String> {
    let orig_layout = layout;
    let orig_value = value;
    let err = |elem: &str, rest: &str, msg: &str| {
        if msg.is_empty() {
            format!(
                "parsing time {} as {}: cannot parse {} as {}",
                crate::gofmt::quote(orig_value),
                crate::gofmt::quote(orig_layout),
                crate::gofmt::quote(rest),
                crate::gofmt::quote(elem)
            )
        } else {
            format!("parsing time {}{msg}", crate::gofmt::quote(orig_value))
        }
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nsec) =
        (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut zone_off: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut layout = layout;
    let mut value = value;
    loop {
        let (prefix, std, after) = next_std_chunk(layout);
        let std_str = &layout[prefix.len()..layout.len() - after.len()];
        match value.strip_prefix(prefix) {
            Some(v) => value = v,
            None => return Err(err(prefix, value, "")),
        }
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(err(
                    "",
                    value,
                    &format!(": extra text: {}", crate::gofmt::quote(value)),
                ));
            }
            break;
        };
        layout = after;
        let hold = value;
        let bad = || err(std_str, hold, "");
        match std {
            Std::LongYear => {
                let (n, r) = digits(value, 4, 4).ok_or_else(bad)?;
                year = n;
                value = r;
            }
            Std::Year => {
                let (n, r) = digits(value, 2, 2).ok_or_else(bad)?;
                year = if n >= 69 { n + 1900 } else { n + 2000 };
                value = r;
            }
            Std::LongMonth | Std::Month => {
                let mut found = None;
                for (k, m) in MONTHS.iter().enumerate() {
                    let name = if std == Std::LongMonth { *m } else { &m[..3] };
                    if value.len() >= name.len() && value[..name.len()].eq_ignore_ascii_case(name) {
                        found = Some((k as u32 + 1, name.len()));
                        break;
                    }
                }
                let (m, n) = found.ok_or_else(bad)?;
                month = m;
                value = &value[n..];
            }
            Std::LongWeekDay | Std::WeekDay => {
                let mut n = None;
                for d in DAYS {
                    let name = if std == Std::LongWeekDay { d } else { &d[..3] };
                    if value.len() >= name.len() && value[..name.len()].eq_ignore_ascii_case(name) {
                        n = Some(name.len());
                        break;
                    }
                }
                value = &value[n.ok_or_else(bad)?..];
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, r) = if std == Std::ZeroMonth {
                    digits(value, 2, 2)
                } else {
                    digits(value, 1, 2)
                }
                .ok_or_else(bad)?;
                if !(1..=12).contains(&n) {
                    return Err(err("", "", ": month out of range"));
                }
                month = n as u32;
                value = r;
            }
            Std::Day | Std::ZeroDay | Std::UnderDay => {
                let v = if std == Std::UnderDay {
                    value.strip_prefix(' ').unwrap_or(value)
                } else {
                    value
                };
                let (n, r) = if std == Std::ZeroDay {
                    digits(v, 2, 2)
                } else {
                    digits(v, 1, 2)
                }
                .ok_or_else(bad)?;
                day = n as u32;
                value = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let v = value.trim_start_matches(' ');
                let (_, r) = digits(v, 3, 3).ok_or_else(bad)?;
                value = r;
            }
            Std::Hour => {
                let (n, r) = digits(value, 2, 2).ok_or_else(bad)?;
                if n >= 24 {
                    return Err(err("", "", ": hour out of range"));
                }
                hour = n as u32;
                value = r;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, r) = if std == Std::ZeroHour12 {
                    digits(value, 2, 2)
                } else {
                    digits(value, 1, 2)
                }
                .ok_or_else(bad)?;
                if n > 12 {
                    return Err(err("", "", ": hour out of range"));
                }
                hour = n as u32;
                value = r;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, r) = if std == Std::ZeroMinute {
                    digits(value, 2, 2)
                } else {
                    digits(value, 1, 2)
                }
                .ok_or_else(bad)?;
                if n >= 60 {
                    return Err(err("", "", ": minute out of range"));
                }
                min = n as u32;
                value = r;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, r) = if std == Std::ZeroSecond {
                    digits(value, 2, 2)
                } else {
                    digits(value, 1, 2)
                }
                .ok_or_else(bad)?;
                if n >= 60 {
                    return Err(err("", "", ": second out of range"));
                }
                sec = n as u32;
                value = r;
                // Go accepts a fractional second after seconds even when
                // the layout has none
                if let Some(f) = value.strip_prefix(['.', ','])
                    && f.starts_with(|c: char| c.is_ascii_digit())
                    && !next_std_chunk(layout).0.starts_with(['.', ','])
                {
                    let n = f.bytes().take_while(u8::is_ascii_digit).count();
                    nsec = frac_nanos(&f[..n]);
                    value = &f[n..];
                }
            }
            Std::PM | Std::Pm => {
                let p = value.get(..2).ok_or_else(bad)?;
                pm = Some(match p {
                    "PM" | "pm" => true,
                    "AM" | "am" => false,
                    _ => return Err(bad()),
                });
                value = &value[2..];
            }
            Std::Tz => {
                if value.starts_with("UTC") {
                    zone_off = Some(0);
                    zone_name = Some("UTC".into());
                    value = &value[3..];
                } else {
                    let n = value.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(bad());
                    }
                    zone_name = Some(value[..n].to_string());
                    value = &value[n..];
                }
            }
            Std::Iso(_, colon, secs, hours_only) | Std::Num(_, colon, secs, hours_only) => {
                if matches!(std, Std::Iso(..)) && value.starts_with('Z') {
                    value = &value[1..];
                    zone_off = Some(0);
                    zone_name = Some("UTC".into());
                    continue;
                }
                let sign = match value.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad()),
                };
                let mut v = &value[1..];
                let (h, r) = digits(v, 2, 2).ok_or_else(bad)?;
                v = r;
                let mut m = 0;
                let mut s = 0;
                if !hours_only {
                    if colon {
                        v = v.strip_prefix(':').ok_or_else(bad)?;
                    }
                    let (x, r) = digits(v, 2, 2).ok_or_else(bad)?;
                    m = x;
                    v = r;
                }
                if secs {
                    if colon {
                        v = v.strip_prefix(':').ok_or_else(bad)?;
                    }
                    let (x, r) = digits(v, 2, 2).ok_or_else(bad)?;
                    s = x;
                    v = r;
                }
                zone_off = Some(sign * (h * 3600 + m * 60 + s) as i32);
                value = v;
            }
            Std::Frac(_, n, trim) => {
                let f = match value.strip_prefix(['.', ',']) {
                    Some(f) => f,
                    None if trim => continue,
                    None => return Err(bad()),
                };
                let take = if trim {
                    f.bytes().take_while(u8::is_ascii_digit).count()
                } else {
                    n
                };
                if f.len() < take || !f[..take].bytes().all(|c| c.is_ascii_digit()) {
                    return Err(bad());
                }
                nsec = frac_nanos(&f[..take]);
                value = &f[take..];
            }
        }
    }
    if let Some(p) = pm {
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(err("", "", ": day out of range"));
    }
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec);
    let (off, name) = match (zone_off, zone_name) {
        (Some(o), Some(n)) => (o, n),
        (Some(o), None) => (
            o,
            if o == 0 && offset == 0 {
                zone.to_string()
            } else {
                String::new()
            },
        ),
        (None, Some(n)) => (if n == zone { offset } else { 0 }, n),
        (None, None) => (offset, zone.to_string()),
    };
    Ok(GoTime {
        secs: local - i64::from(off),
        nanos: nsec,
        offset: off,
        zone: name.into(),
    })
}

fn frac_nanos(d: &str) -> u32 {
    let mut s: String = d.chars().take(9).collect();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

/// Between `min` and `max` leading ASCII digits.
fn digits(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Go's `time.ParseDuration`: nanoseconds, or Go's error text.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let bad = || format!("time: invalid duration {}", crate::gofmt::quote(orig));
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        let int = &s[..n];
        s = &s[n..];
        let mut frac = "";
        if let Some(r) = s.strip_prefix('.') {
            let m = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..m];
            s = &r[m..];
        }
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let u = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if u == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                crate::gofmt::quote(orig)
            ));
        }
        let unit_name = &s[..u];
        s = &s[u..];
        let unit: u128 = match unit_name {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::gofmt::quote(unit_name),
                    crate::gofmt::quote(orig)
                ));
            }
        };
        let v: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut part = v.checked_mul(unit).ok_or_else(bad)?;
        if !frac.is_empty() {
            let mut scale = 1u128;
            let mut f = 0u128;
            for c in frac.bytes().take(30) {
                f = f * 10 + u128::from(c - b'0');
                scale *= 10;
            }
            part += f * unit / scale;
        }
        total = total.checked_add(part).ok_or_else(bad)?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(bad());
        }
    }
    let t = total as i128;
    Ok((if neg { -t } else { t }) as i64)
}

/// Go's `time.Duration.String()`.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // sub-second: ns, µs or ms with a fraction
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_string(u, div));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        let frac = u % 1_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_string(s * 1_000_000_000 + frac, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac_string(v: u64, div: u64) -> String {
    let int = v / div;
    let frac = v % div;
    if frac == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// Go's `Duration.Round(time.Second)`.
pub fn round_second(d: i64) -> i64 {
    let m: i64 = 1_000_000_000;
    let r = d % m;
    if d < 0 {
        let r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        // 2009-11-10 23:04:05.123456789 UTC (a Tuesday)
        let t = GoTime::utc(1_257_894_245, 123_456_789);
        assert_eq!(t.string(), "2009-11-10 23:04:05.123456789 +0000 UTC");
        assert_eq!(t.format("2006-01-02"), "2009-11-10");
        assert_eq!(
            t.format("Mon Jan _2 15:04:05 MST 2006"),
            "Tue Nov 10 23:04:05 UTC 2009"
        );
        assert_eq!(
            t.format("3:4:5 PM .000 ,99 Z07:00 -07"),
            "11:4:5 PM .123 ,12 Z +00"
        );
        assert_eq!(
            t.format("January Monday 002 __2 06 _2006"),
            "November Tuesday 314 314 09 _2009"
        );
        let p = t.in_zone(-(5 * 3600 + 30 * 60), "");
        assert_eq!(
            p.format("15:04 -07:00 Z0700 MST"),
            "17:34 -05:30 -0530 -0530"
        );
    }

    #[test]
    fn parses_like_go() {
        let t = parse("2006-01-02", "2017-12-31", 0, "UTC").expect("parse");
        assert_eq!(t.secs, 1_514_678_400);
        let t = parse(
            "2006-01-02T15:04:05Z07:00",
            "2020-02-29T12:00:00+02:00",
            0,
            "UTC",
        )
        .expect("parse");
        assert_eq!(t.secs, 1_582_970_400);
        assert_eq!(t.offset, 7200);
        assert_eq!(
            parse("2006-01-02", "2017-1-31", 0, "UTC").expect_err("bad"),
            "parsing time \"2017-1-31\" as \"2006-01-02\": cannot parse \"1-31\" as \"01\""
        );
        assert_eq!(
            parse("2006-01-02", "2017-02-30", 0, "UTC").expect_err("bad"),
            "parsing time \"2017-02-30\": day out of range"
        );
        assert_eq!(
            parse("2006", "2017x", 0, "UTC").expect_err("bad"),
            "parsing time \"2017x\": extra text: \"x\""
        );
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_duration("1h30m").expect("d"), 5_400_000_000_000);
        assert_eq!(parse_duration("-1.5h").expect("d"), -5_400_000_000_000);
        assert_eq!(parse_duration("300ms").expect("d"), 300_000_000);
        assert_eq!(
            parse_duration("1x").expect_err("bad"),
            "time: unknown unit \"x\" in duration \"1x\""
        );
        assert_eq!(
            parse_duration("12").expect_err("bad"),
            "time: missing unit in duration \"12\""
        );
        assert_eq!(duration_string(5_400_000_000_000), "1h30m0s");
        assert_eq!(duration_string(1_500_000_000), "1.5s");
        assert_eq!(duration_string(1_500), "1.5µs");
        assert_eq!(duration_string(-61_000_000_000), "-1m1s");
        assert_eq!(round_second(1_500_000_000), 2_000_000_000);
    }
}
