use std::collections::BTreeMap;

use super::*;

fn run(input: &str, vars: &BTreeMap<String, String>, strict: bool) -> Result<Vec<u8>, Error> {
    let mapping = |name: &str| match vars.get(name) {
        Some(v) => (v.clone(), true),
        None => (String::new(), !strict),
    };
    eval(input, &mapping, &Limits::default())
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flux's envsubst (fluxcd/pkg/envsubst v1.7.0) ran on these inputs by
/// `scripts/envsubst-oracle`; every answer must be ours too. `oracle.jsonl`
/// holds written cases, `random.jsonl` random strings of `${`, operators,
/// escapes and multi-byte characters. Regenerate either:
/// `jq -c '{input,vars,strict}' F | scripts/envsubst-oracle`.
#[test]
fn agrees_with_fluxs_envsubst_on_every_recorded_case() {
    let text = [
        include_str!("../../../testdata/envsubst/oracle.jsonl"),
        include_str!("../../../testdata/envsubst/random.jsonl"),
    ]
    .concat();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in text.lines() {
        let case: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let input = case["input"].as_str().expect("input");
        let strict = case["strict"].as_bool().expect("strict");
        let vars: BTreeMap<String, String> =
            serde_json::from_value(case["vars"].clone()).expect("vars");
        let ours = run(input, &vars, strict);
        let agree = match (&ours, case.get("out"), case.get("out_hex"), case.get("err")) {
            (Ok(out), Some(want), _, _) => want.as_str() == std::str::from_utf8(out).ok(),
            (Ok(out), _, Some(want), _) => want.as_str() == Some(hex(out).as_str()),
            (Err(e), _, _, Some(want)) => want.as_str() == Some(e.to_string().as_str()),
            // Go panicked; we must fail without panicking.
            (Err(_), None, None, None) => case.get("panic").is_some(),
            _ => false,
        };
        count += 1;
        if !agree {
            failures.push(format!(
                "{input:?} strict={strict}: ours {:?}, Flux {}",
                ours.map(|o| String::from_utf8_lossy(&o).into_owned()),
                line
            ));
        }
    }
    assert!(count > 1400, "{count} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_documented_table() {
    let v = vars(&[("set", "V"), ("empty", "")]);
    let ok = |s: &str, strict| String::from_utf8(run(s, &v, strict).expect(s)).expect("utf8");
    assert_eq!(ok("${set}", true), "V");
    assert_eq!(ok("${unset}", false), "");
    assert_eq!(ok("${empty}", true), "");
    assert_eq!(ok("${unset:=d}${empty:-d}${unset=d}", true), "ddd");
    assert_eq!(ok("$${set} $$ $set", true), "${set} $ $set");
    assert_eq!(ok("${set:+x}${unset:+x}", true), "Vx");
    assert_eq!(ok("${unset:=${set}}", true), "V");
    let err = |s: &str, strict| run(s, &v, strict).expect_err(s).to_string();
    assert_eq!(
        err("${unset}", true),
        "variable not set (strict mode): \"unset\""
    );
    assert_eq!(
        err("${set:=${unset}}", true),
        "variable not set (strict mode): \"unset\""
    );
    assert_eq!(err("${unset-d}", false), "missing closing brace");
    assert_eq!(err("${ set}", false), "unable to parse variable name");
    assert_eq!(err("${set/x}", false), "bad substitution");
    assert_eq!(
        err("${set:=", false),
        "unable to parse substitution within function"
    );
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}d{}", "${u:=".repeat(100), "}".repeat(100));
    let limits = Limits::default();
    let none = |_: &str| (String::new(), true);
    assert_eq!(eval(&deep, &none, &limits), Err(Error::TooDeep(64)));
    let ok = format!("{}d{}", "${u:=".repeat(64), "}".repeat(64));
    assert_eq!(eval(&ok, &none, &limits), Ok(b"d".to_vec()));
}

#[test]
fn output_is_bounded() {
    let big = |_: &str| ("x".repeat(1 << 20), true);
    let limits = Limits {
        max_output: 4 << 20,
        ..Limits::default()
    };
    let many = "${v}".repeat(8);
    assert_eq!(eval(&many, &big, &limits), Err(Error::TooLarge(4 << 20)));
    // A replacement that multiplies the text is refused before it is built.
    let expand = format!("${{v//x/{}}}", "y".repeat(64));
    assert_eq!(eval(&expand, &big, &limits), Err(Error::TooLarge(4 << 20)));
    let concat = format!("${{e:={}}}", "${v}".repeat(5));
    let vars = |n: &str| {
        if n == "e" {
            (String::new(), true)
        } else {
            ("x".repeat(1 << 20), true)
        }
    };
    assert_eq!(eval(&concat, &vars, &limits), Err(Error::TooLarge(4 << 20)));
}

#[test]
fn glob_trimming_work_is_bounded() {
    let long = |_: &str| ("a".repeat(20_000), true);
    let limits = Limits {
        max_match_steps: 1_000_000,
        ..Limits::default()
    };
    assert_eq!(
        eval("${v#*b*c}", &long, &limits),
        Err(Error::TooMuchWork(1_000_000))
    );
}

#[test]
fn a_negative_substring_length_is_an_error_where_go_panics() {
    let v = vars(&[("v", "hello")]);
    assert_eq!(
        run("${v:1:-1}", &v, false),
        Err(Error::NegativeLength {
            param: "v".to_string(),
            offset: 1,
            length: -1
        })
    );
    // An end past the string's is the empty rest, as in Go.
    assert_eq!(run("${v:9:-1}", &v, false), Ok(Vec::new()));
}

#[test]
fn go_quote_escapes_what_go_escapes() {
    assert_eq!(go_quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
}
