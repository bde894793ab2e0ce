//! Against the fake registry: pagination, Bearer tokens, 429 and 5xx.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferroflux_registry::{Auth, Client, ImageName, Options, Progress, RegistryError, RetryPolicy};
use ferroflux_testkit::fake_registry::{
    Bearer, FakeRegistry, LinkStyle, Options as FakeOptions, Served, Stats,
};

fn many_tags(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("1.{}.{}", i / 100, i % 100))
        .collect()
}

fn repos(name: &str, tags: Vec<String>) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(name.to_owned(), tags)])
}

fn client(opts: Options) -> Client {
    Client::new(opts).expect("client")
}

fn fast() -> Options {
    Options {
        rate_limit: 0,
        timeout: Duration::from_secs(20),
        ..Options::default()
    }
}

fn sorted(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags
}

#[tokio::test]
async fn ten_thousand_tags_through_link_pagination() {
    let all = many_tags(10_000);
    let cases = [
        (LinkStyle::Relative, 1000, 100),
        (LinkStyle::Absolute, 1000, 100),
        // No Link header: the client continues with n/last while pages are full.
        (LinkStyle::None, 100, 101),
    ];
    for (links, page_size, pages) in cases {
        let fake = FakeRegistry::start(FakeOptions {
            repositories: repos("org/app", all.clone()),
            max_page: 100,
            links,
            ..FakeOptions::default()
        })
        .await;
        let client = client(Options {
            page_size,
            ..fast()
        });
        let image = ImageName::parse(&fake.image("org/app"), true).unwrap();
        let mut progress = Vec::new();
        let tags = client
            .list_tags_with_progress(&image, &Auth::Anonymous, |p| progress.push(p))
            .await
            .unwrap();
        assert_eq!(tags.len(), 10_000, "{links:?}");
        assert_eq!(tags, sorted(all.clone()), "{links:?}");
        assert_eq!(progress.len(), pages, "{links:?}");
        assert_eq!(
            progress.last(),
            Some(&Progress {
                pages,
                tags: 10_000,
                more: false
            })
        );
        assert!(progress[..pages - 1].iter().all(|p| p.more));
        // LinkStyle::None asks once more after the last full page.
        assert_eq!(Stats::get(&fake.stats().tag_requests), pages, "{links:?}");
    }
}

#[tokio::test]
async fn bearer_challenge_and_token_cache() {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/private", many_tags(1_000)),
        max_page: 100,
        bearer: Some(Bearer {
            credentials: Some(("robot".into(), "t0ken-secret".into())),
            expires_in: 300,
        }),
        ..FakeOptions::default()
    })
    .await;
    let client = client(fast());
    let image = ImageName::parse(&fake.image("org/private"), true).unwrap();
    let auth = Auth::Basic {
        username: "robot".into(),
        password: "t0ken-secret".into(),
    };
    for _ in 0..3 {
        let tags = client.list_tags(&image, &auth).await.unwrap();
        assert_eq!(tags.len(), 1_000);
    }
    // Ten pages, three scans, one token.
    assert_eq!(Stats::get(&fake.stats().token_requests), 1);
    assert_eq!(client.token_requests(), 1);
    assert_eq!(Stats::get(&fake.stats().tag_requests), 30);
    let digest = client.head_digest(&image, "1.0.5", &auth).await.unwrap();
    assert_eq!(digest, FakeRegistry::digest("org/private", "1.0.5"));
    assert_eq!(Stats::get(&fake.stats().token_requests), 1);

    let wrong = Auth::Basic {
        username: "robot".into(),
        password: "wrong-secret".into(),
    };
    let err = client.list_tags(&image, &wrong).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("/token?service=fake-registry"), "{text}");
    assert!(
        text.contains("401 Unauthorized: UNAUTHORIZED: incorrect username or password"),
        "{text}"
    );
    for shown in [text, format!("{err:?}")] {
        assert!(
            !shown.contains("wrong-secret") && !shown.contains("t0ken-secret"),
            "{shown}"
        );
        assert!(!shown.contains("fake-token-"), "{shown}");
    }
}

