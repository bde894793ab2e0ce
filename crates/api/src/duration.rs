//! Go's `time.Duration` as Flux writes it: parsed like `time.ParseDuration`
//! and printed like `Duration.String()` (`1m0s`, `1h30m0s`, `500ms`, `0s`).
//!
//! Flux keeps `metav1.Duration` in its objects, so what a user wrote
//! (`interval: 5m`) comes back from the API server as `5m0s`; ferroflux does
//! the same on serialisation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_MICRO: i128 = 1_000;
const NANOS_PER_MILLI: i128 = 1_000_000;
const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_MINUTE: i128 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i128 = 60 * NANOS_PER_MINUTE;

/// A signed duration in nanoseconds, the same range as Go's `int64`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    nanos: i64,
}

/// Why a duration string was refused; the texts follow Go's `time.ParseDuration`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration \"{0}\"")]
    Invalid(String),
    #[error("time: missing unit in duration \"{0}\"")]
    MissingUnit(String),
    #[error("time: unknown unit \"{unit}\" in duration \"{input}\"")]
    UnknownUnit { unit: String, input: String },
}

impl Duration {
    pub const ZERO: Duration = Duration { nanos: 0 };

    pub const fn from_nanos(nanos: i64) -> Self {
        Duration { nanos }
    }

    pub const fn from_secs(secs: i64) -> Self {
        Duration {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// The duration as a std duration; negative values become zero.
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(u64::try_from(self.nanos).unwrap_or(0))
    }

    pub fn from_std(d: std::time::Duration) -> Self {
        Duration {
            nanos: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }

    /// Parse like Go's `time.ParseDuration`: a possibly signed sequence of
    /// decimal numbers, each with an optional fraction and a unit
    /// (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`); `0` alone is allowed.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let invalid = || DurationError::Invalid(input.to_string());
        let mut s = input;
        let mut negative = false;
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        if s.is_empty() {
            return Err(invalid());
        }
        // Go's algorithm, down to its float step for fractions, so that
        // `0.3333333333333333333h` is `20m0s` here too.
        let limit: u128 = 1 << 63;
        let mut total: u128 = 0;
        while !s.is_empty() {
            let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let int_part = &s[..int_len];
            s = &s[int_len..];
            let mut frac: u64 = 0;
            let mut frac_scale: f64 = 1.0;
            let mut post = false;
            if let Some(rest) = s.strip_prefix('.') {
                let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
                post = frac_len > 0;
                let mut overflow = false;
                for digit in rest[..frac_len].bytes() {
                    if overflow {
                        continue;
                    }
                    if frac > (i64::MAX as u64) / 10 {
                        overflow = true;
                        continue;
                    }
                    let next = frac * 10 + u64::from(digit - b'0');
                    if u128::from(next) > limit {
                        overflow = true;
                        continue;
                    }
                    frac = next;
                    frac_scale *= 10.0;
                }
                s = &rest[frac_len..];
            }
            if int_part.is_empty() && !post {
                return Err(invalid());
            }
            let unit_len = s
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(s.len(), |(i, _)| i);
            let unit = &s[..unit_len];
            s = &s[unit_len..];
            let scale: u128 = match unit {
                "" => return Err(DurationError::MissingUnit(input.to_string())),
                "ns" => 1,
                "us" | "µs" | "μs" => NANOS_PER_MICRO as u128,
                "ms" => NANOS_PER_MILLI as u128,
                "s" => NANOS_PER_SECOND as u128,
                "m" => NANOS_PER_MINUTE as u128,
                "h" => NANOS_PER_HOUR as u128,
                other => {
                    return Err(DurationError::UnknownUnit {
                        unit: other.to_string(),
                        input: input.to_string(),
                    });
                }
            };
            let whole: u128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| invalid())?
            };
            if whole > limit / scale {
                return Err(invalid());
            }
            let mut value = whole * scale;
            if frac > 0 {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let add = (frac as f64 * (scale as f64 / frac_scale)) as u128;
                value += add;
                if value > limit {
                    return Err(invalid());
                }
            }
            total += value;
            if total > limit {
                return Err(invalid());
            }
        }
        let signed = if negative {
            -(total as i128)
        } else {
            total as i128
        };
        let nanos = i64::try_from(signed).map_err(|_| invalid())?;
        Ok(Duration { nanos })
    }
}

impl fmt::Display for Duration {
    /// Go's `Duration.String()`: `72h3m0.5s`, `1m0s`, `1.5s`, `100ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.nanos);
        let sign = if nanos < 0 { "-" } else { "" };
        let u = nanos.unsigned_abs();
        if u == 0 {
            return f.write_str("0s");
        }
        if u < NANOS_PER_SECOND as u128 {
            // Sub-second: the largest unit that keeps a non-zero integer part.
            let (unit, scale) = if u < NANOS_PER_MICRO as u128 {
                ("ns", 1u128)
            } else if u < NANOS_PER_MILLI as u128 {
                ("µs", NANOS_PER_MICRO as u128)
            } else {
                ("ms", NANOS_PER_MILLI as u128)
            };
            return write!(f, "{sign}{}{unit}", fraction(u, scale));
        }
        let hours = u / NANOS_PER_HOUR as u128;
        let rem = u % NANOS_PER_HOUR as u128;
        let minutes = rem / NANOS_PER_MINUTE as u128;
        let secs = rem % NANOS_PER_MINUTE as u128;
        let secs = fraction(secs, NANOS_PER_SECOND as u128);
        if hours > 0 {
            write!(f, "{sign}{hours}h{minutes}m{secs}s")
        } else if minutes > 0 {
            write!(f, "{sign}{minutes}m{secs}s")
        } else {
            write!(f, "{sign}{secs}s")
        }
    }
}

/// `value / scale` printed with the fraction's trailing zeros removed.
fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let mut frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let mut width = scale.ilog10() as usize;
    while frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    format!("{whole}.{frac:0width$}")
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Duration::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
        })
    }
}

#[cfg(test)]
mod tests;
