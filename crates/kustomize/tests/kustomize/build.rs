//! Builds of small trees: bases and overlays, name references, load
//! restrictions, refusals. The expected output was made with kustomize
//! 5.6.0 (`kustomize build overlay`) from the same files.

use std::path::Path;

use ferroflux_kustomize::{DiskFs, Error, LoadRestrictor, MemFs, Options, build_yaml};

fn build(fs: &MemFs, dir: &str) -> Result<String, Error> {
    build_yaml(fs, Path::new(dir), &Options::default())
}

fn overlay_tree() -> MemFs {
    let mut fs = MemFs::new();
    fs.add(
        "/t/base/kustomization.yaml",
        r#"resources:
- app.yaml
- list.yaml
commonLabels:
  app: web
"#,
    );
    fs.add(
        "/t/base/app.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      serviceAccountName: runner
      containers:
      - name: web
        image: nginx:1.25
        envFrom:
        - configMapRef:
            name: settings
      volumes:
      - name: cfg
        configMap:
          name: settings
      - name: sec
        secret:
          secretName: creds
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: old
  ports:
  - port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local
  annotations:
    config.kubernetes.io/local-config: "true"
"#,
    );
    fs.add(
        "/t/base/list.yaml",
        r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: settings
  data:
    a: "1"
- apiVersion: v1
  kind: Secret
  metadata:
    name: creds
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: runner
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: rb
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: Role
    name: reader
  subjects:
  - kind: ServiceAccount
    name: runner
  - kind: ServiceAccount
    name: default
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata:
    name: reader
- apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata:
    name: web
  spec:
    scaleTargetRef:
      apiVersion: apps/v1
      kind: Deployment
      name: web
"#,
    );
    fs.add(
        "/t/overlay/kustomization.yaml",
        r#"resources:
- ../base
namespace: prod
namePrefix: prod-
nameSuffix: -v1
labels:
- pairs:
    tier: front
  includeTemplates: true
commonAnnotations:
  owner: team-a
images:
- name: nginx
  newName: registry.example/nginx
  newTag: "1.26"
replicas:
- name: web
  count: 3
"#,
    );
    fs
}

#[test]
fn overlay_with_every_transformer_matches_kustomize() {
    let out = build(&overlay_tree(), "/t/overlay").expect("builds");
    assert_eq!(out, OVERLAY_OUT);
}

const OVERLAY_OUT: &str = r#"apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-runner-v1
  namespace: prod
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-reader-v1
  namespace: prod
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-rb-v1
  namespace: prod
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: prod-reader-v1
subjects:
- kind: ServiceAccount
  name: prod-runner-v1
  namespace: prod
- kind: ServiceAccount
  name: default
  namespace: prod
---
apiVersion: v1
data:
  a: "1"
kind: ConfigMap
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-settings-v1
  namespace: prod
---
apiVersion: v1
kind: Secret
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-creds-v1
  namespace: prod
---
apiVersion: v1
kind: Service
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-web-v1
  namespace: prod
spec:
  ports:
  - port: 80
  selector:
    app: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-web-v1
  namespace: prod
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      annotations:
        owner: team-a
      labels:
        app: web
        tier: front
    spec:
      containers:
      - envFrom:
        - configMapRef:
            name: prod-settings-v1
        image: registry.example/nginx:1.26
        name: web
      serviceAccountName: prod-runner-v1
      volumes:
      - configMap:
          name: prod-settings-v1
        name: cfg
      - name: sec
        secret:
          secretName: prod-creds-v1
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  annotations:
    owner: team-a
  labels:
    app: web
    tier: front
  name: prod-web-v1
  namespace: prod
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: prod-web-v1
"#;

