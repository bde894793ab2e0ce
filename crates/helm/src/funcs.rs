//! Helm's own template functions (`pkg/engine/funcs.go` of Helm v4.2.4):
//! the serialisers behind `toYaml`, `toYamlPretty`, `toToml`, `fromToml` and
//! `toJson`, each printing the bytes of the Go library Helm calls.

pub mod capabilities;
pub mod files;
pub mod json;
pub mod toml;
pub mod yaml2;
pub mod yaml3;

pub use capabilities::{Capabilities, KubeVersion, KubeVersionError, parse_kube_version};
pub use files::{Files, Glob};
pub use json::to_json;
pub use toml::{from_toml, to_toml};
pub use yaml2::to_yaml;
pub use yaml3::to_yaml_pretty;

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, with the library's own
/// spelling of the infinities and NaN.
pub(crate) fn go_format_float(f: f64, inf: &str, nan: &str) -> String {
    if f.is_nan() {
        return nan.to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            inf.to_string()
        } else {
            format!("-{}", inf.trim_start_matches('+'))
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go switches to %e below 1e-4 and, for the shortest form, from 1e21
    // down to the precision of 6 digits.
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// Go's `unicode.IsDigit` as yaml's key sorter uses it (ASCII digits: the
/// sorter's arithmetic only makes sense for them).
pub(crate) fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// A scalar yaml.v2 and yaml.v3 read as a timestamp (`2001-01-01`, ...).
pub(crate) fn is_timestamp(s: &str) -> bool {
    ferroflux_kustomize::value::parse_timestamp(s).is_some()
}

/// The numeric tail of yaml's `keyList.Less`, at the first differing rune
/// `i` where neither side is a letter: the digit runs starting there
/// compared as numbers, then by length, then by rune.
pub(crate) fn numeric_run_less(ar: &[char], br: &[char], i: usize) -> bool {
    let digit = |c: char| c.is_ascii_digit();
    let (mut an, mut bn): (i64, i64) = (0, 0);
    if ar[i] == '0' || br[i] == '0' {
        let mut j = i;
        while j > 0 && digit(ar[j - 1]) {
            j -= 1;
            if ar[j] != '0' {
                an = 1;
                bn = 1;
                break;
            }
        }
    }
    let run = |r: &[char], n: &mut i64| {
        let mut k = i;
        while k < r.len() && digit(r[k]) {
            *n = n
                .wrapping_mul(10)
                .wrapping_add(i64::from(r[k] as u8 - b'0'));
            k += 1;
        }
        k
    };
    let ai = run(ar, &mut an);
    let bi = run(br, &mut bn);
    if an != bn {
        return an < bn;
    }
    if ai != bi {
        return ai < bi;
    }
    ar[i] < br[i]
}
