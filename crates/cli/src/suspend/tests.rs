use clap::Parser;

use super::*;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SuspendArgs,
}

fn parse(argv: &[&str]) -> Result<SuspendArgs, clap::Error> {
    Cli::try_parse_from(std::iter::once("x").chain(argv.iter().copied())).map(|c| c.args)
}

#[test]
fn resume_waits_like_flux() {
    let cases: [(&[&str], bool); 6] = [
        (&["a"], true),
        (&["a", "b"], false),
        (&["--all"], false),
        (&["a", "--wait"], true),
        (&["a", "--wait=false"], false),
        (&["--all", "--wait"], true),
    ];
    for (argv, want) in cases {
        let args = parse(argv).expect("parse");
        assert_eq!(should_wait(&args), want, "{argv:?}");
    }
}

#[test]
fn names_or_all_required() {
    assert!(parse(&[]).is_err());
    assert!(parse(&["a", "--all"]).is_err());
    assert!(parse(&["--timeout", "soon", "a"]).is_err());
    let args = parse(&["a", "-n", "apps", "--timeout", "30s"]).expect("parse");
    assert_eq!(args.namespace, "apps");
    assert_eq!(args.timeout.to_string(), "30s");
}

#[test]
fn verbs_like_flux() {
    assert_eq!(
        (Verb::Suspend.doing(), Verb::Suspend.done()),
        ("suspending", "suspended")
    );
    assert_eq!(
        (Verb::Resume.doing(), Verb::Resume.done()),
        ("resuming", "resumed")
    );
}