#[tokio::test]
async fn expired_tokens_are_renewed() {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(10)),
        bearer: Some(Bearer {
            credentials: None,
            expires_in: 1,
        }),
        ..FakeOptions::default()
    })
    .await;
    let client = client(fast());
    let image = ImageName::parse(&fake.image("org/app"), true).unwrap();
    client.list_tags(&image, &Auth::Anonymous).await.unwrap();
    client.list_tags(&image, &Auth::Anonymous).await.unwrap();
    assert_eq!(client.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    client.list_tags(&image, &Auth::Anonymous).await.unwrap();
    assert_eq!(client.token_requests(), 2);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(250)),
        throttle: 2,
        retry_after: Some("1".into()),
        ..FakeOptions::default()
    })
    .await;
    let client = client(Options {
        retry: RetryPolicy {
            // Without Retry-After the client would retry after ~1ms.
            initial_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        ..fast()
    });
    let image = ImageName::parse(&fake.image("org/app"), true).unwrap();
    let started = Instant::now();
    let tags = client.list_tags(&image, &Auth::Anonymous).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(tags.len(), 250);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(Stats::get(&fake.stats().tag_requests), 2 + 3);
}

#[tokio::test]
async fn retry_after_beyond_the_timeout_fails_at_once() {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(5)),
        throttle: 100,
        retry_after: Some("3600".into()),
        ..FakeOptions::default()
    })
    .await;
    let client = client(Options {
        timeout: Duration::from_secs(5),
        ..fast()
    });
    let image = ImageName::parse(&fake.image("org/app"), true).unwrap();
    let started = Instant::now();
    let err = client
        .list_tags(&image, &Auth::Anonymous)
        .await
        .unwrap_err();
    // Gave up before the 5s timeout instead of sleeping for an hour.
    assert!(started.elapsed() < Duration::from_secs(4));
    let text = err.to_string();
    assert!(matches!(err, RegistryError::Timeout { .. }), "{err:?}");
    assert!(
        text.contains(&format!("registry {}", fake.host())),
        "{text}"
    );
    assert!(text.contains("repository org/app"), "{text}");
    assert!(
        text.contains("unexpected status code 429 Too Many Requests: TOOMANYREQUESTS"),
        "{text}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_the_timeout() {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(5)),
        fail_status: Some(503),
        ..FakeOptions::default()
    })
    .await;
    let client = client(Options {
        timeout: Duration::from_millis(1_500),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
            max_retries: 100,
        },
        ..fast()
    });
    let image = ImageName::parse(&fake.image("org/app"), true).unwrap();
    let started = Instant::now();
    let err = client
        .list_tags(&image, &Auth::Anonymous)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    // Stopped at the 1.5s deadline, not after 100 retries of up to 400ms.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let text = err.to_string();
    assert!(matches!(err, RegistryError::Timeout { .. }), "{err:?}");
    assert!(text.starts_with("timeout after 1.5s"), "{text}");
    assert!(
        text.contains("unexpected status code 503 Service Unavailable"),
        "{text}"
    );
    assert!(Stats::get(&fake.stats().tag_requests) >= 3);

    // With a retry budget instead, the last status is the error.
    let client = self::client(Options {
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_retries: 2,
        },
        ..fast()
    });
    let before = Stats::get(&fake.stats().tag_requests);
    let err = client
        .list_tags(&image, &Auth::Anonymous)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Status { status, .. } if status.as_u16() == 503),
        "{err:?}"
    );
    assert_eq!(Stats::get(&fake.stats().tag_requests) - before, 3);
}

/// Time to list 500 tags in 10 pages of 50 with this rate limit and burst.
async fn time_ten_pages(rate_limit: u32, rate_burst: u32) -> Duration {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(500)),
        max_page: 50,
        ..FakeOptions::default()
    })
    .await;
    let client = client(Options {
        rate_limit,
        rate_burst,
        ..fast()
    });
    let image = ImageName::parse(&fake.image("org/app"), true).expect("image name");
    let started = Instant::now();
    let tags = client
        .list_tags(&image, &Auth::Anonymous)
        .await
        .expect("tags");
    assert_eq!(tags.len(), 500);
    started.elapsed()
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    // 10 pages at 40/s, no burst: at least 9 gaps of 25ms.
    let took = time_ten_pages(40, 1).await;
    assert!(took >= Duration::from_millis(225), "{took:?}");
}

