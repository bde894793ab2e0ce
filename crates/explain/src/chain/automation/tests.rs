use super::*;

#[test]
fn update_path_coverage() {
    let cases = [
        ("", "apps/x.yaml", true),
        ("apps", "apps/x.yaml", true),
        ("apps/stage", "apps/stage/d/x.yaml", true),
        ("apps/stage", "apps/stage2/x.yaml", false),
        ("apps/stage", "apps/prod/x.yaml", false),
        ("apps/x.yaml", "apps/x.yaml", true),
    ];
    for (path, file, want) in cases {
        assert_eq!(covers(path, file), want, "{path} {file}");
    }
}

#[test]
fn update_path_is_normalised() {
    let cases = [
        (None, ""),
        (Some("./apps/stage"), "apps/stage"),
        (Some("./apps/stage/"), "apps/stage"),
        (Some("."), ""),
        (Some("./"), ""),
        (Some("/clusters"), "clusters"),
    ];
    for (path, want) in cases {
        let mut a = ImageUpdateAutomation::new("a", Default::default());
        a.spec.update = path.map(|p| ferroflux_api::image::UpdateStrategy {
            path: Some(p.to_string()),
            ..Default::default()
        });
        assert_eq!(update_path(&a), want, "{path:?}");
    }
}
