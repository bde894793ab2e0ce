//! Generators built end to end: configMapGenerator, secretGenerator,
//! generatorOptions, builtin generator configs, behaviors across layers,
//! name hashes and references, origins. Every expected output is what
//! kustomize 5.6.0 printed for the same files (`kustomize build DIR`).

use std::path::Path;

use ferroflux_kustomize::{Error, MemFs, Options, build_yaml};

fn tree(files: &[(&str, Vec<u8>)]) -> MemFs {
    let mut fs = MemFs::new();
    for (path, content) in files {
        fs.add(path, content.clone());
    }
    fs
}

fn build(fs: &MemFs, dir: &str) -> Result<String, Error> {
    build_yaml(fs, Path::new(dir), &Options::default())
}

/// Literals: quotes (matching pairs only), `=` in values, tabs, newlines, HTML characters (escaped in the hashed JSON), unicode; a long Secret value wraps at 70 base64 characters.
#[test]
fn literals_quotes_newlines_unicode() {
    let fs = tree(&[
        ("/t/lit/kustomization.yaml", "configMapGenerator:\n- name: lit\n  literals:\n  - quoted=\"double\"\n  - single='single'\n  - mixed=\"a'\n  - inner=say \"hi\"\n  - html=<a href=\"x\">&amp;</a>\n  - tab=a\tb\n  - \"multi=line1\\nline2\\n\"\n  - unicode=héllo wörld ✓ 😀\n  - sep=a b\n  - \"spaces=  lead and trail  \"\n  - empty=\n  - eq=a=b=c\n  - num=0123\n  - yes=yes\nsecretGenerator:\n- name: sec\n  literals:\n  - long=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n  - short=x\n  type: kubernetes.io/tls\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/lit").unwrap(),
        "apiVersion: v1\ndata:\n  empty: \"\"\n  eq: a=b=c\n  html: <a href=\"x\">&amp;</a>\n  inner: say \"hi\"\n  mixed: '\"a'''\n  multi: |\n    line1\n    line2\n  num: \"0123\"\n  quoted: double\n  sep: a b\n  single: single\n  spaces: '  lead and trail  '\n  tab: \"a\\tb\"\n  unicode: \"héllo wörld ✓ \\U0001F600\"\n  \"yes\": \"yes\"\nkind: ConfigMap\nmetadata:\n  name: lit-29k2267h98\n---\napiVersion: v1\ndata:\n  long: |\n    YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW\n    FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\n    YWFhYWFhYWFhYQ==\n  short: eA==\nkind: Secret\nmetadata:\n  name: sec-5ch7d2g7g8\ntype: kubernetes.io/tls\n"
    );
}

/// Files: the base name or a given key, CRLF kept, a non-UTF-8 file in binaryData (all base64 in a Secret), options labels/annotations/immutable/disableNameSuffixHash.
#[test]
fn files_binary_and_options() {
    let fs = tree(&[
        ("/t/files/big.txt", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz".into()),
        ("/t/files/bin.dat", b"\xff\xfe\x00\x01binary".to_vec()),
        ("/t/files/crlf.txt", "a=1\r\nb=2\r\n".into()),
        ("/t/files/kustomization.yaml", "configMapGenerator:\n- name: files\n  files:\n  - crlf.txt\n  - renamed=plain.txt\n  - bin.dat\n  options:\n    labels:\n      team: a\n    annotations:\n      note: \"1\"\n    immutable: true\nsecretGenerator:\n- name: fsec\n  files:\n  - big.txt\n  - bin.dat\n  options:\n    disableNameSuffixHash: true\n".into()),
        ("/t/files/plain.txt", "plain text\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/files").unwrap(),
        "apiVersion: v1\nbinaryData:\n  bin.dat: //4AAWJpbmFyeQ==\ndata:\n  crlf.txt: \"a=1\\r\\nb=2\\r\\n\"\n  renamed: |\n    plain text\nimmutable: true\nkind: ConfigMap\nmetadata:\n  annotations:\n    note: \"1\"\n  labels:\n    team: a\n  name: files-97bk9476g7\n---\napiVersion: v1\ndata:\n  big.txt: |\n    enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6en\n    p6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6\n    enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6en\n    p6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6eno=\n  bin.dat: //4AAWJpbmFyeQ==\nkind: Secret\nmetadata:\n  name: fsec\ntype: Opaque\n"
    );
}

/// .env files: BOM on the first line only, comments, leading space trimmed, `export` and spaces kept in keys, values verbatim; the deprecated `env` after `envs`; generatorOptions filling in local options.
#[test]
fn env_files_and_generator_options() {
    let fs = tree(&[
        ("/t/envs/app.env", "\u{feff}# comment\nA=1\n  B=two words\nexport C=3\nD\nE=\"quoted\"\nF=x # not a comment\n\n   # indented comment\nG = spaced\r\nH=\u{feff}bom\n".into()),
        ("/t/envs/kustomization.yaml", "generatorOptions:\n  labels:\n    global: g\n    team: global\n  annotations:\n    ga: \"x\"\nconfigMapGenerator:\n- name: envs\n  envs:\n  - app.env\n  env: old.env\n  options:\n    labels:\n      team: local\n- name: nohash\n  literals:\n  - a=b\n  options:\n    disableNameSuffixHash: true\n".into()),
        ("/t/envs/old.env", "Z=last\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/envs").unwrap(),
        "apiVersion: v1\ndata:\n  A: \"1\"\n  B: two words\n  D: \"\"\n  E: '\"quoted\"'\n  F: 'x # not a comment'\n  'G ': ' spaced'\n  H: \"\\uFEFF\\x62\\x6F\\x6D\"\n  Z: last\n  export C: \"3\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    ga: x\n  labels:\n    global: g\n    team: local\n  name: envs-t696tchbdm\n---\napiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  annotations:\n    ga: x\n  labels:\n    global: g\n    team: global\n  name: nohash\n"
    );
}

/// A file with U+2028, backspace, form feed and a C0 control: Go escapes them in the hashed JSON.
#[test]
fn control_characters_in_values() {
    let fs = tree(&[
        (
            "/t/ctl/kustomization.yaml",
            "configMapGenerator:\n- name: ctl\n  files:\n  - v.txt\n".into(),
        ),
        ("/t/ctl/v.txt", "sep=a\u{2028}b\u{8}c\u{c}d\u{1}e<>&".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/ctl").unwrap(),
        "apiVersion: v1\ndata:\n  v.txt: \"sep=a\\Lb\\bc\\fd\\x01e<>&\"\nkind: ConfigMap\nmetadata:\n  name: ctl-fk2f85hb97\n"
    );
}

/// merge, replace and create across a base (prefix), a middle layer (namespace, suffix) and an overlay (prefix, labels): names, hashes and every kind of reference in a Deployment.
#[test]
fn behaviors_across_three_layers() {
    let fs = tree(&[
        ("/t/ov/base/app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: settings\n        - secretRef:\n            name: creds\n        env:\n        - name: P\n          valueFrom:\n            secretKeyRef:\n              name: creds\n              key: pass\n        - name: M\n          valueFrom:\n            configMapKeyRef:\n              name: plain\n              key: a\n      volumes:\n      - name: v\n        configMap:\n          name: settings\n      - name: p\n        projected:\n          sources:\n          - configMap:\n              name: plain\n          - secret:\n              name: creds\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: static\ndata:\n  n: 1\n  s: \"x\"\n".into()),
        ("/t/ov/base/kustomization.yaml", "namePrefix: base-\nresources:\n- app.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - mode=base\n  - keep=yes\n- name: plain\n  literals:\n  - a=1\n  options:\n    disableNameSuffixHash: true\nsecretGenerator:\n- name: creds\n  literals:\n  - user=admin\n  - pass=secret\n".into()),
        ("/t/ov/mid/kustomization.yaml", "namespace: mid\nnameSuffix: -mid\nresources:\n- ../base\nconfigMapGenerator:\n- name: settings\n  behavior: merge\n  literals:\n  - mode=mid\n  options:\n    labels:\n      layer: mid\n- name: static\n  behavior: merge\n  literals:\n  - added=yes\n".into()),
        ("/t/ov/overlay/kustomization.yaml", "namePrefix: top-\ncommonLabels:\n  app: web\nresources:\n- ../mid\nconfigMapGenerator:\n- name: plain\n  behavior: replace\n  literals:\n  - b=2\n- name: extra\n  namespace: mid\n  literals:\n  - z=1\nsecretGenerator:\n- name: creds\n  behavior: merge\n  literals:\n  - token=t\n  type: Opaque\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/ov/overlay").unwrap(),
        "apiVersion: v1\ndata:\n  b: \"2\"\nkind: ConfigMap\nmetadata:\n  labels:\n    app: web\n  name: top-base-plain-mid\n  namespace: mid\n---\napiVersion: v1\ndata:\n  keep: \"yes\"\n  mode: mid\nkind: ConfigMap\nmetadata:\n  labels:\n    app: web\n    layer: mid\n  name: top-base-settings-mid-4t98bfdgt5\n  namespace: mid\n---\napiVersion: v1\ndata:\n  added: \"yes\"\n  \"n\": \"1\"\n  s: x\nkind: ConfigMap\nmetadata:\n  labels:\n    app: web\n  name: top-base-static-mid\n  namespace: mid\n---\napiVersion: v1\ndata:\n  z: \"1\"\nkind: ConfigMap\nmetadata:\n  labels:\n    app: web\n  name: top-extra-527hd2cc4c\n  namespace: mid\n---\napiVersion: v1\ndata:\n  pass: c2VjcmV0\n  token: dA==\n  user: YWRtaW4=\nkind: Secret\nmetadata:\n  labels:\n    app: web\n  name: top-base-creds-mid-mttfkff2fk\n  namespace: mid\ntype: Opaque\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app: web\n  name: top-base-web-mid\n  namespace: mid\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - env:\n        - name: P\n          valueFrom:\n            secretKeyRef:\n              key: pass\n              name: top-base-creds-mid-mttfkff2fk\n        - name: M\n          valueFrom:\n            configMapKeyRef:\n              key: a\n              name: top-base-plain-mid\n        envFrom:\n        - configMapRef:\n            name: top-base-settings-mid-4t98bfdgt5\n        - secretRef:\n            name: top-base-creds-mid-mttfkff2fk\n        image: nginx\n        name: web\n      volumes:\n      - configMap:\n          name: top-base-settings-mid-4t98bfdgt5\n        name: v\n      - name: p\n        projected:\n          sources:\n          - configMap:\n              name: top-base-plain-mid\n          - secret:\n              name: top-base-creds-mid-mttfkff2fk\n"
    );
}

/// Origin and transformer annotations of objects from configMapGenerator (replace), a generator config in a directory, and an inline SecretGenerator merging into a base Secret.
#[test]
fn origins_of_generated_objects() {
    let fs = tree(&[
        ("/t/orig/base/kustomization.yaml", "namePrefix: b-\nconfigMapGenerator:\n- name: cm\n  literals:\n  - a=1\nsecretGenerator:\n- name: s\n  literals:\n  - k=v\n".into()),
        ("/t/orig/overlay/gens/cmgen.yaml", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: fromdir\nliterals:\n- x=y\noptions:\n  labels:\n    l: v\n".into()),
        ("/t/orig/overlay/gens/kustomization.yaml", "resources:\n- cmgen.yaml\n".into()),
        ("/t/orig/overlay/kustomization.yaml", "buildMetadata: [originAnnotations, transformerAnnotations]\nnamespace: ns\nresources:\n- ../base\ngenerators:\n- gens\n- |-\n  apiVersion: builtin\n  kind: SecretGenerator\n  metadata:\n    name: inline\n  behavior: merge\n  name: s\n  literals:\n  - extra=1\nconfigMapGenerator:\n- name: cm\n  behavior: replace\n  literals:\n  - b=2\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/orig/overlay").unwrap(),
        "apiVersion: v1\ndata:\n  b: \"2\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    alpha.config.kubernetes.io/transformations: |\n      - configuredIn: ../base/kustomization.yaml\n        configuredBy:\n          apiVersion: builtin\n          kind: PrefixTransformer\n      - configuredIn: kustomization.yaml\n        configuredBy:\n          apiVersion: builtin\n          kind: NamespaceTransformer\n    config.kubernetes.io/origin: |\n      configuredIn: kustomization.yaml\n      configuredBy:\n        apiVersion: builtin\n        kind: ConfigMapGenerator\n  name: b-cm-fmbk44khfc\n  namespace: ns\n---\napiVersion: v1\ndata:\n  x: \"y\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    alpha.config.kubernetes.io/transformations: |\n      - configuredIn: kustomization.yaml\n        configuredBy:\n          apiVersion: builtin\n          kind: NamespaceTransformer\n    config.kubernetes.io/origin: |\n      configuredIn: gens/cmgen.yaml\n      configuredBy:\n        apiVersion: builtin\n        kind: ConfigMapGenerator\n        name: fromdir\n  labels:\n    l: v\n  name: fromdir-6gc9d749f7\n  namespace: ns\n---\napiVersion: v1\ndata:\n  extra: MQ==\n  k: dg==\nkind: Secret\nmetadata:\n  annotations:\n    alpha.config.kubernetes.io/transformations: |\n      - configuredIn: ../base/kustomization.yaml\n        configuredBy:\n          apiVersion: builtin\n          kind: PrefixTransformer\n      - configuredIn: kustomization.yaml\n        configuredBy:\n          apiVersion: builtin\n          kind: NamespaceTransformer\n    config.kubernetes.io/origin: |\n      configuredIn: ../base/kustomization.yaml\n      configuredBy:\n        apiVersion: builtin\n        kind: SecretGenerator\n  name: b-s-7f4ftt6m82\n  namespace: ns\ntype: Opaque\n"
    );
}

/// A ConfigMap without data has no `data`; a Secret keeps `data: {}`.
#[test]
fn empty_generators() {
    let fs = tree(&[
        ("/t/empty/kustomization.yaml", "configMapGenerator:\n- name: e\nsecretGenerator:\n- name: s\n  options:\n    immutable: true\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/empty").unwrap(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e-6ct58987ht\n---\napiVersion: v1\ndata: {}\nimmutable: true\nkind: Secret\nmetadata:\n  name: s-46f8b28mk5\ntype: Opaque\n"
    );
}

/// Builds kustomize 5.6 rejects: each fails, naming the kustomization and
/// the line of the generator.
#[test]
fn rejected_generators_name_file_and_line() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "configMapGenerator:\n- name: a\n  literals:\n  - k=v\n- name: a\n  literals:\n  - k=w\n",
            "/t/kustomization.yaml:5",
            &["exists; behavior must be merge or replace"],
        ),
        (
            "configMapGenerator:\n- name: a\n  behavior: merge\n  literals:\n  - k=v\n",
            "/t/kustomization.yaml:2",
            &["does not exist; cannot merge or replace"],
        ),
        (
            "configMapGenerator:\n- name: a\n  files:\n  - ../outside/f.txt\n",
            "/t/kustomization.yaml:2",
            &["is not in or below"],
        ),
        (
            "configMapGenerator:\n- name: a\n  files:\n  - sub\n",
            "/t/kustomization.yaml:2",
            &["files \"sub\"", "is a directory"],
        ),
        (
            "configMapGenerator:\n- name: a\n  literals:\n  - k=v\n  - colon=a: b\n",
            "/t/kustomization.yaml:5",
            &["`literals[1]` must be a string, not a mapping"],
        ),
        (
            "secretGenerator:\n- name: a\n  literal:\n  - k=v\n",
            "/t/kustomization.yaml:3",
            &["unknown field \"literal\"", "did you mean `literals`"],
        ),
        (
            "configMapGenerator:\n- name: a\n  type: Opaque\n",
            "/t/kustomization.yaml:3",
            &["unknown field \"type\""],
        ),
        (
            "generatorOptions:\n  disableNameSuffixHash: \"true\"\n",
            "/t/kustomization.yaml:2",
            &["`disableNameSuffixHash` must be true or false"],
        ),
        (
            "configMapGenerator:\n- literals:\n  - k=v\n",
            "/t/kustomization.yaml:2",
            &["must have a name"],
        ),
        (
            "configMapGenerator:\n- name: a\n  envs:\n  - bad.env\n",
            "/t/kustomization.yaml:2",
            &["envs \"bad.env\"", "line 2"],
        ),
    ];
    for (kustomization, at, wants) in cases {
        let fs = tree(&[
            ("/t/kustomization.yaml", kustomization.as_bytes().to_vec()),
            ("/t/sub/x", b"x".to_vec()),
            ("/t/bad.env", b"A=1\nB=\xff\n".to_vec()),
            ("/outside/f.txt", b"hi\n".to_vec()),
        ]);
        let err = build(&fs, "/t").expect_err(kustomization).to_string();
        assert!(err.contains(at), "{kustomization}: {err}");
        for want in *wants {
            assert!(err.contains(want), "{kustomization}: {err}");
        }
    }
}

/// A Secret's literal never shows in an error.
#[test]
fn secret_values_stay_out_of_errors() {
    let fs = tree(&[(
        "/t/kustomization.yaml",
        b"secretGenerator:\n- name: s\n  literals:\n  - hunter2-no-equals\n".to_vec(),
    )]);
    let err = build(&fs, "/t").expect_err("no key").to_string();
    assert!(err.contains("literals[0]"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// The generator part of krusty's TestMergeAndReplaceDisableNameSuffixHashGenerators
/// (its patch left out): `disableNameSuffixHash` on a merge or replace
/// drops the base's hash; a hash is kept only when both sides want it.
#[test]
fn merge_and_replace_with_the_hash_disabled() {
    let fs = tree(&[
        ("/t/mr/app/deployment.yaml", "\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\n  labels:\n    app: nginx\nspec:\n  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n        volumeMounts:\n        - name: nginx-persistent-storage\n          mountPath: /tmp/ps\n      volumes:\n      - name: nginx-persistent-storage\n        emptyDir: {}\n      - configMap:\n          name: configmap-in-base\n        name: configmap-in-base\n".into()),
        ("/t/mr/app/kustomization.yaml", "\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\nnamePrefix: team-foo-\ncommonLabels:\n  app: mynginx\n  org: example.com\n  team: foo\ncommonAnnotations:\n  note: This is a test annotation\nresources:\n  - deployment.yaml\nconfigMapGenerator:\n- name: configmap-in-base\n  literals:\n  - foo=bar\nsecretGenerator:\n- name: secret-in-base\n  literals:\n  - username=admin\n  - password=somepw\n".into()),
        ("/t/mr/overlay/deployment.yaml", "\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\nspec:\n  template:\n    spec:\n      volumes:\n      - name: nginx-persistent-storage\n        emptyDir: null\n        gcePersistentDisk:\n          pdName: nginx-persistent-storage\n      - configMap:\n          name: configmap-in-overlay\n        name: configmap-in-overlay\n".into()),
        ("/t/mr/overlay/kustomization.yaml", "\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\nnamePrefix: staging-\ncommonLabels:\n  env: staging\n  team: override-foo\nresources:\n- ../app\nconfigMapGenerator:\n- name: configmap-in-overlay\n  literals:\n  - hello=world\n  options:\n    disableNameSuffixHash: true\n- name: configmap-in-base\n  behavior: replace\n  literals:\n  - foo=override-bar\n  options:\n    disableNameSuffixHash: true\nsecretGenerator:\n- name: secret-in-base\n  behavior: merge\n  literals:\n  - proxy=haproxy\n  options:\n    disableNameSuffixHash: true\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/mr/overlay").unwrap(),
        "apiVersion: v1\ndata:\n  hello: world\nkind: ConfigMap\nmetadata:\n  labels:\n    env: staging\n    team: override-foo\n  name: staging-configmap-in-overlay\n---\napiVersion: v1\ndata:\n  foo: override-bar\nkind: ConfigMap\nmetadata:\n  annotations:\n    note: This is a test annotation\n  labels:\n    app: mynginx\n    env: staging\n    org: example.com\n    team: override-foo\n  name: staging-team-foo-configmap-in-base\n---\napiVersion: v1\ndata:\n  password: c29tZXB3\n  proxy: aGFwcm94eQ==\n  username: YWRtaW4=\nkind: Secret\nmetadata:\n  annotations:\n    note: This is a test annotation\n  labels:\n    app: mynginx\n    env: staging\n    org: example.com\n    team: override-foo\n  name: staging-team-foo-secret-in-base\ntype: Opaque\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations:\n    note: This is a test annotation\n  labels:\n    app: mynginx\n    env: staging\n    org: example.com\n    team: override-foo\n  name: staging-team-foo-nginx\nspec:\n  selector:\n    matchLabels:\n      app: mynginx\n      env: staging\n      org: example.com\n      team: override-foo\n  template:\n    metadata:\n      annotations:\n        note: This is a test annotation\n      labels:\n        app: mynginx\n        env: staging\n        org: example.com\n        team: override-foo\n    spec:\n      containers:\n      - image: nginx\n        name: nginx\n        volumeMounts:\n        - mountPath: /tmp/ps\n          name: nginx-persistent-storage\n      volumes:\n      - emptyDir: {}\n        name: nginx-persistent-storage\n      - configMap:\n          name: staging-team-foo-configmap-in-base\n        name: configmap-in-base\n"
    );
}

/// krusty's TestGeneratorBasics (outside the shared corpus): envs, the deprecated env, files with leading blank lines, folded JSON literals, a Secret of the same name.
#[test]
fn krusty_generator_basics() {
    let fs = tree(&[
        ("/t/gb/bar.env", "\nBIRD=falcon\n".into()),
        ("/t/gb/foo.env", "\nMOUNTAIN=everest\nOCEAN=pacific\n".into()),
        ("/t/gb/forces.txt", "\ngravitational\nelectromagnetic\nstrong nuclear\nweak nuclear\n".into()),
        ("/t/gb/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: blah-\nconfigMapGenerator:\n- name: bob\n  literals:\n  - fruit=apple\n  - vegetable=broccoli\n  envs:\n  - foo.env\n  env: bar.env\n  files:\n  - passphrase=phrase.dat\n  - forces.txt\n- name: json\n  literals:\n  - 'v2=[{\"path\": \"var/druid/segment-cache\"}]'\n  - >-\n    druid_segmentCache_locations=[{\"path\":\n    \"var/druid/segment-cache\",\n    \"maxSize\": 32000000000,\n    \"freeSpacePercent\": 1.0}]\nsecretGenerator:\n- name: bob\n  literals:\n  - fruit=apple\n  - vegetable=broccoli\n  envs:\n  - foo.env\n  files:\n  - passphrase=phrase.dat\n  - forces.txt\n  env: bar.env\n".into()),
        ("/t/gb/phrase.dat", "\nLife is short.\nBut the years are long.\nNot while the evil days come not.\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/gb").unwrap(),
        "apiVersion: v1\ndata:\n  BIRD: falcon\n  MOUNTAIN: everest\n  OCEAN: pacific\n  forces.txt: |2\n\n    gravitational\n    electromagnetic\n    strong nuclear\n    weak nuclear\n  fruit: apple\n  passphrase: |2\n\n    Life is short.\n    But the years are long.\n    Not while the evil days come not.\n  vegetable: broccoli\nkind: ConfigMap\nmetadata:\n  name: blah-bob-g9df72cd5b\n---\napiVersion: v1\ndata:\n  druid_segmentCache_locations: '[{\"path\": \"var/druid/segment-cache\", \"maxSize\": 32000000000,\n    \"freeSpacePercent\": 1.0}]'\n  v2: '[{\"path\": \"var/druid/segment-cache\"}]'\nkind: ConfigMap\nmetadata:\n  name: blah-json-m8529t979f\n---\napiVersion: v1\ndata:\n  BIRD: ZmFsY29u\n  MOUNTAIN: ZXZlcmVzdA==\n  OCEAN: cGFjaWZpYw==\n  forces.txt: |\n    CmdyYXZpdGF0aW9uYWwKZWxlY3Ryb21hZ25ldGljCnN0cm9uZyBudWNsZWFyCndlYWsgbn\n    VjbGVhcgo=\n  fruit: YXBwbGU=\n  passphrase: |\n    CkxpZmUgaXMgc2hvcnQuCkJ1dCB0aGUgeWVhcnMgYXJlIGxvbmcuCk5vdCB3aGlsZSB0aG\n    UgZXZpbCBkYXlzIGNvbWUgbm90Lgo=\n  vegetable: YnJvY2NvbGk=\nkind: Secret\nmetadata:\n  name: blah-bob-58g62h555c\ntype: Opaque\n"
    );
}

/// krusty's TestGeneratorOverlaysBinaryData: a base's wrapped binaryData merged unchanged, hashed with the overlay's name.
#[test]
fn binary_data_survives_a_merge() {
    let fs = tree(&[
        ("/t/bd/base/data.bin", b"\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello\xffhello".to_vec()),
        ("/t/bd/base/kustomization.yaml", "namePrefix: p1-\nconfigMapGenerator:\n- name: com1\n  behavior: create\n  files:\n  - data.bin\n".into()),
        ("/t/bd/overlay/kustomization.yaml", "resources:\n- ../base\nconfigMapGenerator:\n- name: com1\n  behavior: merge\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/bd/overlay").unwrap(),
        "apiVersion: v1\nbinaryData:\n  data.bin: |\n    /2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbG\n    xv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hl\n    bGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv/2\n    hlbGxv/2hlbGxv/2hlbGxv/2hlbGxv\nkind: ConfigMap\nmetadata:\n  name: p1-com1-96gmmt6gt5\n"
    );
}

/// krusty's TestGeneratorRepeatsInKustomization: a key written twice in one generator entry, the last one wins.
#[test]
fn repeated_keys_in_a_generator_keep_the_last() {
    let fs = tree(&[
        ("/t/rep/forces.txt", "\ngravitational\n".into()),
        ("/t/rep/kustomization.yaml", "namePrefix: blah-\nconfigMapGenerator:\n- name: bob\n  behavior: create\n  literals:\n  - bean=pinto\n  - star=wolf-rayet\n  literals:\n  - fruit=apple\n  - vegetable=broccoli\n  files:\n  - forces.txt\n  files:\n  - nobles=nobility.txt\n".into()),
        ("/t/rep/nobility.txt", "\nhelium\nneon\n".into()),
    ]);
    assert_eq!(
        build(&fs, "/t/rep").unwrap(),
        "apiVersion: v1\ndata:\n  fruit: apple\n  nobles: |2\n\n    helium\n    neon\n  vegetable: broccoli\nkind: ConfigMap\nmetadata:\n  name: blah-bob-m2ch48b297\n"
    );
}

/// krusty's TestDataIsSingleQuote: `TEST='` keeps its quote.
#[test]
fn a_lone_quote_stays() {
    let fs = tree(&[(
        "/t/sq/kustomization.yaml",
        "configMapGenerator:\n  - name: test\n    literals:\n      - TEST='\n".into(),
    )]);
    assert_eq!(
        build(&fs, "/t/sq").unwrap(),
        "apiVersion: v1\ndata:\n  TEST: ''''\nkind: ConfigMap\nmetadata:\n  name: test-m8t7bmb6g2\n"
    );
}
