use super::*;

#[test]
fn plain_scalars_resolve_as_yaml_v3_does() {
    let cases: &[(&str, Value)] = &[
        ("0777", Value::Int(511)),
        ("1_000", Value::Int(1000)),
        ("0b11", Value::Int(3)),
        ("-0b11", Value::Int(-3)),
        ("0o17", Value::Int(15)),
        ("0x1F", Value::Int(31)),
        ("-12", Value::Int(-12)),
        ("+12", Value::Int(12)),
        ("18446744073709551615", Value::Uint(u64::MAX)),
        ("1.50", Value::Float(1.5)),
        ("1e3", Value::Float(1000.0)),
        (".5", Value::Float(0.5)),
        ("yes", Value::Str("yes".into())),
        ("on", Value::Str("on".into())),
        ("True", Value::Bool(true)),
        ("~", Value::Null),
        ("", Value::Null),
        ("1.2.3", Value::Str("1.2.3".into())),
        ("-", Value::Str("-".into())),
        ("0x", Value::Str("0x".into())),
        ("2001-12-14", Value::Timestamp("2001-12-14".into())),
        ("2001-13-14", Value::Str("2001-13-14".into())),
    ];
    for (text, want) in cases {
        assert_eq!(&resolve_plain(text), want, "{text}");
    }
    assert!(matches!(resolve_plain(".nan"), Value::Float(f) if f.is_nan()));
}

#[test]
fn timestamps_print_as_go_rfc3339_nano() {
    assert_eq!(
        parse_timestamp("2001-12-14").as_deref(),
        Some("2001-12-14T00:00:00Z")
    );
    assert_eq!(
        parse_timestamp("2001-12-14t21:59:43.10-05:00").as_deref(),
        Some("2001-12-14T21:59:43.1-05:00")
    );
    assert_eq!(
        parse_timestamp("2002-12-14 21:59:43.10").as_deref(),
        Some("2002-12-14T21:59:43.1Z")
    );
    assert_eq!(
        parse_timestamp("2002-1-4T1:2:3+00:00").as_deref(),
        Some("2002-01-04T01:02:03Z")
    );
    assert_eq!(parse_timestamp("2001-02-29"), None);
    assert_eq!(
        parse_timestamp("2000-02-29").as_deref(),
        Some("2000-02-29T00:00:00Z")
    );
    assert_eq!(parse_timestamp("2001-12-14T25:00:00Z"), None);
    assert_eq!(parse_timestamp("20011-12-14"), None);
}

#[test]
fn map_insert_keeps_place_and_map_entry_refuses_scalars() {
    let mut m = Map::default();
    m.insert("a", Value::Int(1));
    m.insert("b", Value::Int(2));
    m.insert("a", Value::Int(3));
    assert_eq!(m.0[0], ("a".to_string(), Value::Int(3)));
    assert!(m.map_entry("a").is_none());
    assert!(m.map_entry("c").is_some());
    assert_eq!(m.remove("b"), Some(Value::Int(2)));
}

#[test]
fn plain_scalars_spelled_otherwise_keep_their_text() {
    let docs = ferroflux_api::yaml::parse_stream_raw(
        "a: 1.10\nb: 1.5\nc: True\nd: true\ne: 0x1F\nf: 31\n",
    )
    .unwrap();
    let Value::Map(m) = from_node(docs[0].node.as_ref().unwrap()) else {
        panic!("a mapping")
    };
    assert_eq!(m.get("a"), Some(&Value::Spelled("1.10".into())));
    assert_eq!(m.get("b"), Some(&Value::Float(1.5)));
    assert_eq!(m.get("c"), Some(&Value::Spelled("True".into())));
    assert_eq!(m.get("d"), Some(&Value::Bool(true)));
    assert_eq!(m.get("e").map(Value::resolved), Some(Value::Int(31)));
    assert_eq!(
        m.get("e").and_then(Value::scalar_text).as_deref(),
        Some("0x1F")
    );
    assert_eq!(m.get("f"), Some(&Value::Int(31)));
}