fn tree(files: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    for (path, text) in files {
        fs.add(path, *text);
    }
    fs
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

#[test]
fn files_outside_the_kustomization_root_are_refused_unless_asked() {
    let fs = tree(&[
        (
            "/t/app/kustomization.yaml",
            "resources:\n- ../shared/cm.yaml\n",
        ),
        ("/t/shared/cm.yaml", CM),
    ]);
    let err = build(&fs, "/t/app").expect_err("root only by default");
    assert!(err.to_string().contains("is not in or below"), "{err}");
    let opts = Options {
        load_restrictor: LoadRestrictor::None,
        ..Options::default()
    };
    let out = build_yaml(&fs, Path::new("/t/app"), &opts).expect("allowed with None");
    assert_eq!(
        out,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
    );
}

#[test]
fn remote_bases_and_plugins_are_refused_by_name() {
    let fs = tree(&[(
        "/t/kustomization.yaml",
        "resources:\n- https://github.com/org/repo//base?ref=v1\n",
    )]);
    let err = build(&fs, "/t").expect_err("no network");
    assert!(
        matches!(&err, Error::Refused { entry, .. } if entry.contains("github.com/org/repo")),
        "{err}"
    );
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- cm.yaml\ntransformers:\n- my-plugin.yaml\n",
        ),
        ("/t/cm.yaml", CM),
        (
            "/t/my-plugin.yaml",
            "apiVersion: someteam.example.com/v1\nkind: ChartInflator\nmetadata:\n  name: notes\n",
        ),
    ]);
    let err = build(&fs, "/t").expect_err("no plugins");
    assert!(
        err.to_string()
            .contains("someteam.example.com/v1 ChartInflator notes")
            && err.to_string().contains("transformers"),
        "{err}"
    );
    let fs = tree(&[(
        "/t/kustomization.yaml",
        "generators:\n- |-\n  apiVersion: builtin\n  kind: HelmChartInflationGenerator\n  metadata:\n    name: g\n",
    )]);
    let err = build(&fs, "/t").expect_err("not yet");
    assert!(
        err.to_string().contains("not supported yet")
            && err.to_string().contains("HelmChartInflationGenerator"),
        "{err}"
    );
}

#[test]
fn broken_trees_fail_with_the_file_named() {
    let cycle = tree(&[
        ("/t/a/kustomization.yaml", "resources:\n- ..\n"),
        ("/t/kustomization.yaml", "resources:\n- a\n"),
    ]);
    assert!(
        build(&cycle, "/t")
            .expect_err("cycle")
            .to_string()
            .contains("cycle detected")
    );
    let missing = tree(&[("/t/kustomization.yaml", "resources:\n- nope.yaml\n")]);
    let err = build(&missing, "/t").expect_err("missing");
    assert!(
        err.to_string().contains("/t/kustomization.yaml") && err.to_string().contains("nope.yaml"),
        "{err}"
    );
    let dup = tree(&[
        ("/t/kustomization.yaml", "resources:\n- a.yaml\n- b.yaml\n"),
        ("/t/a.yaml", CM),
        ("/t/b.yaml", CM),
    ]);
    let err = build(&dup, "/t").expect_err("duplicate");
    assert!(
        err.to_string().contains("already registered id")
            && err.to_string().contains("/t/b.yaml:1"),
        "{err}"
    );
    let no_name = tree(&[
        ("/t/kustomization.yaml", "resources:\n- a.yaml\n"),
        ("/t/a.yaml", "kind: ConfigMap\n"),
    ]);
    let err = build(&no_name, "/t").expect_err("no name");
    assert!(
        err.to_string()
            .starts_with("/t/a.yaml:1: accumulating resources: missing metadata.name"),
        "{err}"
    );
    let component = tree(&[
        ("/t/kustomization.yaml", "resources:\n- c\n"),
        (
            "/t/c/kustomization.yaml",
            "kind: Component\nnamePrefix: c-\n",
        ),
    ]);
    assert!(
        build(&component, "/t")
            .expect_err("component")
            .to_string()
            .contains("Component")
    );
    let bad_yaml = tree(&[
        ("/t/kustomization.yaml", "resources:\n- a.yaml\n"),
        ("/t/a.yaml", "a: [\n"),
    ]);
    assert!(
        build(&bad_yaml, "/t")
            .expect_err("yaml")
            .to_string()
            .contains("/t/a.yaml:")
    );
    assert!(build(&bad_yaml, "/nowhere").is_err());
}

#[test]
fn transformer_conflicts_are_errors() {
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- a.yaml\nreplicas:\n- name: nothing\n  count: 2\n",
        ),
        ("/t/a.yaml", CM),
    ]);
    assert!(
        build(&fs, "/t")
            .expect_err("no match")
            .to_string()
            .contains("does not match")
    );
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- a.yaml\nnamespace: x\n",
        ),
        (
            "/t/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: other\n",
        ),
    ]);
    assert!(
        build(&fs, "/t")
            .expect_err("conflict")
            .to_string()
            .contains("ID conflict")
    );
}