#[tokio::test]
async fn rate_limit_lets_a_burst_through_then_spaces_the_rest() {
    // Burst 10 at 1/s: no page waits (spaced, they would take 9 s).
    let took = time_ten_pages(1, 10).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Burst 5 at 40/s: 5 at once, then 5 gaps of 25ms.
    let took = time_ten_pages(40, 5).await;
    assert!(took >= Duration::from_millis(125), "{took:?}");
}

#[tokio::test]
async fn unknown_repository_and_manifest() {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(3)),
        ..FakeOptions::default()
    })
    .await;
    let client = client(fast());
    let image = ImageName::parse(&fake.image("org/missing"), true).unwrap();
    let err = client
        .list_tags(&image, &Auth::Anonymous)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("404 Not Found: NAME_UNKNOWN"),
        "{err}"
    );
    let image = ImageName::parse(&fake.image("org/app"), true).unwrap();
    let err = client
        .head_digest(&image, "nope", &Auth::Anonymous)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("HEAD http://"), "{err}");
    assert!(err.to_string().contains("404"), "{err}");
    let err = client
        .head_digest(&image, "../../x", &Auth::Anonymous)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidTag { .. }), "{err:?}");
}

/// Issue 13 item 6: numbers a registry (or a spec) sends are added to the
/// clock saturating: a `Retry-After` of u64::MAX seconds is a timeout, a
/// token `expires_in` of u64::MAX a (capped) cache lifetime, a timeout of
/// `Duration::MAX` no deadline at all; none of them panics.
#[tokio::test]
async fn huge_retry_after_expires_in_and_timeout_do_not_panic() {
    let throttled = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(5)),
        throttle: 100,
        retry_after: Some(u64::MAX.to_string()),
        ..FakeOptions::default()
    })
    .await;
    let image = ImageName::parse(&throttled.image("org/app"), true).unwrap();
    let err = client(fast())
        .list_tags(&image, &Auth::Anonymous)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Timeout { .. }), "{err:?}");

    let forever = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(5)),
        bearer: Some(Bearer {
            credentials: None,
            expires_in: u64::MAX,
        }),
        ..FakeOptions::default()
    })
    .await;
    let image = ImageName::parse(&forever.image("org/app"), true).unwrap();
    let unbounded = client(fast()).with_timeout(Duration::MAX);
    for _ in 0..2 {
        let tags = unbounded.list_tags(&image, &Auth::Anonymous).await.unwrap();
        assert_eq!(tags.len(), 5);
    }
    assert_eq!(unbounded.token_requests(), 1);
}

/// Issue 13 item 10: what a registry sends is bounded: the bytes of one
/// response, the pages of one scan and the tags of one repository; each
/// limit is a clear error, not memory or time without end.
#[tokio::test]
async fn bodies_pages_and_tags_are_bounded() {
    let fake = FakeRegistry::start(FakeOptions {
        repositories: repos("org/app", many_tags(250)),
        max_page: 100,
        ..FakeOptions::default()
    })
    .await;
    let image = ImageName::parse(&fake.image("org/app"), true).unwrap();
    let scan = |opts: Options| {
        let image = image.clone();
        async move { client(opts).list_tags(&image, &Auth::Anonymous).await }
    };
    let cases = [
        (
            Options {
                max_body_bytes: 500,
                ..fast()
            },
            "response body over 500 bytes, ferroflux's limit",
        ),
        (
            Options {
                max_pages: 2,
                ..fast()
            },
            "more than 2 pages, ferroflux's limit",
        ),
        (
            Options {
                max_tags: 150,
                ..fast()
            },
            "more than 150 tags, ferroflux's limit",
        ),
    ];
    for (opts, want) in cases {
        let err = scan(opts).await.unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert!(err.contains(&fake.host()), "{err}");
    }
    assert_eq!(scan(fast()).await.unwrap().len(), 250);
}

