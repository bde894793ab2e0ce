use super::*;
use crate::fs::MemFs;
use crate::openapi::OpenApi;

fn loader(fs: &MemFs) -> Loader<'_> {
    Loader {
        fs,
        dir: Path::new("/k"),
        real_dir: Path::new("/k"),
        root_only: true,
        openapi: Box::leak(Box::new(OpenApi::default())),
    }
}

fn args(kind: Kind, name: &str) -> Args {
    Args {
        kind,
        name: name.to_string(),
        namespace: String::new(),
        behavior: Behavior::Unspecified,
        literals: Vec::new(),
        files: Vec::new(),
        envs: Vec::new(),
        options: GenOptions::default(),
        secret_type: String::new(),
        source: "/k/kustomization.yaml:3".to_string(),
    }
}

fn make_err(fs: &MemFs, a: &Args) -> String {
    make(&loader(fs), a, &mut Budget::default())
        .expect_err("must fail")
        .to_string()
}

fn text(r: &Resource, path: &[&str]) -> Option<String> {
    let mut v = &r.value;
    for p in path {
        v = v.get(p)?;
    }
    v.scalar_text()
}

#[test]
fn a_config_map_takes_envs_literals_and_files_with_binary_apart() {
    let mut fs = MemFs::new();
    fs.add("/k/a.env", "# c\nA=1\n");
    fs.add("/k/data/b.txt", "hello\n");
    fs.add("/k/bin", vec![0xff, 0xfe, 0x00]);
    let mut a = args(Kind::ConfigMap, "cm");
    a.envs = vec!["a.env".into()];
    a.literals = vec!["L=\"q\"".into()];
    a.files = vec!["data/b.txt".into(), "raw=bin".into()];
    a.namespace = "ns".into();
    a.options.labels.insert("l".into(), "v".into());
    a.options.immutable = true;
    let r = make(&loader(&fs), &a, &mut Budget::default()).unwrap();
    assert_eq!(text(&r, &["data", "A"]).as_deref(), Some("1"));
    assert_eq!(text(&r, &["data", "L"]).as_deref(), Some("q"));
    assert_eq!(text(&r, &["data", "b.txt"]).as_deref(), Some("hello\n"));
    assert_eq!(text(&r, &["binaryData", "raw"]).as_deref(), Some("//4A"));
    assert_eq!(text(&r, &["metadata", "namespace"]).as_deref(), Some("ns"));
    assert_eq!(text(&r, &["metadata", "labels", "l"]).as_deref(), Some("v"));
    assert_eq!(r.value.get("immutable"), Some(&Value::Bool(true)));
    assert!(r.needs_hash);
}

