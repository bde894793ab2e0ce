//! Tier 0, pure engine: Flux's ImagePolicy tag selection
//! (image-reflector-controller `applyPolicy`) without IO, clock or async.
//!
//! Given a tag list and a policy (`semver` range, `alphabetical` or
//! `numerical` order, optional `filterTags` pattern and extract), choose the
//! one latest tag exactly as Flux does, and explain the verdict for every tag.
//! Must not depend on `ferroflux-api` (callers convert their CRD types into
//! [`Choice`] and [`TagFilter`]), tokio, or any IO crate.
//!
//! Where Flux is non-deterministic (candidates come out of a Go map in random
//! order, so ties between equal versions, equal numbers or tags that extract
//! to the same key depend on chance) this crate uses one order-independent
//! rule: **among tied candidates the greatest original tag, compared
//! bytewise, wins**. `NaN` from a numerical policy never beats a number (in
//! Go it wins or loses depending on its position).

pub mod explain;
pub mod filter;
pub mod numeric;
mod select;
pub mod semver;

pub use explain::{Explanation, Row, Verdict};
pub use filter::Filter;

/// `asc` or `desc` for alphabetical and numerical policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Greatest string / largest number (Flux's default).
    #[default]
    Asc,
    /// Smallest string / smallest number.
    Desc,
}

impl Order {
    /// Flux's parsing: upper-cased, "" means ASC.
    pub fn from_spec(order: &str) -> Result<Order, Error> {
        match order.to_uppercase().as_str() {
            "" | "ASC" => Ok(Order::Asc),
            "DESC" => Ok(Order::Desc),
            other => Err(Error::InvalidOrder {
                order: other.to_owned(),
            }),
        }
    }
}

/// `spec.policy`: exactly one way of ordering tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Semver { range: String },
    Alphabetical { order: Order },
    Numerical { order: Order },
}

impl Choice {
    /// Flux `PolicerFromSpec`: the first present of semver, alphabetical,
    /// numerical wins; none is an error.
    pub fn from_spec(
        semver_range: Option<&str>,
        alphabetical_order: Option<&str>,
        numerical_order: Option<&str>,
    ) -> Result<Choice, Error> {
        match (semver_range, alphabetical_order, numerical_order) {
            (Some(range), _, _) => Ok(Choice::Semver {
                range: range.to_owned(),
            }),
            (None, Some(order), _) => Ok(Choice::Alphabetical {
                order: Order::from_spec(order)?,
            }),
            (None, None, Some(order)) => Ok(Choice::Numerical {
                order: Order::from_spec(order)?,
            }),
            (None, None, None) => Err(Error::NoChoice),
        }
    }
}

/// `spec.filterTags`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagFilter {
    pub pattern: String,
    pub extract: String,
}

/// What can go wrong, with Flux's messages. The policy's name is the caller's
/// to add (for example `imagepolicy 'flux-system/app': <this>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid policy: given ImagePolicyChoice object is invalid")]
    NoChoice,
    #[error("invalid policy: {source}")]
    InvalidRange {
        range: String,
        source: semver::Error,
    },
    #[error(
        "invalid policy: invalid order argument provided: '{order}', must be one of: ASC, DESC"
    )]
    InvalidOrder { order: String },
    #[error("failed to filter tags: {0}")]
    InvalidPattern(#[from] filter::Error),
    #[error("version list argument cannot be empty")]
    EmptyList,
    #[error("unable to determine latest version from provided list")]
    NoMatch,
    #[error("failed to parse invalid numeric value '{value}'")]
    InvalidNumeric { value: String },
}

impl Error {
    /// True when the policy itself is wrong (Flux: Stalled, `InvalidPolicy`),
    /// false when it is fine but no tag qualifies (Ready=False, `Failure`).
    pub fn is_invalid_policy(&self) -> bool {
        matches!(
            self,
            Error::NoChoice
                | Error::InvalidRange { .. }
                | Error::InvalidOrder { .. }
                | Error::InvalidPattern(_)
        )
    }
}

/// A compiled ImagePolicy: range and regex are parsed once.
#[derive(Debug, Clone)]
pub struct Policy {
    choice: Choice,
    ordering: Ordering,
    filter: Option<Filter>,
}

#[derive(Debug, Clone)]
enum Ordering {
    Semver(semver::Constraints),
    Alphabetical(Order),
    Numerical(Order),
}

/// The chosen tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The original tag (what Flux writes to `status.latestRef.tag`).
    pub latest: String,
    /// The value that was ordered: the extracted key, or the tag itself.
    pub key: String,
    /// Every original tag that tied with the winner (the winner included,
    /// sorted bytewise); more than one means the tie rule decided.
    pub tied: Vec<String>,
    /// How many tags passed the filter.
    pub candidates: usize,
}

impl Policy {
    /// Compile a policy; an invalid range, order or pattern is an error here,
    /// never later.
    pub fn new(choice: Choice, filter: Option<TagFilter>) -> Result<Policy, Error> {
        let ordering = match &choice {
            Choice::Semver { range } => {
                Ordering::Semver(semver::Constraints::parse(range).map_err(|source| {
                    Error::InvalidRange {
                        range: range.clone(),
                        source,
                    }
                })?)
            }
            Choice::Alphabetical { order } => Ordering::Alphabetical(*order),
            Choice::Numerical { order } => Ordering::Numerical(*order),
        };
        let filter = filter
            .map(|f| Filter::new(&f.pattern, &f.extract))
            .transpose()?;
        Ok(Policy {
            choice,
            ordering,
            filter,
        })
    }

    pub fn choice(&self) -> &Choice {
        &self.choice
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Choose the latest tag, as Flux does (see the crate docs for ties).
    pub fn select<S: AsRef<str>>(&self, tags: &[S]) -> Result<Selection, Error> {
        select::select(self, tags)
    }

    /// One row per tag saying why it was chosen, kept or dropped.
    pub fn explain<S: AsRef<str>>(&self, tags: &[S]) -> Explanation {
        explain::explain(self, tags)
    }
}

#[cfg(test)]
mod tests;