/// Manifests and blobs a hostile registry serves: digests that lie,
/// sizes that lie, bodies over the bounds. Each is a clear error.
#[tokio::test]
async fn hostile_manifests_and_blobs_are_refused() {
    use ferroflux_registry::Descriptor;
    use ferroflux_registry::manifest::{FLUX_CONTENT, OCI_MANIFEST, sha256};
    let layer = b"layer bytes".to_vec();
    let layer_digest = sha256(&layer);
    let manifest = |size: usize| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "layers": [{"mediaType": FLUX_CONTENT, "digest": layer_digest, "size": size}],
        }))
        .unwrap()
    };
    let good = manifest(layer.len());
    let good_digest = sha256(&good);
    let liar = sha256(b"another manifest");
    let served = |body: Vec<u8>, digest: Option<String>| Served {
        content_type: OCI_MANIFEST.to_owned(),
        body,
        digest,
    };
    let huge = vec![b' '; 5 << 20];
    let objects = BTreeMap::from([
        (
            "ab/manifests/ok".to_owned(),
            served(good.clone(), Some(good_digest.clone())),
        ),
        (
            "ab/manifests/lies".to_owned(),
            served(good.clone(), Some(liar.clone())),
        ),
        (format!("ab/manifests/{liar}"), served(good.clone(), None)),
        ("ab/manifests/huge".to_owned(), served(huge, None)),
        ("ab/manifests/short".to_owned(), served(manifest(3), None)),
        ("ab/manifests/long".to_owned(), served(manifest(100), None)),
        (
            format!("ab/blobs/{layer_digest}"),
            served(layer.clone(), None),
        ),
        (
            format!("ab/blobs/{}", sha256(b"x")),
            served(b"not x".to_vec(), None),
        ),
    ]);
    let fake = FakeRegistry::start(FakeOptions {
        objects,
        ..FakeOptions::default()
    })
    .await;
    let client = client(fast());
    let image = ImageName::parse(&fake.image("ab"), true).unwrap();
    let auth = Auth::Anonymous;
    let m = client.get_manifest(&image, "ok", &auth).await.unwrap();
    assert_eq!(m.digest, good_digest);
    let mut out = Vec::new();
    client
        .get_blob(&image, &m.layers[0], 1 << 20, &auth, &mut out)
        .await
        .unwrap();
    assert_eq!(out, layer);

    let manifest_cases = [
        ("lies", "manifest lies of ab has digest sha256:"),
        (liar.as_str(), "has digest sha256:"),
        ("huge", "response body over 4194304 bytes"),
        ("../../etc", "invalid tag '../../etc'"),
        ("sha256:zz", "invalid tag 'sha256:zz'"),
    ];
    for (reference, want) in manifest_cases {
        let err = client
            .get_manifest(&image, reference, &auth)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(want), "{reference}: {err}");
    }
    let err = client
        .get_manifest(&image, "lies", &auth)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Digest { .. }), "{err:?}");

    let short = client.get_manifest(&image, "short", &auth).await.unwrap();
    let long = client.get_manifest(&image, "long", &auth).await.unwrap();
    let wrong = Descriptor {
        digest: sha256(b"x"),
        ..Descriptor::default()
    };
    let bad_algorithm = Descriptor {
        digest: "md5:0123".into(),
        ..Descriptor::default()
    };
    let blob_cases = [
        (&short.layers[0], 1 << 20, "more than 3 bytes"),
        (
            &long.layers[0],
            1 << 20,
            "11 bytes served, the manifest says 100",
        ),
        (&long.layers[0], 50, "size 100 is over 50 bytes"),
        (&wrong, 1 << 20, "blob of ab has digest sha256:"),
        (&bad_algorithm, 1 << 20, "unsupported digest"),
    ];
    for (desc, limit, want) in blob_cases {
        let err = client
            .get_blob(&image, desc, limit, &auth, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(want), "{}: {err}", desc.digest);
    }
    let unknown = Descriptor {
        digest: sha256(b"unknown"),
        ..Descriptor::default()
    };
    let err = client
        .get_blob(&image, &unknown, 1 << 20, &auth, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
