//! The signed objects of a checkout, for [`crate::verify`]: the commit and,
//! when the checkout went through an annotated tag, that tag.

use git2::ObjectType;

use super::{Error, Workspace};
use crate::verify::{self, Signed};

/// An annotated tag that a checkout came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTag {
    /// `<name>@<tag object hex>`, as Flux prints a tag.
    pub display: String,
    /// `None` when the tag carries no signature.
    pub signed: Option<Signed>,
}

impl Workspace {
    /// The checked-out commit's signature and the bytes it signs (the
    /// commit without its `gpgsig` header); `None` when it is unsigned.
    pub fn signed_commit(&self) -> Result<Option<Signed>, Error> {
        let Some(oid) = self.checkout_commit else {
            return Ok(None);
        };
        match self.repo.extract_signature(&oid, None) {
            Ok((sig, data)) => Ok(Some(Signed {
                signature: String::from_utf8_lossy(&sig).into_owned(),
                payload: data.to_vec(),
            })),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Error::Local {
                op: "read commit signature",
                message: e.message().to_string(),
            }),
        }
    }

    /// The annotated tag the checkout went through (`spec.ref.tag` or
    /// `semver`); `None` for a branch, a commit or a lightweight tag, which
    /// have no tag object (Flux's `ReferencingTag` is nil then).
    pub fn signed_tag(&self) -> Result<Option<SignedTag>, Error> {
        let Some(refname) = self.checkout_refname.as_deref() else {
            return Ok(None);
        };
        let Some(name) = refname.strip_prefix("refs/tags/") else {
            return Ok(None);
        };
        let reference = match self.repo.find_reference(refname) {
            Ok(r) => r,
            Err(_) => return Ok(None),
        };
        let Some(target) = reference.target() else {
            return Ok(None);
        };
        let odb = self.repo.odb().map_err(|e| Error::Local {
            op: "open object database",
            message: e.message().to_string(),
        })?;
        let object = match odb.read(target) {
            Ok(o) => o,
            Err(_) => return Ok(None),
        };
        if object.kind() != ObjectType::Tag {
            return Ok(None);
        }
        Ok(Some(SignedTag {
            display: format!("{name}@{target}"),
            signed: verify::split_tag(object.data()),
        }))
    }
}
