//! Properties: the result does not depend on the tag order, the chosen tag
//! satisfies the policy, and no other candidate beats it.

use std::cmp::Ordering;

use ferroflux_policy::{Choice, Error, Order, numeric, semver};
use proptest::prelude::*;

use crate::generate::{self, Rng};

fn shuffled(tags: &[String], seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut out = tags.to_vec();
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i + 1));
    }
    out
}

fn same_outcome(
    a: &Result<ferroflux_policy::Selection, Error>,
    b: &Result<ferroflux_policy::Selection, Error>,
) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        // Which unparsable number is named depends on the order (Flux too);
        // the class must not.
        (Err(Error::InvalidNumeric { .. }), Err(Error::InvalidNumeric { .. })) => true,
        (Err(x), Err(y)) => x == y,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn result_does_not_depend_on_order(seed in any::<u64>(), shuffle in any::<u64>()) {
        let case = generate::case(&mut Rng::new(seed));
        let Ok(policy) = case.policy() else { return Ok(()) };
        let a = policy.select(&case.tags);
        let b = policy.select(&shuffled(&case.tags, shuffle));
        prop_assert!(same_outcome(&a, &b), "{case:?}\n{a:?}\n{b:?}");
    }

    #[test]
    fn winner_qualifies_and_is_not_beaten(seed in any::<u64>()) {
        let case = generate::case(&mut Rng::new(seed));
        let Ok(policy) = case.policy() else { return Ok(()) };
        let Ok(sel) = policy.select(&case.tags) else { return Ok(()) };
        prop_assert!(case.tags.contains(&sel.latest));
        let filter = policy.filter();
        let mut scratch = filter.map(|f| f.scratch());
        let key_of = |tag: &str, scratch: &mut Option<ferroflux_policy::filter::Scratch>| -> Option<String> {
            match (filter, scratch.as_mut()) {
                (Some(f), Some(s)) => f.apply(tag, s).map(str::to_owned),
                _ => Some(tag.to_owned()),
            }
        };
        prop_assert_eq!(key_of(&sel.latest, &mut scratch), Some(sel.key.clone()));
        for tag in &case.tags {
            let Some(key) = key_of(tag, &mut scratch) else { continue };
            let cmp = match policy.choice() {
                Choice::Semver { range } => {
                    let range = semver::Constraints::parse(range).expect("compiled before");
                    let best = semver::parse_tag(&sel.key).expect("winner is semver");
                    prop_assert!(range.check(&best));
                    match semver::try_parse_tag(&key) {
                        Some(v) if range.check(&v) => v.compare(&best),
                        _ => continue,
                    }
                }
                Choice::Alphabetical { order } => {
                    let c = key.as_str().cmp(sel.key.as_str());
                    if *order == Order::Desc { c.reverse() } else { c }
                }
                Choice::Numerical { order } => {
                    let v = numeric::parse_float(&key).expect("all parse when one is chosen");
                    let best = numeric::parse_float(&sel.key).expect("winner parses");
                    let c = v.partial_cmp(&best).unwrap_or(Ordering::Equal);
                    if *order == Order::Desc { c.reverse() } else { c }
                }
            };
            prop_assert_ne!(cmp, Ordering::Greater, "{} beats {} in {:?}", tag, sel.latest, case);
            if cmp == Ordering::Equal {
                prop_assert!(tag.as_str() <= sel.latest.as_str(), "tie rule: {} > {}", tag, sel.latest);
                prop_assert!(sel.tied.contains(tag));
            }
        }
    }
}