#[test]
fn a_secret_is_base64_with_its_type_and_data_even_empty() {
    let fs = MemFs::new();
    let mut a = args(Kind::Secret, "s");
    let r = make(&loader(&fs), &a, &mut Budget::default()).unwrap();
    assert_eq!(text(&r, &["type"]).as_deref(), Some("Opaque"));
    assert_eq!(r.value.get("data"), Some(&Value::Map(Map::default())));
    a.secret_type = "kubernetes.io/tls".into();
    a.literals = vec!["k=v".into()];
    a.options.disable_name_suffix_hash = true;
    let r = make(&loader(&fs), &a, &mut Budget::default()).unwrap();
    assert_eq!(text(&r, &["type"]).as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(text(&r, &["data", "k"]).as_deref(), Some("dg=="));
    assert!(!r.needs_hash);
}

#[test]
fn long_base64_breaks_every_70_characters_with_a_final_newline() {
    assert_eq!(encode_base64(b"abc"), "YWJj");
    let enc = encode_base64(&[b'x'; 60]);
    let lines: Vec<&str> = enc.split('\n').collect();
    assert_eq!(lines.len(), 3, "{enc:?}");
    assert_eq!(lines[0].len(), 70);
    assert_eq!(lines[2], "");
}

#[test]
fn generator_errors_name_the_entry_and_never_a_value() {
    let mut fs = MemFs::new();
    fs.add("/k/bad.env", b"A=1\nB=\xff\n".to_vec());
    fs.add("/outside.txt", "x");
    let unnamed = args(Kind::ConfigMap, "");
    assert!(make_err(&fs, &unnamed).contains("must have a name"));

    let mut a = args(Kind::Secret, "s");
    a.literals = vec!["password-without-equals".into()];
    let e = make_err(&fs, &a);
    assert!(
        e.contains("/k/kustomization.yaml:3") && e.contains("literals[0]"),
        "{e}"
    );
    assert!(!e.contains("password-without-equals"), "{e}");

    let mut a = args(Kind::ConfigMap, "cm");
    a.literals = vec!["k=1".into(), "k=2".into()];
    assert!(make_err(&fs, &a).contains("illegally repeats the key `k`"));

    let mut a = args(Kind::ConfigMap, "cm");
    a.envs = vec!["missing.env".into()];
    assert!(make_err(&fs, &a).contains("envs \"missing.env\""));

    let mut a = args(Kind::ConfigMap, "cm");
    a.envs = vec!["bad.env".into()];
    assert!(make_err(&fs, &a).contains("line 2"));

    let mut a = args(Kind::ConfigMap, "cm");
    a.files = vec!["k=".into()];
    assert!(make_err(&fs, &a).contains("missing file path"));

    let mut a = args(Kind::ConfigMap, "cm");
    a.files = vec!["../outside.txt".into()];
    assert!(make_err(&fs, &a).contains("is not in or below"));
}

#[test]
fn generators_are_bounded_in_bytes_and_keys() {
    let mut fs = MemFs::new();
    fs.add("/k/f", "0123456789");
    let mut a = args(Kind::ConfigMap, "cm");
    a.files = vec!["f".into()];
    let mut budget = Budget {
        bytes: MAX_GENERATED_BYTES - 5,
        objects: 0,
    };
    let e = make(&loader(&fs), &a, &mut budget).unwrap_err().to_string();
    assert!(e.contains("more than"), "{e}");
    let mut a = args(Kind::ConfigMap, "cm");
    a.literals = (0..=MAX_KEYS).map(|i| format!("k{i}=v")).collect();
    assert!(make_err(&fs, &a).contains(&format!("more than {MAX_KEYS} keys")));
}

fn cm(name: &str, data: &[(&str, &str)]) -> Resource {
    let fs = MemFs::new();
    let mut a = args(Kind::ConfigMap, name);
    a.literals = data.iter().map(|(k, v)| format!("{k}={v}")).collect();
    make(&loader(&fs), &a, &mut Budget::default()).unwrap()
}

#[test]
fn merge_keeps_the_old_name_history_and_unites_data() {
    let mut old = cm("cm", &[("a", "1"), ("b", "1")]);
    old.store_previous_id(&OpenApi::default());
    old.prefixes.push("p-".into());
    old.value
        .as_map_mut()
        .unwrap()
        .map_entry("metadata")
        .unwrap()
        .insert("name", Value::Str("p-cm".into()));
    let mut resources = vec![old];
    let mut new = cm("cm", &[("b", "2"), ("c", "2")]);
    new.behavior = Behavior::Merge;
    absorb(&mut resources, new, None).unwrap();
    assert_eq!(resources.len(), 1);
    let r = &resources[0];
    assert_eq!(r.name(), "p-cm");
    assert_eq!(r.prefixes, ["p-"]);
    let data: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|k| text(r, &["data", k]).unwrap())
        .collect();
    assert_eq!(data, ["1", "2", "2"]);
    assert!(r.needs_hash);
}

#[test]
fn replace_drops_old_data_and_the_hash_needs_both_sides() {
    let mut plain = cm("cm", &[("a", "1")]);
    plain.needs_hash = false;
    let mut resources = vec![plain];
    let mut new = cm("cm", &[("b", "2")]);
    new.behavior = Behavior::Replace;
    absorb(&mut resources, new, None).unwrap();
    assert_eq!(text(&resources[0], &["data", "a"]), None);
    assert_eq!(text(&resources[0], &["data", "b"]).as_deref(), Some("2"));
    assert!(
        !resources[0].needs_hash,
        "a resource that did not want a hash keeps its name"
    );
}

#[test]
fn merge_keeps_the_first_origin_and_replace_takes_the_new_one() {
    let by = |path: &str| origin::Configured::builtin(path, "ConfigMapGenerator");
    let origin_of = |r: &Resource| {
        r.value
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(origin::ORIGIN))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    for (behavior, want) in [
        (Behavior::Merge, "configuredIn: base/k.yaml"),
        (Behavior::Replace, "configuredIn: k.yaml"),
    ] {
        let mut resources = Vec::new();
        absorb(
            &mut resources,
            cm("cm", &[("a", "1")]),
            Some(&by("base/k.yaml")),
        )
        .unwrap();
        let mut new = cm("cm", &[("b", "2")]);
        new.behavior = behavior;
        absorb(&mut resources, new, Some(&by("k.yaml"))).unwrap();
        let o = origin_of(&resources[0]).unwrap();
        assert!(o.starts_with(&format!("{want}\n")), "{behavior:?}: {o}");
    }
}

