//! The selection loop: one pass over the tags, no allocation per tag.

use std::cmp::Ordering as Cmp;

use crate::semver::{self, Version};
use crate::{Error, Order, Ordering, Policy, Selection, numeric};

/// Call `f(index, key, tag)` for every tag that passes the filter; returns how
/// many did.
pub(crate) fn for_each_candidate<'t, S: AsRef<str>>(
    policy: &Policy,
    tags: &'t [S],
    mut f: impl FnMut(usize, &str, &'t str) -> Result<(), Error>,
) -> Result<usize, Error> {
    let mut count = 0;
    match &policy.filter {
        Some(filter) => {
            let mut scratch = filter.scratch();
            for (i, t) in tags.iter().enumerate() {
                let tag = t.as_ref();
                if let Some(key) = filter.apply(tag, &mut scratch) {
                    count += 1;
                    f(i, key, tag)?;
                }
            }
        }
        None => {
            for (i, t) in tags.iter().enumerate() {
                let tag = t.as_ref();
                count += 1;
                f(i, tag, tag)?;
            }
        }
    }
    Ok(count)
}

/// The running winner and the tags tied with it.
struct Tally<'t> {
    best: Option<&'t str>,
    key: String,
    tied: Vec<usize>,
}

impl<'t> Tally<'t> {
    fn new() -> Self {
        Tally {
            best: None,
            key: String::new(),
            tied: Vec::new(),
        }
    }

    /// `cmp` is the new candidate against the current best (ignored when
    /// there is none). Returns true when the candidate became the best.
    fn offer(&mut self, cmp: Cmp, i: usize, key: &str, tag: &'t str) -> bool {
        match (self.best, cmp) {
            (None, _) | (Some(_), Cmp::Greater) => {
                self.take(key, tag);
                self.tied.clear();
                self.tied.push(i);
                true
            }
            (Some(best), Cmp::Equal) => {
                self.tied.push(i);
                // The tie rule: the greatest original tag, bytewise.
                if tag > best {
                    self.take(key, tag);
                }
                false
            }
            (Some(_), Cmp::Less) => false,
        }
    }

    fn take(&mut self, key: &str, tag: &'t str) {
        self.best = Some(tag);
        self.key.clear();
        self.key.push_str(key);
    }

    fn finish<S: AsRef<str>>(self, tags: &[S], candidates: usize) -> Result<Selection, Error> {
        if candidates == 0 {
            return Err(Error::EmptyList);
        }
        let latest = self.best.ok_or(Error::NoMatch)?;
        let mut tied: Vec<String> = self
            .tied
            .iter()
            .map(|&i| tags[i].as_ref().to_owned())
            .collect();
        tied.sort();
        tied.dedup();
        Ok(Selection {
            latest: latest.to_owned(),
            key: self.key,
            tied,
            candidates,
        })
    }
}

pub(crate) fn select<S: AsRef<str>>(policy: &Policy, tags: &[S]) -> Result<Selection, Error> {
    let mut tally = Tally::new();
    let candidates = match &policy.ordering {
        Ordering::Semver(range) => {
            let mut best = OwnedVersion::default();
            for_each_candidate(policy, tags, |i, key, tag| {
                if let Some(v) = semver::try_parse_tag(key)
                    && range.check(&v)
                {
                    let cmp = v.compare(&best.view());
                    if tally.offer(cmp, i, key, tag) {
                        best.set(&v);
                    }
                }
                Ok(())
            })?
        }
        Ordering::Alphabetical(order) => {
            let order = *order;
            for_each_candidate(policy, tags, |i, key, tag| {
                let cmp = directed(key.cmp(tally.key.as_str()), order);
                tally.offer(cmp, i, key, tag);
                Ok(())
            })?
        }
        Ordering::Numerical(order) => {
            let order = *order;
            let mut best = f64::NAN;
            for_each_candidate(policy, tags, |i, key, tag| {
                let value = numeric::parse_float(key).map_err(|_| Error::InvalidNumeric {
                    value: key.to_owned(),
                })?;
                if tally.offer(numeric_rank(value, best, order), i, key, tag) {
                    best = value;
                }
                Ok(())
            })?
        }
    };
    tally.finish(tags, candidates)
}

fn directed(cmp: Cmp, order: Order) -> Cmp {
    match order {
        Order::Asc => cmp,
        Order::Desc => cmp.reverse(),
    }
}

/// How `value` ranks against `best` (Greater = better). NaN is worse than any
/// number in both orders, and ties with NaN.
pub(crate) fn numeric_rank(value: f64, best: f64, order: Order) -> Cmp {
    match (value.is_nan(), best.is_nan()) {
        (true, true) => Cmp::Equal,
        (true, false) => Cmp::Less,
        (false, true) => Cmp::Greater,
        (false, false) => directed(value.partial_cmp(&best).unwrap_or(Cmp::Equal), order),
    }
}

/// The best version so far, owning its prerelease (buffer reused).
#[derive(Default)]
struct OwnedVersion {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

impl OwnedVersion {
    fn view(&self) -> Version<'_> {
        Version {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: &self.pre,
        }
    }

    fn set(&mut self, v: &Version<'_>) {
        self.major = v.major;
        self.minor = v.minor;
        self.patch = v.patch;
        self.pre.clear();
        self.pre.push_str(v.pre);
    }
}