#[test]
fn fifo_keeps_accumulation_order_and_legacy_takes_custom_lists() {
    let files = [(
        "/t/a.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
    )];
    let mut fs = tree(&files);
    fs.add(
        "/t/kustomization.yaml",
        "resources:\n- a.yaml\nsortOptions:\n  order: fifo\n",
    );
    let out = build(&fs, "/t").expect("fifo");
    assert!(out.find("Deployment").expect("d") < out.find("Service").expect("s"));
    fs.add("/t/kustomization.yaml", "resources:\n- a.yaml\n");
    let out = build(&fs, "/t").expect("legacy");
    assert!(out.find("Service").expect("s") < out.find("Deployment").expect("d"));
    fs.add(
        "/t/kustomization.yaml",
        "resources:\n- a.yaml\nsortOptions:\n  order: legacy\n  legacySortOptions:\n    orderFirst: [Deployment]\n    orderLast: [Service]\n",
    );
    let out = build(&fs, "/t").expect("custom");
    assert!(out.find("Deployment").expect("d") < out.find("Service").expect("s"));
}

#[test]
fn builds_from_disk_and_refuses_links_out_of_the_tree() {
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(outside.path().join("cm.yaml"), CM).expect("write");
    let root = tempfile::tempdir().expect("tmp");
    std::fs::write(
        root.path().join("kustomization.yaml"),
        "resources:\n- cm.yaml\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(outside.path().join("cm.yaml"), root.path().join("cm.yaml"))
        .expect("link");
    let fs = DiskFs::new(root.path()).expect("fs");
    let err = build_yaml(&fs, root.path(), &Options::default()).expect_err("link out");
    assert!(
        err.to_string().contains("symlink points outside the tree"),
        "{err}"
    );
    std::fs::remove_file(root.path().join("cm.yaml")).expect("rm");
    std::fs::write(root.path().join("cm.yaml"), CM).expect("write");
    let out = build_yaml(&fs, root.path(), &Options::default()).expect("builds");
    assert_eq!(
        out,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
    );
}

#[test]
fn builtin_transformer_configs_run_after_the_kustomization_fields() {
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- r.yaml\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: PrefixSuffixTransformer\n  metadata:\n    name: ps\n  prefix: a-\n  suffix: -z\n  fieldSpecs:\n  - path: metadata/name\n    kind: ConfigMap\n- |-\n  apiVersion: builtin\n  kind: NamespaceTransformer\n  metadata:\n    name: ns\n    namespace: moved\n  unsetOnly: true\n- |-\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata:\n    name: l\n  labels:\n    x: \"1\"\n  fieldSpecs:\n  - path: metadata/labels\n    create: true\n",
        ),
        (
            "/t/r.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  namespace: keep\n",
        ),
    ]);
    // kustomize 5.6.0's output for the same files.
    assert_eq!(
        build(&fs, "/t").expect("builds"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    x: \"1\"\n  name: a-cm-z\n  namespace: moved\n---\napiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    x: \"1\"\n  name: svc\n  namespace: keep\n"
    );
    let fs = tree(&[(
        "/t/kustomization.yaml",
        "transformers:\n- |-\n  apiVersion: builtin\n  kind: PrefixTransformer\n  metadata:\n    name: p\n  prefix: a-\n",
    )]);
    let err = build(&fs, "/t").expect_err("fieldSpecs required");
    assert!(
        err.to_string()
            .contains("fieldSpecs is not expected to be nil"),
        "{err}"
    );
}

#[test]
fn configurations_add_field_specs_for_custom_kinds() {
    let mut fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- r.yaml\nconfigurations:\n- conf.yaml\nimages:\n- name: app\n  newTag: \"2\"\nnamePrefix: p-\n",
        ),
        (
            "/t/conf.yaml",
            "images:\n- kind: Job2\n  path: spec/runner/image\nnameReference:\n- kind: ConfigMap\n  fieldSpecs:\n  - kind: Job2\n    path: spec/runner/config\n",
        ),
        (
            "/t/r.yaml",
            "apiVersion: x.example/v1\nkind: Job2\nmetadata:\n  name: j\nspec:\n  runner:\n    image: app:1\n    config: cm\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
    ]);
    // kustomize 5.6.0's output for the same files.
    assert_eq!(
        build(&fs, "/t").expect("builds"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p-cm\n---\napiVersion: x.example/v1\nkind: Job2\nmetadata:\n  name: p-j\nspec:\n  runner:\n    config: p-cm\n    image: app:2\n"
    );
    fs.add("/t/conf.yaml", "imagez: []\n");
    let err = build(&fs, "/t").expect_err("unknown table");
    assert_eq!(
        err.to_string(),
        "/t/conf.yaml: unknown field \"imagez\"; did you mean `images`?"
    );
}

