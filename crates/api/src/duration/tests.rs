use super::*;

/// (nanoseconds, Go's `Duration.String()`), from Go's own time tests plus the
/// values Flux objects use.
const FORMAT: &[(i64, &str)] = &[
    (0, "0s"),
    (1, "1ns"),
    (1_100, "1.1µs"),
    (2_200_000, "2.2ms"),
    (3_300_000_000, "3.3s"),
    (245_000_000_000, "4m5s"),
    (245_001_000_000, "4m5.001s"),
    (18_367_001_000_000, "5h6m7.001s"),
    (480_000_000_001, "8m0.000000001s"),
    (i64::MAX, "2562047h47m16.854775807s"),
    (i64::MIN, "-2562047h47m16.854775808s"),
    (60_000_000_000, "1m0s"),
    (3_600_000_000_000, "1h0m0s"),
    (1_500_000_000, "1.5s"),
    (100_000_000, "100ms"),
    (-60_000_000_000, "-1m0s"),
    (100_000_000_000, "1m40s"),
    (5_400_000_000_000, "1h30m0s"),
    (500_000_000, "500ms"),
    (10_000_000_000, "10s"),
    (300_000_000_000, "5m0s"),
    (600_000_000_000, "10m0s"),
    (30_000_000_000, "30s"),
    (86_400_000_000_000, "24h0m0s"),
    (1_000, "1µs"),
    (999, "999ns"),
    (1_000_000, "1ms"),
    (1_000_000_001, "1.000000001s"),
    (-1, "-1ns"),
    (-1_500_000_000, "-1.5s"),
    (90_061_000_000_000, "25h1m1s"),
    (7_200_000_000_000, "2h0m0s"),
];

#[test]
fn formats_like_go() {
    for (nanos, want) in FORMAT {
        assert_eq!(Duration::from_nanos(*nanos).to_string(), *want, "{nanos}ns");
    }
    assert!(FORMAT.len() >= 30);
}

#[test]
fn parses_like_go() {
    let cases: &[(&str, i64)] = &[
        ("0", 0),
        ("5s", 5_000_000_000),
        ("30s", 30_000_000_000),
        ("1478s", 1_478_000_000_000),
        ("-5s", -5_000_000_000),
        ("+5s", 5_000_000_000),
        ("-0", 0),
        ("+0", 0),
        ("5.0s", 5_000_000_000),
        ("5.6s", 5_600_000_000),
        ("5.s", 5_000_000_000),
        (".5s", 500_000_000),
        ("1.004s", 1_004_000_000),
        ("100.00100s", 100_001_000_000),
        ("10ns", 10),
        ("11us", 11_000),
        ("12µs", 12_000),
        ("12μs", 12_000),
        ("13ms", 13_000_000),
        ("15m", 900_000_000_000),
        ("16h", 57_600_000_000_000),
        ("3h30m", 12_600_000_000_000),
        ("10.5s4m", 250_500_000_000),
        ("-2m3.4s", -123_400_000_000),
        ("1h2m3s4ms5us6ns", 3_723_004_005_006),
        ("39h9m14.425s", 140_954_425_000_000),
        ("52763797000ns", 52_763_797_000),
        ("0.3333333333333333333h", 1_200_000_000_000),
        ("9007199254740993ns", 9_007_199_254_740_993),
        ("9223372036854775807ns", i64::MAX),
        ("9223372036854775.807us", i64::MAX),
        ("9223372036s854ms775us807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
        ("-9223372036854775.808us", i64::MIN),
        ("0.100000000000000000000h", 360_000_000_000),
        ("0.830103483285477580700h", 2_988_372_539_827),
        ("1m0s", 60_000_000_000),
        ("1h30m0s", 5_400_000_000_000),
    ];
    for (input, nanos) in cases {
        assert_eq!(
            Duration::parse(input),
            Ok(Duration::from_nanos(*nanos)),
            "{input}"
        );
    }
}

#[test]
fn refuses_what_go_refuses() {
    for input in [
        "",
        "3",
        "-",
        "s",
        ".",
        "-.",
        ".s",
        "+.s",
        "1d",
        "\u{85}\u{85}",
        "hello world",
        "9223372036854775808ns",
        "9223372036854775.808us",
        "-9223372036854775809ns",
        "1h-1m",
    ] {
        assert!(Duration::parse(input).is_err(), "{input:?} should fail");
    }
    assert_eq!(
        Duration::parse("1d").unwrap_err().to_string(),
        "time: unknown unit \"d\" in duration \"1d\""
    );
    assert_eq!(
        Duration::parse("3").unwrap_err().to_string(),
        "time: missing unit in duration \"3\""
    );
}

#[test]
fn serde_prints_go_form() {
    let d: Duration = serde_json::from_str("\"5m\"").unwrap();
    assert_eq!(serde_json::to_string(&d).unwrap(), "\"5m0s\"");
    assert!(serde_json::from_str::<Duration>("\"5 minutes\"").is_err());
}

proptest::proptest! {
    #[test]
    fn display_parses_back(nanos in proptest::num::i64::ANY) {
        let d = Duration::from_nanos(nanos);
        proptest::prop_assert_eq!(Duration::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,24}") {
        let _ = Duration::parse(&s);
    }
}