#[test]
fn behaviors_that_do_not_fit_are_refused() {
    let mut resources = vec![cm("cm", &[])];
    let e = absorb(&mut resources, cm("cm", &[]), None).unwrap_err();
    assert!(e.contains("behavior must be merge or replace"), "{e}");
    let mut merge = cm("other", &[]);
    merge.behavior = Behavior::Merge;
    let e = absorb(&mut resources, merge, None).unwrap_err();
    assert!(e.contains("does not exist"), "{e}");
    let mut renamed = cm("x", &[]);
    renamed.store_previous_id(&OpenApi::default());
    renamed
        .value
        .as_map_mut()
        .unwrap()
        .map_entry("metadata")
        .unwrap()
        .insert("name", Value::Str("cm2".into()));
    let mut twice = cm("cm2", &[]);
    twice.store_previous_id(&OpenApi::default());
    resources.push(renamed);
    resources.push(twice);
    let mut again = cm("cm2", &[]);
    again.behavior = Behavior::Replace;
    let e = absorb(&mut resources, again, None).unwrap_err();
    assert!(e.contains("found multiple objects"), "{e}");
}

#[test]
fn hashes_end_the_current_name_and_keep_the_old_id() {
    let mut resources = vec![cm("cm", &[("a", "b")]), cm("off", &[])];
    resources[1].needs_hash = false;
    add_hashes(&mut resources, &OpenApi::default()).unwrap();
    assert_eq!(resources[0].name(), "cm-4h2mbtbbt6");
    assert_eq!(resources[0].previous[0].name, "cm");
    assert_eq!(resources[1].name(), "off");
}

#[test]
fn a_hash_over_an_unprintable_value_is_an_error() {
    let mut r = cm("cm", &[]);
    r.value
        .as_map_mut()
        .unwrap()
        .map_entry("data")
        .unwrap()
        .insert("n", Value::Float(f64::NAN));
    let e = add_hashes(std::slice::from_mut(&mut r), &OpenApi::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("computing the name hash"), "{e}");
}

fn config(text: &str) -> Resource {
    let mut rs = crate::build::parse_resources("/k/gen.yaml", text).unwrap();
    rs.remove(0)
}