/// Three layers over most of kustomize's name-reference table (CronJob env
/// and projected volumes, PVC, pull secrets, Ingress backends and TLS, HPA,
/// webhooks, cluster role bindings), label selectors of PDB and
/// NetworkPolicy, images by digest, registry port and tag suffix.
#[test]
fn three_layers_match_kustomize() {
    let mut fs = MemFs::new();
    fs.add(
        "/g/base/kustomization.yaml",
        r##"resources:
- all.yaml
namePrefix: b-
commonLabels:
  app.kubernetes.io/name: shop
commonAnnotations:
  note: "multi\nline"
"##,
    );
    fs.add(
        "/g/base/all.yaml",
        r##"apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          imagePullSecrets:
          - name: regcred
          containers:
          - name: job
            image: docker.io/library/busybox@sha256:abc
            args: ["sh", "-c", "echo hi   there && exit 0"]
            env:
            - name: A
              valueFrom:
                configMapKeyRef:
                  name: settings
                  key: a
            - name: B
              valueFrom:
                secretKeyRef:
                  name: creds
                  key: b
          volumes:
          - name: p
            projected:
              sources:
              - configMap:
                  name: settings
              - secret:
                  name: creds
          - name: data
            persistentVolumeClaim:
              claimName: data
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels:
      role: db
  template:
    metadata:
      labels:
        role: db
    spec:
      initContainers:
      - name: init
        image: registry.local:5000/tools/init:1.0
      containers:
      - name: db
        image: postgres:15
        ports:
        - containerPort: 5432
          name: pg
  volumeClaimTemplates:
  - metadata:
      name: pgdata
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  selector:
    role: db
  ports:
  - port: 5432
    targetPort: pg
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  tls:
  - hosts: [shop.example.com]
    secretName: tls
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /api(/|$)(.*)
        pathType: ImplementationSpecific
        backend:
          service:
            name: db
            port:
              number: 5432
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "true"
  script: |
    #!/bin/sh
    echo "start"   
    exit 0
  json: '{"k": [1, 2], "x": null}'
  empty: ""
  num: "012"
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
stringData:
  b: s3cr3t
---
apiVersion: v1
kind: Secret
metadata:
  name: tls
type: kubernetes.io/tls
data:
  tls.crt: Zm9v
  tls.key: YmFy
---
apiVersion: v1
kind: Secret
metadata:
  name: regcred
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: e30=
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: 5Gi
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: db
spec:
  minAvailable: 1
  selector:
    matchLabels:
      role: db
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db
spec:
  podSelector:
    matchLabels:
      role: db
  ingress:
  - from:
    - podSelector:
        matchLabels:
          role: web
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: db
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: StatefulSet
    name: db
  minReplicas: 1
  maxReplicas: 3
"##,
    );
    fs.add(
        "/g/mid/kustomization.yaml",
        r##"resources:
- ../base
- cluster.yaml
namespace: shop
nameSuffix: -m
labels:
- pairs:
    env: stage
  includeSelectors: false
  includeTemplates: true
"##,
    );
    fs.add(
        "/g/mid/cluster.yaml",
        r##"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: reader
subjects:
- kind: ServiceAccount
  name: runner
  namespace: other
- kind: ServiceAccount
  name: bot
  namespace: shop
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: bot
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: hook
webhooks:
- name: check.example.com
  clientConfig:
    service:
      name: db
      namespace: shop
      path: /validate
  admissionReviewVersions: ["v1"]
  sideEffects: None
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"##,
    );
    fs.add(
        "/g/top/kustomization.yaml",
        r##"resources:
- ../mid
namePrefix: t-
images:
- name: postgres
  newName: ghcr.io/acme/postgres
  digest: sha256:deadbeef
- name: registry.local:5000/tools/init
  tagSuffix: -debug
- name: docker.io/library/busybox
  newTag: "1.36"
replicas:
- name: b-db
  count: 2
"##,
    );
    assert_eq!(build(&fs, "/g/top").expect("builds"), THREE_LAYERS_OUT);
}

