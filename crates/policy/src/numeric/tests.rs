use super::*;

// Expected values were produced by Go 1.19 strconv.ParseFloat.
#[test]
fn accepts_what_go_accepts() {
    let cases: &[(&str, f64)] = &[
        ("1_0", 10.0),
        ("1_000.5", 1000.5),
        ("0x1_0p0", 16.0),
        ("0x_1p0", 1.0),
        ("0x1p-2", 0.25),
        ("0x1.8p1", 3.0),
        ("0X1P+3", 8.0),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("+.5e1", 5.0),
        ("-inf", f64::NEG_INFINITY),
        ("+Infinity", f64::INFINITY),
        ("INF", f64::INFINITY),
        ("1e1_0", 1e10),
        ("00012", 12.0),
        ("4e-400", 0.0),
        ("1_0e1", 100.0),
        ("0_1", 1.0),
        ("-62", -62.0),
        ("1606364286", 1_606_364_286.0),
        ("53.47333823144817", 53.473_338_231_448_17),
        ("0x1p-1074", 5e-324),
        ("0x1.fffffffffffffp1023", f64::MAX),
        ("0x1.00000000000008p0", 1.0),
        ("0x1.00000000000018p0", 1.000_000_000_000_000_4),
    ];
    for &(s, want) in cases {
        let got = parse_float(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(got.to_bits(), want.to_bits(), "{s}: got {got}, want {want}");
    }
    assert!(parse_float("nan").is_ok_and(f64::is_nan));
    assert!(parse_float("NaN").is_ok_and(f64::is_nan));
}

#[test]
fn rejects_what_go_rejects() {
    let syntax = [
        "infin",
        "+nan",
        "-nan",
        "1e",
        "0x",
        "0x1",
        "0x10",
        "1__0",
        "_1",
        "1_",
        "0b101",
        "0o17",
        "+",
        "-",
        "",
        ".",
        "1.2.3",
        "1a",
        "b",
        "20260528-153652",
        "1.0.0",
        " 1",
        "1 ",
        "0x1p",
        "1e+",
        "1_e1",
        "1e_1",
        "٣",
    ];
    for s in syntax {
        assert!(
            matches!(parse_float(s), Err(Error::Syntax { .. })),
            "{s:?} should be a syntax error, got {:?}",
            parse_float(s)
        );
    }
    for s in ["1e400", "-1e400", "0x1p1024", "1.8e308"] {
        assert!(
            matches!(parse_float(s), Err(Error::Range { .. })),
            "{s:?} should be out of range"
        );
    }
    let err = parse_float("1a").err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("strconv.ParseFloat: parsing \"1a\": invalid syntax")
    );
}