#[test]
fn builtin_configs_generate_and_others_are_refused() {
    let fs = MemFs::new();
    let ld = loader(&fs);
    let r = from_config(
        &ld,
        &config(
            "apiVersion: builtin\nkind: SecretGenerator\nmetadata:\n  name: s\nliterals:\n- a=b\n",
        ),
        &mut Budget::default(),
    )
    .unwrap();
    assert_eq!(r[0].kind(), "Secret");
    assert_eq!(r[0].name(), "s");
    let e = from_config(
        &ld,
        &config("apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: g\n"),
        &mut Budget::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    let e = from_config(
        &ld,
        &config("apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata:\n  name: h\n"),
        &mut Budget::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not supported yet"), "{e}");
    let e = from_config(
        &ld,
        &config(
            "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: c\nliterals: x\n",
        ),
        &mut Budget::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/k/gen.yaml:1"), "{e}");
}

#[test]
fn iam_policy_makes_a_service_account_for_gke_only() {
    let fs = MemFs::new();
    let ld = loader(&fs);
    let generate = |body: &str| {
        from_config(
            &ld,
            &config(&format!(
                "apiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata:\n  name: g\n{body}"
            )),
            &mut Budget::default(),
        )
    };
    let r = generate(
        "cloud: gke\nkubernetesService:\n  name: ksa\n  namespace: ns\nserviceAccount:\n  \
         name: gsa\n  projectId: p\n",
    )
    .unwrap();
    assert_eq!(r[0].name(), "ksa");
    assert_eq!(r[0].namespace(), "ns");
    assert_eq!(
        text(
            &r[0],
            &["metadata", "annotations", "iam.gke.io/gcp-service-account"]
        )
        .as_deref(),
        Some("gsa@p.iam.gserviceaccount.com")
    );
    let e = generate("cloud: aws\n").unwrap_err().to_string();
    assert!(e.contains("cloud provider aws not supported yet"), "{e}");
    let e = generate("cloud: gke\nkubernetesService:\n  name: \"a\\n---\\nkind: X\"\n")
        .unwrap_err()
        .to_string();
    assert!(!e.is_empty());
}

#[test]
fn kustomization_fields_report_the_line_of_the_bad_key() {
    let parse = |text: &str| {
        let docs = ferroflux_api::yaml::parse_stream_raw(text).unwrap();
        let root = docs[0].node.clone().unwrap();
        let ferroflux_api::yaml::Value::Map(entries) = &root.value else {
            panic!()
        };
        from_kustomization("k.yaml", Kind::ConfigMap, &entries[0].value)
    };
    let e = parse("configMapGenerator:\n- name: a\n  literal:\n  - x=y\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("k.yaml:3: invalid Kustomization: field `configMapGenerator`"),
        "{e}"
    );
    assert!(e.contains("did you mean `literals`"), "{e}");
    let e = parse("configMapGenerator: x\n").unwrap_err().to_string();
    assert!(e.contains("expected a list"), "{e}");
    let e = parse("configMapGenerator:\n- x\n").unwrap_err().to_string();
    assert!(e.contains("expected a mapping"), "{e}");
    let ok = parse("configMapGenerator:\n- name: a\n  env: e.env\n").unwrap();
    assert_eq!(ok[0].envs, ["e.env"]);
    assert_eq!(ok[0].source, "k.yaml:2");
}

#[test]
fn generator_options_decode_strictly() {
    let parse = |text: &str| {
        let docs = ferroflux_api::yaml::parse_stream_raw(text).unwrap();
        options_from_kustomization("k.yaml", docs[0].node.as_ref().unwrap())
    };
    let o = parse("labels:\n  a: b\ndisableNameSuffixHash: true\n").unwrap();
    assert!(o.disable_name_suffix_hash);
    let e = parse("label:\n  a: b\n").unwrap_err().to_string();
    assert!(e.starts_with("k.yaml:1:"), "{e}");
    let e = parse("- x\n").unwrap_err().to_string();
    assert!(e.contains("expected a mapping"), "{e}");
}

#[test]
fn global_options_fill_in_and_switch_on() {
    let mut local = GenOptions::default();
    local.labels.insert("a".into(), "local".into());
    let mut global = GenOptions {
        disable_name_suffix_hash: true,
        ..GenOptions::default()
    };
    global.labels.insert("a".into(), "global".into());
    global.labels.insert("b".into(), "global".into());
    let merged = local.with_global(Some(&global));
    assert_eq!(merged.labels["a"], "local");
    assert_eq!(merged.labels["b"], "global");
    assert!(merged.disable_name_suffix_hash);
    assert_eq!(local.with_global(None), local);
}

#[test]
fn a_build_makes_a_bounded_number_of_objects() {
    let fs = MemFs::new();
    let mut k = Kustomization {
        file: "/k/kustomization.yaml".into(),
        ..Kustomization::default()
    };
    k.config_map_generator = vec![args(Kind::ConfigMap, "a"), args(Kind::ConfigMap, "b")];
    let mut budget = Budget {
        bytes: 0,
        objects: MAX_GENERATED_OBJECTS - 1,
    };
    let mut resources = Vec::new();
    let e = run(&loader(&fs), &k, &[], None, &mut resources, &mut budget)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("more than {MAX_GENERATED_OBJECTS} objects")),
        "{e}"
    );
    assert_eq!(resources.len(), 1, "the first one fit");
}

#[test]
fn generator_lists_are_bounded() {
    let mut text = String::from("configMapGenerator:\n");
    for _ in 0..=MAX_GENERATORS {
        text.push_str("- name: a\n");
    }
    let docs = ferroflux_api::yaml::parse_stream_raw(&text).unwrap();
    let root = docs[0].node.clone().unwrap();
    let ferroflux_api::yaml::Value::Map(entries) = &root.value else {
        panic!()
    };
    let e = from_kustomization("k.yaml", Kind::ConfigMap, &entries[0].value)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("more than {MAX_GENERATORS} generators")),
        "{e}"
    );
    let configs =
        vec![
            config("apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: c\n");
            MAX_GENERATORS + 1
        ];
    let fs = MemFs::new();
    let k = Kustomization {
        file: "/k/kustomization.yaml".into(),
        ..Kustomization::default()
    };
    let e = run(
        &loader(&fs),
        &k,
        &configs,
        None,
        &mut Vec::new(),
        &mut Budget::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(&format!("more than {MAX_GENERATORS} generators")),
        "{e}"
    );
}