const THREE_LAYERS_OUT: &str = r##"apiVersion: v1
kind: Namespace
metadata:
  labels:
    env: stage
  name: shop
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  labels:
    env: stage
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    served: true
    storage: true
---
apiVersion: v1
kind: ServiceAccount
metadata:
  labels:
    env: stage
  name: t-bot-m
  namespace: shop
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  labels:
    env: stage
  name: t-reader-m
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  labels:
    env: stage
  name: t-reader-m
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: t-reader-m
subjects:
- kind: ServiceAccount
  name: runner
  namespace: other
- kind: ServiceAccount
  name: t-bot-m
  namespace: shop
---
apiVersion: v1
data:
  a: "true"
  empty: ""
  json: '{"k": [1, 2], "x": null}'
  num: "012"
  script: "#!/bin/sh\necho \"start\"   \nexit 0\n"
kind: ConfigMap
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-settings-m
  namespace: shop
---
apiVersion: v1
kind: Secret
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-creds-m
  namespace: shop
stringData:
  b: s3cr3t
type: Opaque
---
apiVersion: v1
data:
  .dockerconfigjson: e30=
kind: Secret
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-regcred-m
  namespace: shop
type: kubernetes.io/dockerconfigjson
---
apiVersion: v1
data:
  tls.crt: Zm9v
  tls.key: YmFy
kind: Secret
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-tls-m
  namespace: shop
type: kubernetes.io/tls
---
apiVersion: v1
kind: Service
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-db-m
  namespace: shop
spec:
  clusterIP: None
  ports:
  - port: 5432
    targetPort: pg
  selector:
    app.kubernetes.io/name: shop
    role: db
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-data-m
  namespace: shop
spec:
  accessModes:
  - ReadWriteOnce
  resources:
    requests:
      storage: 5Gi
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-db-m
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: shop
      role: db
  serviceName: t-b-db-m
  template:
    metadata:
      annotations:
        note: |-
          multi
          line
      labels:
        app.kubernetes.io/name: shop
        env: stage
        role: db
    spec:
      containers:
      - image: ghcr.io/acme/postgres@sha256:deadbeef
        name: db
        ports:
        - containerPort: 5432
          name: pg
      initContainers:
      - image: registry.local:5000/tools/init:1.0-debug-debug
        name: init
  volumeClaimTemplates:
  - metadata:
      labels:
        app.kubernetes.io/name: shop
        env: stage
      name: pgdata
    spec:
      accessModes:
      - ReadWriteOnce
      resources:
        requests:
          storage: 1Gi
---
apiVersion: batch/v1
kind: CronJob
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-nightly-m
  namespace: shop
spec:
  jobTemplate:
    metadata:
      annotations:
        note: |-
          multi
          line
      labels:
        app.kubernetes.io/name: shop
        env: stage
    spec:
      template:
        metadata:
          annotations:
            note: |-
              multi
              line
          labels:
            app.kubernetes.io/name: shop
            env: stage
        spec:
          containers:
          - args:
            - sh
            - -c
            - echo hi   there && exit 0
            env:
            - name: A
              valueFrom:
                configMapKeyRef:
                  key: a
                  name: t-b-settings-m
            - name: B
              valueFrom:
                secretKeyRef:
                  key: b
                  name: t-b-creds-m
            image: docker.io/library/busybox:1.36
            name: job
          imagePullSecrets:
          - name: t-b-regcred-m
          restartPolicy: OnFailure
          volumes:
          - name: p
            projected:
              sources:
              - configMap:
                  name: t-b-settings-m
              - secret:
                  name: t-b-creds-m
          - name: data
            persistentVolumeClaim:
              claimName: t-b-data-m
  schedule: 0 3 * * *
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-db-m
  namespace: shop
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: shop
      role: db
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-db-m
  namespace: shop
spec:
  maxReplicas: 3
  minReplicas: 1
  scaleTargetRef:
    apiVersion: apps/v1
    kind: StatefulSet
    name: t-b-db-m
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-web-m
  namespace: shop
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - backend:
          service:
            name: t-b-db-m
            port:
              number: 5432
        path: /api(/|$)(.*)
        pathType: ImplementationSpecific
  tls:
  - hosts:
    - shop.example.com
    secretName: t-b-tls-m
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  annotations:
    note: |-
      multi
      line
  labels:
    app.kubernetes.io/name: shop
    env: stage
  name: t-b-db-m
  namespace: shop
