use super::*;

fn report(states: &[LinkState]) -> Report {
    Report {
        target: "t".into(),
        policy: None,
        links: states
            .iter()
            .enumerate()
            .map(|(i, s)| Link::new(["a", "b", "c"][i], *s, format!("m{i}")).at("f.yaml", i))
            .collect(),
    }
}

#[test]
fn verdict_stops_at_the_first_broken_link() {
    use LinkState::*;
    let cases: &[(&[LinkState], &str, bool)] = &[
        (&[Ok, Ok, Ok], "whole: every link holds", true),
        (
            &[Ok, Unknown, Ok],
            "whole as far as known (1 link(s) unknown)",
            true,
        ),
        (&[Ok, Broken, Broken], "broken at b: m1", false),
        (&[Unknown, Ok, Broken], "broken at c: m2", false),
    ];
    for (states, verdict, whole) in cases {
        let r = report(states);
        assert_eq!(r.verdict(), *verdict);
        assert_eq!(r.is_whole(), *whole);
        assert_eq!(r.to_json()["whole"], *whole);
    }
}

#[test]
fn text_names_file_and_line() {
    let mut r = report(&[LinkState::Ok, LinkState::Broken]);
    r.links[1].evidence.push("why".into());
    let text = r.to_text();
    assert!(text.contains("ok       a           f.yaml: m0\n"), "{text}");
    assert!(
        text.contains("broken   b           f.yaml:1: m1\n"),
        "{text}"
    );
    assert!(text.contains("- why\n"), "{text}");
    assert!(text.ends_with("verdict: broken at b: m1\n"), "{text}");
}
