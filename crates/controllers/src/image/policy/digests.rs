//! `digestReflectionPolicy` for both homes: the policy step asks
//! [`DigestSource`] for the digest of `<spec.image>:<tag>`, and this
//! adapter answers with a manifest HEAD through the registry client, with
//! the referenced ImageRepository's credentials, TLS and `spec.timeout`.
//!
//! The policy step is synchronous; it runs on a blocking thread, where
//! the registry call is driven to completion on the runtime's handle.

use ferroflux_api::image::ImageRepository;
use ferroflux_registry::{Auth, Client};

use super::{DigestSource, Error};
use crate::image::repository;

/// Digests from the registry, or the reason none can be fetched (the
/// repository's Secret could not be read): the policy then fails with it.
pub(crate) struct RegistryDigests {
    pub(crate) setup: Result<(Auth, Client), String>,
    pub(crate) handle: tokio::runtime::Handle,
}

impl DigestSource for RegistryDigests {
    fn digest(&self, repo: &ImageRepository, reference: &str) -> Result<String, Error> {
        let fail = |message: String| Error::Digest {
            reference: reference.to_string(),
            message,
        };
        let (auth, client) = self.setup.as_ref().map_err(|e| fail(e.clone()))?;
        let image = repository::parse_image(repo).map_err(|e| fail(e.message().to_string()))?;
        let tag = tag_of(reference, &repo.spec.image)
            .ok_or_else(|| fail(format!("no tag after {} in the reference", repo.spec.image)))?;
        let client = client.with_timeout(repo.spec.effective_timeout().to_std());
        self.handle
            .block_on(client.head_digest(&image, tag, auth))
            .map_err(|e| fail(e.to_string()))
    }
}

/// The tag of `<image>:<tag>[@digest]`.
fn tag_of<'a>(reference: &'a str, image: &str) -> Option<&'a str> {
    let rest = reference.strip_prefix(image)?.strip_prefix(':')?;
    Some(rest.split_once('@').map_or(rest, |(tag, _)| tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_follows_the_image() {
        let cases = [
            ("reg:5000/app:1.0", "reg:5000/app", Some("1.0")),
            ("reg:5000/app:1.0@sha256:ab", "reg:5000/app", Some("1.0")),
            ("reg:5000/app", "reg:5000/app", None),
            ("other/app:1.0", "reg:5000/app", None),
        ];
        for (reference, image, want) in cases {
            assert_eq!(tag_of(reference, image), want, "{reference}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_setup_failure_is_the_digest_error() {
        let digests = RegistryDigests {
            setup: Err("secret 'apps/creds' not found".to_string()),
            handle: tokio::runtime::Handle::current(),
        };
        let repo = ImageRepository::new("app", Default::default());
        let err = tokio::task::spawn_blocking(move || digests.digest(&repo, "app:1.0"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed fetching descriptor for \"app:1.0\": secret 'apps/creds' not found"
        );
    }
}