spec:
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: shop
          role: web
  podSelector:
    matchLabels:
      app.kubernetes.io/name: shop
      role: db
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  labels:
    env: stage
  name: t-hook-m
webhooks:
- admissionReviewVersions:
  - v1
  clientConfig:
    service:
      name: t-b-db-m
      namespace: shop
      path: /validate
  name: check.example.com
  sideEffects: None
"##;

/// Every level includes both directories of the next one: 2^levels builds.
#[test]
fn a_doubling_tree_of_bases_is_cut_off() {
    let mut fs = MemFs::new();
    let levels = 16;
    for level in 0..levels {
        for side in ["a", "b"] {
            let next = if level + 1 < levels {
                format!(
                    "resources:\n- ../../{}/a\n- ../../{}/b\nnamePrefix: {side}-\n",
                    level + 1,
                    level + 1
                )
            } else {
                format!("resources:\n- cm.yaml\nnamePrefix: {side}-\n")
            };
            fs.add(format!("/d/{level}/{side}/kustomization.yaml"), next);
            fs.add(format!("/d/{level}/{side}/cm.yaml"), CM);
        }
    }
    let err = build(&fs, "/d/0/a").expect_err("too many kustomizations");
    assert!(
        err.to_string().contains("more than 2000 kustomizations"),
        "{err}"
    );
}

/// kustomize rewrites annotations at the end of every build: values become
/// strings, empty or null maps disappear; labels stay as they were.
#[test]
fn annotations_are_rewritten_as_strings_and_empty_ones_dropped() {
    let fs = tree(&[
        ("/t/kustomization.yaml", "resources:\n- a.yaml\n"),
        (
            "/t/a.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  annotations: {}
  labels: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
  annotations:
    n: 1
    t: true
  labels:
    n: 1
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  annotations:
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: d
  annotations: []
"#,
        ),
    ]);
    // kustomize 5.6.0's output for the same files.
    assert_eq!(
        build(&fs, "/t").expect("builds"),
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  labels: {}
  name: a
---
apiVersion: v1
kind: ConfigMap
metadata:
  annotations:
    "n": "1"
    t: "true"
  labels:
    "n": 1
  name: b
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: d
"#
    );
}

/// kustomize fails to print a map whose plain key yaml.v3 reads as a
/// number, a boolean, null or a date; quoted keys are strings.
#[test]
fn plain_keys_that_are_not_strings_are_refused_with_the_line() {
    let fs = tree(&[
        ("/t/kustomization.yaml", "resources:\n- a.yaml\n"),
        (
            "/t/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  \"1\": one\n  true: t\n",
        ),
    ]);
    let err = build(&fs, "/t").expect_err("a bool key");
    assert!(
        err.to_string().contains("/t/a.yaml:7:") && err.to_string().contains("`true`"),
        "{err}"
    );
    let fs = tree(&[
        ("/t/kustomization.yaml", "resources:\n- a.yaml\n"),
        (
            "/t/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  \"1\": one\n  'true': t\n",
        ),
    ]);
    assert!(
        build(&fs, "/t")
            .expect("quoted keys")
            .contains("\"true\": t")
    );
}

/// `buildMetadata`: origins of files, bases and inline or file transformer
/// configs, and every transformer recorded on every resource of its level.
#[test]
fn build_metadata_annotations_match_kustomize() {
    let mut fs = MemFs::new();
    fs.add(
        "/o/base/kustomization.yaml",
        r##"resources:
- r.yaml
namespace: n1
labels:
- pairs:
    a: b
namePrefix: x-
"##,
    );
    fs.add(
        "/o/base/r.yaml",
        r##"apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  annotations:
    keep: me
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - name: c
        image: nginx
"##,
    );
    fs.add(
        "/o/ov/kustomization.yaml",
        r##"resources:
- ../base
- extra.yaml
buildMetadata: [originAnnotations, transformerAnnotations]
commonAnnotations:
  team: t
images:
- name: nginx
  newTag: "2"
replicas:
- name: x-d
  count: 2
transformers:
- |-
  apiVersion: builtin
  kind: LabelTransformer
  metadata:
    name: inl
  labels:
    z: "1"
  fieldSpecs:
  - path: metadata/labels
    create: true
- suffix.yaml
"##,
    );
    fs.add(
        "/o/ov/suffix.yaml",
        r##"apiVersion: builtin
kind: SuffixTransformer
metadata:
  name: suf
suffix: -s
fieldSpecs:
- path: metadata/name
"##,
    );
    fs.add(
        "/o/ov/extra.yaml",
        r##"apiVersion: v1
kind: Secret
metadata:
  name: sec
"##,
    );
    assert_eq!(build(&fs, "/o/ov").expect("builds"), BUILD_METADATA_OUT);
    fs.add(
        "/o/ov/kustomization.yaml",
        "resources:\n- extra.yaml\nbuildMetadata: [managedByLabel]\n",
    );
    let err = build(&fs, "/o/ov").expect_err("not yet");
    assert!(
        err.to_string()
            .contains("not supported yet: buildMetadata managedByLabel"),
        "{err}"
    );
}

const BUILD_METADATA_OUT: &str = r##"apiVersion: v1
kind: ConfigMap
metadata:
  annotations:
    alpha.config.kubernetes.io/transformations: |
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: NamespaceTransformer
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: PrefixTransformer
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: AnnotationsTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ReplicaCountTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ImageTagTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
          name: inl
      - configuredIn: suffix.yaml
        configuredBy:
          apiVersion: builtin
          kind: SuffixTransformer
          name: suf
    config.kubernetes.io/origin: |
      path: ../base/r.yaml
    keep: me
    team: t
  labels:
    a: b
    z: "1"
  name: x-c-s
  namespace: n1
---
apiVersion: v1
kind: Secret
metadata:
  annotations:
    alpha.config.kubernetes.io/transformations: |
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: AnnotationsTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ReplicaCountTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ImageTagTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
          name: inl
      - configuredIn: suffix.yaml
        configuredBy:
          apiVersion: builtin
          kind: SuffixTransformer
          name: suf
    config.kubernetes.io/origin: |
      path: extra.yaml
    team: t
  labels:
    z: "1"
  name: sec-s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    alpha.config.kubernetes.io/transformations: |
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: NamespaceTransformer
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: PrefixTransformer
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: ../base/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: AnnotationsTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ReplicaCountTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ImageTagTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
          name: inl
      - configuredIn: suffix.yaml
        configuredBy:
          apiVersion: builtin
          kind: SuffixTransformer
          name: suf
    config.kubernetes.io/origin: |
      path: ../base/r.yaml
    team: t
  labels:
    a: b
    z: "1"
  name: x-d-s
  namespace: n1
spec:
  replicas: 2
  template:
    metadata:
      annotations:
        team: t
    spec:
      containers:
      - image: nginx:2
        name: c
"##;

/// kustomize only redirects a reference to a resource that was renamed or
/// moved (its previous ids): an untouched one is never a referral, so two
/// same-named Services are no ambiguity and a subject gets no namespace.
#[test]
fn only_renamed_resources_are_referrals() {
    let fs = tree(&[
        ("/t/kustomization.yaml", "resources:\n- r.yaml\n"),
        (
            "/t/r.yaml",
            r#"apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: a
---
apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: b
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: hook
webhooks:
- name: x.example.com
  clientConfig:
    service:
      name: svc
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
  namespace: x
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: crb
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: ServiceAccount
  name: sa
"#,
        ),
    ]);
    // kustomize 5.6.0's output for the same files.
    assert_eq!(
        build(&fs, "/t").expect("builds"),
        r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
  namespace: x
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: crb
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: ServiceAccount
  name: sa
---
apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: a
---
apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: b
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: hook
webhooks:
- clientConfig:
    service:
      name: svc
  name: x.example.com
"#
    );
}

/// Plain numbers and booleans print as values, but annotations take their
/// source text (`1.10` stays `"1.10"`, `True` stays `"True"`).
#[test]
fn annotations_keep_the_spelling_of_plain_scalars() {
    let fs = tree(&[
        ("/t/kustomization.yaml", "resources:\n- a.yaml\n"),
        (
            "/t/a.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  annotations:
    v: 1.10
    h: 0x1F
    u: 1_000
    e: 1e3
    i: 42
    f: 2.5
    o: 0777
    d: 2020-01-01
    b: True
data:
  v: 1.10
  h: 0x1F
  e: 1e3
  o: 0777
"#,
        ),
    ]);
    // kustomize 5.6.0's output for the same files.
    assert_eq!(
        build(&fs, "/t").expect("builds"),
        r#"apiVersion: v1
data:
  e: 1000
  h: 31
  o: 511
  v: 1.1
kind: ConfigMap
metadata:
  annotations:
    b: "True"
    d: "2020-01-01"
    e: "1e3"
    f: "2.5"
    h: "0x1F"
    i: "42"
    o: "0777"
    u: "1_000"
    v: "1.10"
  name: a
"#
    );
}

#[test]
fn the_resources_a_build_accumulates_are_bounded() {
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- base\nnamePrefix: t-\n",
        ),
        ("/t/base/kustomization.yaml", "resources:\n- a.yaml\n"),
        (
            "/t/base/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        ),
    ]);
    let opts = |max| Options {
        max_accumulated: max,
        ..Options::default()
    };
    // Two resources read in the base, counted again in the top: four.
    assert!(build_yaml(&fs, Path::new("/t"), &opts(4)).is_ok());
    let err = build_yaml(&fs, Path::new("/t"), &opts(3)).expect_err("over the budget");
    assert!(
        err.to_string()
            .contains("accumulates more than 3 resources"),
        "{err}"
    );
}

/// Cluster scope is kustomize's built-in v1.21.2 schema's: a newer kind or
/// version (ValidatingAdmissionPolicy, FlowSchema v1beta3) is namespaced.
#[test]
fn cluster_scope_follows_kustomizes_schema() {
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- r.yaml\nnamespace: x\n",
        ),
        (
            "/t/r.yaml",
            r#"apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
kind: FlowSchema
metadata:
  name: f
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: vap
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cr
---
apiVersion: authentication.k8s.io/v1
kind: TokenReview
metadata:
  name: tr
---
apiVersion: example.com/v1
kind: Namespace
metadata:
  name: n
"#,
        ),
    ]);
    // kustomize 5.6.0's output for the same files.
    assert_eq!(
        build(&fs, "/t").expect("builds"),
        r#"apiVersion: example.com/v1
kind: Namespace
metadata:
  name: "n"
  namespace: x
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cr
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: vap
  namespace: x
---
apiVersion: authentication.k8s.io/v1
kind: TokenReview
metadata:
  name: tr
  namespace: x
---
apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
kind: FlowSchema
metadata:
  name: f
  namespace: x
"#
    );
}

#[test]
fn an_openapi_path_on_the_network_is_refused_by_name() {
    let fs = tree(&[
        (
            "/t/kustomization.yaml",
            "resources:\n- cm.yaml\nopenapi:\n  path: https://example.com/schema.json\n",
        ),
        ("/t/cm.yaml", CM),
    ]);
    let err = build(&fs, "/t").expect_err("no network");
    assert!(
        matches!(&err, Error::Refused { entry, file, .. }
            if entry == "https://example.com/schema.json" && file == "/t/kustomization.yaml"),
        "{err}"
    );
    assert!(err.to_string().contains("openapi.path"), "{err}");
}

#[test]
fn a_broken_openapi_schema_is_an_error_at_the_openapi_line() {
    for (schema, want) in [
        (&b"{\"definitions\": [1"[..], "invalid schema file 's.json'"),
        (b"definitions: [a, b]\n", "`definitions` is not a mapping"),
        (b"\xff\xfe", "'s.json' is not UTF-8 text"),
    ] {
        let fs = crate::support::tree(&[
            (
                "/t/kustomization.yaml",
                b"resources:\n- cm.yaml\nopenapi:\n  path: s.json\n",
            ),
            ("/t/cm.yaml", CM.as_bytes()),
            ("/t/s.json", schema),
        ]);
        let err = build(&fs, "/t").expect_err("a broken schema");
        let text = err.to_string();
        assert!(
            text.contains("/t/kustomization.yaml:3: openapi.path: "),
            "{text}"
        );
        assert!(text.contains(want), "{text}");
    }
}

#[test]
fn a_base_schema_that_does_not_count_is_read_but_not_parsed() {
    // The overlay's version counts; kustomize never parses the base's file.
    let fs = crate::support::tree(&[
        (
            "/t/base/kustomization.yaml",
            b"resources:\n- cm.yaml\nopenapi:\n  path: s.json\n",
        ),
        ("/t/base/cm.yaml", CM.as_bytes()),
        ("/t/base/s.json", b"{not json"),
        (
            "/t/overlay/kustomization.yaml",
            b"resources:\n- ../base\nopenapi:\n  version: v1.21.2\n",
        ),
    ]);
    let out = build(&fs, "/t/overlay").expect("builds");
    assert!(out.contains("name: cm"), "{out}");
}
