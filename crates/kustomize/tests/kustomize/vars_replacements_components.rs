//! vars, replacements and components: small trees built here and by
//! kustomize 5.6.0 (`kustomize build`), whose output is the expected text;
//! error cases are ones kustomize rejects, checked for our message.

use std::path::Path;

use ferroflux_kustomize::{Error, MemFs, Options, build_yaml, build_yaml_with_warnings};

fn tree(files: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    for (path, text) in files {
        fs.add(format!("/t/{path}"), *text);
    }
    fs
}

fn build(fs: &MemFs, dir: &str) -> Result<String, Error> {
    build_yaml(fs, Path::new(dir), &Options::default())
}

/// A component with its own resource, prefix, labels, a var and a nested component (images, a replacement), applied to an overlay's base before the overlay's namespace and suffix.
#[test]
fn component_with_resources_vars_and_replacements_in_a_nested_component() {
    let fs = tree(&[
        (
            "base/app.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - name: DB
          value: $(DB_HOST)
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  ports:
  - port: 5432
"#,
        ),
        (
            "base/kustomization.yaml",
            r#"resources:
- app.yaml
"#,
        ),
        (
            "comp/extra.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: extra
data:
  target: web
"#,
        ),
        (
            "comp/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- extra.yaml
namePrefix: c-
commonLabels:
  comp: "yes"
components:
- sub
vars:
- name: DB_HOST
  objref:
    apiVersion: v1
    kind: Service
    name: db
"#,
        ),
        (
            "comp/sub/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
images:
- name: nginx
  newTag: "1.26"
replacements:
- source:
    kind: ConfigMap
    name: extra
    fieldPath: data.target
  targets:
  - select:
      kind: Deployment
    fieldPaths:
    - spec.template.spec.containers.[name=web].env.[name=DB].name
"#,
        ),
        (
            "overlay/kustomization.yaml",
            r#"resources:
- ../base
components:
- ../comp
namespace: prod
nameSuffix: -v2
"#,
        ),
    ]);
    let out = build(&fs, "/t/overlay").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  target: web
kind: ConfigMap
metadata:
  labels:
    comp: "yes"
  name: c-extra-v2
  namespace: prod
---
apiVersion: v1
kind: Service
metadata:
  labels:
    comp: "yes"
  name: c-db-v2
  namespace: prod
spec:
  ports:
  - port: 5432
  selector:
    comp: "yes"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    comp: "yes"
  name: c-web-v2
  namespace: prod
spec:
  selector:
    matchLabels:
      comp: "yes"
  template:
    metadata:
      labels:
        comp: "yes"
    spec:
      containers:
      - env:
        - name: web
          value: c-db-v2
        image: nginx:1.26
        name: web
"#
    );
}

/// Two components in order: the second adds a resource the first never saw.
#[test]
fn components_apply_in_order_to_what_was_accumulated() {
    let fs = tree(&[
        (
            "base/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "base/kustomization.yaml",
            r#"resources: [cm.yaml]
"#,
        ),
        (
            "comp/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
namePrefix: a-
commonAnnotations:
  by: comp
"#,
        ),
        (
            "comp2/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "comp2/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
nameSuffix: -b
resources:
- cm.yaml
"#,
        ),
        (
            "o1/kustomization.yaml",
            r#"resources: [../base, ../comp]
"#,
        ),
        (
            "o2/kustomization.yaml",
            r#"resources: [../base]
components: [../base]
"#,
        ),
        (
            "o3/kustomization.yaml",
            r#"resources: [../base]
components: [../comp, ../comp2]
"#,
        ),
        (
            "o4/kustomization.yaml",
            r#"components: [../comp2, ../comp]
namePrefix: top-
"#,
        ),
    ]);
    let out = build(&fs, "/t/o3").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  k: v
kind: ConfigMap
metadata:
  annotations:
    by: comp
  name: a-cm-b
---
apiVersion: v1
data:
  k: v
kind: ConfigMap
metadata:
  name: cm-b
"#
    );
}

/// A kustomization with components only, and its own prefix after them.
#[test]
fn a_component_alone_at_the_top() {
    let fs = tree(&[
        (
            "base/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "base/kustomization.yaml",
            r#"resources: [cm.yaml]
"#,
        ),
        (
            "comp/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
namePrefix: a-
commonAnnotations:
  by: comp
"#,
        ),
        (
            "comp2/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "comp2/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
nameSuffix: -b
resources:
- cm.yaml
"#,
        ),
        (
            "o1/kustomization.yaml",
            r#"resources: [../base, ../comp]
"#,
        ),
        (
            "o2/kustomization.yaml",
            r#"resources: [../base]
components: [../base]
"#,
        ),
        (
            "o3/kustomization.yaml",
            r#"resources: [../base]
components: [../comp, ../comp2]
"#,
        ),
        (
            "o4/kustomization.yaml",
            r#"components: [../comp2, ../comp]
namePrefix: top-
"#,
        ),
    ]);
    let out = build(&fs, "/t/o4").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  k: v
kind: ConfigMap
metadata:
  annotations:
    by: comp
  name: top-a-cm-b
"#
    );
}

#[test]
fn a_component_listed_as_a_resource_is_refused() {
    let fs = tree(&[
        (
            "base/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "base/kustomization.yaml",
            r#"resources: [cm.yaml]
"#,
        ),
        (
            "comp/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
namePrefix: a-
commonAnnotations:
  by: comp
"#,
        ),
        (
            "comp2/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "comp2/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
nameSuffix: -b
resources:
- cm.yaml
"#,
        ),
        (
            "o1/kustomization.yaml",
            r#"resources: [../base, ../comp]
"#,
        ),
        (
            "o2/kustomization.yaml",
            r#"resources: [../base]
components: [../base]
"#,
        ),
        (
            "o3/kustomization.yaml",
            r#"resources: [../base]
components: [../comp, ../comp2]
"#,
        ),
        (
            "o4/kustomization.yaml",
            r#"components: [../comp2, ../comp]
namePrefix: top-
"#,
        ),
    ]);
    let e = build(&fs, "/t/o1")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(e.contains("expected kind != 'Component' for path"), "{e}");
}

#[test]
fn a_kustomization_listed_as_a_component_is_refused() {
    let fs = tree(&[
        (
            "base/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "base/kustomization.yaml",
            r#"resources: [cm.yaml]
"#,
        ),
        (
            "comp/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
namePrefix: a-
commonAnnotations:
  by: comp
"#,
        ),
        (
            "comp2/cm.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  k: v
"#,
        ),
        (
            "comp2/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
nameSuffix: -b
resources:
- cm.yaml
"#,
        ),
        (
            "o1/kustomization.yaml",
            r#"resources: [../base, ../comp]
"#,
        ),
        (
            "o2/kustomization.yaml",
            r#"resources: [../base]
components: [../base]
"#,
        ),
        (
            "o3/kustomization.yaml",
            r#"resources: [../base]
components: [../comp, ../comp2]
"#,
        ),
        (
            "o4/kustomization.yaml",
            r#"components: [../comp2, ../comp]
namePrefix: top-
"#,
        ),
    ]);
    let e = build(&fs, "/t/o2")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(e.contains("expected kind 'Component' for path"), "{e}");
}

/// kyaml's [name=web] is an unanchored pattern: it also selects web-sidecar.
#[test]
fn replacements_with_list_selectors_wildcards_delimiters_and_create() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
  image: nginx:1.27
  replicas: "x"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - name: PORT
          value: "80"
      - name: web-sidecar
        image: envoy:1.0
        ports:
        - containerPort: 90
        env:
        - name: PORT
          value: "90"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources:
- app.yaml
replacements:
- source:
    kind: ConfigMap
    name: cfg
    fieldPath: data.port
  targets:
  - select:
      kind: Deployment
    fieldPaths:
    - spec.template.spec.containers.[name=web].ports.0.containerPort
    - spec.template.spec.containers.*.env.[name=PORT].value
    - metadata.annotations.port
    options:
      create: true
- source:
    kind: ConfigMap
    name: cfg
    fieldPath: data.image
    options:
      delimiter: ":"
      index: 1
  targets:
  - select:
      kind: Deployment
      name: app
    fieldPaths:
    - spec.template.spec.containers.1.image
    options:
      delimiter: ":"
      index: 1
  - select:
      kind: Deployment
    fieldPaths:
    - spec.template.spec.containers.0.image
    options:
      delimiter: "/"
      index: -1
- source:
    kind: Deployment
    fieldPath: spec.template.spec.containers.0
  targets:
  - select:
      kind: ConfigMap
    fieldPaths:
    - data.copied
    options:
      create: true
- source:
    kind: Deployment
    fieldPath: spec.replicas
  targets:
  - select:
      kind: ConfigMap
    fieldPaths:
    - data.replicas
    - data.newreplicas
    options:
      create: true
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  copied:
    env:
    - name: PORT
      value: "8080"
    image: 1.27/nginx:1.25
    name: web
    ports:
    - containerPort: 8080
  image: nginx:1.27
  newreplicas: 3
  port: "8080"
  replicas: "3"
kind: ConfigMap
metadata:
  name: cfg
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    port: "8080"
  name: app
spec:
  replicas: 3
  template:
    spec:
      containers:
      - env:
        - name: PORT
          value: "8080"
        image: 1.27/nginx:1.25
        name: web
        ports:
        - containerPort: 8080
      - env:
        - name: PORT
          value: "8080"
        image: envoy:1.27
        name: web-sidecar
        ports:
        - containerPort: 8080
"#
    );
}

/// Whole-string references keep the value's type; inside a string Go's %v prints 1e+06; $$ escapes; unknown and non-scalar vars stay.
#[test]
fn vars_keep_types_and_format_floats_as_go() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            r#"resources: [pod.yaml]
namePrefix: pre-
vars:
- name: PORT
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: "spec.ports[0].port"}
- name: RATIO
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: spec.ratio}
- name: BIG
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: spec.big}
- name: FLAG
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: spec.on}
- name: MAP
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: spec.ports}
- name: STAMP
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: spec.stamp}
- name: NAME
  objref: {apiVersion: v1, kind: Service, name: svc}
- name: UNUSED
  objref: {apiVersion: v1, kind: Service, name: svc}
"#,
        ),
        (
            "pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    x: $(PORT)
  annotations:
    a: "$(PORT)"
    b: "port-$(PORT)-$(RATIO)-$(BIG)-$$(PORT)-$(NOPE)-$(FLAG)-$(MAP)"
    c: "$(RATIO)"
    d: "$(FLAG)"
    e: "$(MAP)"
    f: "$(BIG)"
spec:
  containers:
  - name: c
    image: busybox
    args: ["$(PORT)", "x$(STAMP)", "$(N"]
    command: ["$(NAME)"]
  ports: []
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ratio: 1.5
  big: 1000000.0
  on: true
  stamp: 2024-01-02
  ports:
  - port: 8080
    name: http
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
kind: Service
metadata:
  name: pre-svc
spec:
  big: 1000000
  "on": true
  ports:
  - name: http
    port: 8080
  ratio: 1.5
  stamp: "2024-01-02T00:00:00Z"
---
apiVersion: v1
kind: Pod
metadata:
  annotations:
    a: "8080"
    b: port-8080-1.5-1e+06-$(PORT)-$(NOPE)-true-$(MAP)
    c: "1.5"
    d: "true"
    e: $(MAP)
    f: "1000000"
  labels:
    x: 8080
  name: pre-p
spec:
  containers:
  - args:
    - 8080
    - x2024-01-02
    - $(N
    command:
    - pre-svc
    image: busybox
    name: c
  ports: []
"#
    );
}

#[test]
fn a_var_naming_a_namespace() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            r#"resources: [pod.yaml]
vars:
- name: PORT
  objref: {apiVersion: v1, kind: Service, name: svc, namespace: default}
  fieldref: {fieldPath: spec.ports.0.name}
"#,
        ),
        (
            "pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    x: $(PORT)
  annotations:
    a: "$(PORT)"
    b: "port-$(PORT)-$(RATIO)-$(BIG)-$$(PORT)-$(NOPE)-$(ON)-$(MAP)"
    c: "$(RATIO)"
    d: "$(ON)"
    e: "$(MAP)"
    f: "$(BIG)"
spec:
  containers:
  - name: c
    image: busybox
    args: ["$(PORT)", "x$(STAMP)", "$(N"]
    command: ["$(NAME)"]
  ports: []
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ratio: 1.5
  big: 1000000.0
  on: true
  stamp: 2024-01-02
  ports:
  - port: 8080
    name: http
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  big: 1000000
  "on": true
  ports:
  - name: http
    port: 8080
  ratio: 1.5
  stamp: "2024-01-02T00:00:00Z"
---
apiVersion: v1
kind: Pod
metadata:
  annotations:
    a: http
    b: port-http-$(RATIO)-$(BIG)-$(PORT)-$(NOPE)-$(ON)-$(MAP)
    c: $(RATIO)
    d: $(ON)
    e: $(MAP)
    f: $(BIG)
  labels:
    x: http
  name: p
spec:
  containers:
  - args:
    - http
    - x$(STAMP)
    - $(N
    command:
    - $(NAME)
    image: busybox
    name: c
  ports: []
"#
    );
}

#[test]
fn replacement_source_matching_two_resources() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {kind: ConfigMap, fieldPath: data.port}
  targets: [{select: {name: cfg2}, fieldPaths: [data.port]}]
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(
        e.contains(
            "multiple matches for selector ConfigMap.[noVer].[noGrp]/[noName].[noNs]:data.port"
        ),
        "{e}"
    );
}

#[test]
fn replacement_source_matching_nothing() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {kind: Secret, fieldPath: data.port}
  targets: [{select: {name: cfg2}, fieldPaths: [data.port]}]
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(e.contains("nothing selected by Secret"), "{e}");
}

#[test]
fn replacement_target_field_missing() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {name: cfg, fieldPath: data.port}
  targets: [{select: {name: cfg2}, fieldPaths: [data.nope]}]
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(
        e.contains("unable to find field \"data.nope\" in replacement target"),
        "{e}"
    );
}

#[test]
fn replacement_source_field_missing() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {name: cfg, fieldPath: data.nope}
  targets: [{select: {name: cfg2}, fieldPaths: [data.port]}]
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(
        e.contains("fieldPath `data.nope` is missing for replacement source"),
        "{e}"
    );
}

#[test]
fn replacement_target_without_select() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {name: cfg, fieldPath: data.port}
  targets: [{fieldPaths: [data.port]}]
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(e.contains("target must specify resources to select"), "{e}");
}

#[test]
fn replacement_without_targets() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {name: cfg, fieldPath: data.port}
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(
        e.contains("replacements must specify a source and at least one target"),
        "{e}"
    );
}

#[test]
fn replacement_with_an_unknown_field() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {name: cfg, fieldPath: data.port, bogus: 1}
  targets: [{select: {name: cfg2}, fieldPaths: [data.port]}]
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(e.contains("kustomization.yaml:3: invalid Kustomization: field `replacements`: replacements[0].source: unknown field \"bogus\""), "{e}");
}

#[test]
fn a_var_whose_objref_matches_nothing() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            r#"resources: [pod.yaml]
vars:
- name: PORT
  objref: {kind: Service, name: svc}
"#,
        ),
        (
            "pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    x: $(PORT)
  annotations:
    a: "$(PORT)"
    b: "port-$(PORT)-$(RATIO)-$(BIG)-$$(PORT)-$(NOPE)-$(ON)-$(MAP)"
    c: "$(RATIO)"
    d: "$(ON)"
    e: "$(MAP)"
    f: "$(BIG)"
spec:
  containers:
  - name: c
    image: busybox
    args: ["$(PORT)", "x$(STAMP)", "$(N"]
    command: ["$(NAME)"]
  ports: []
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ratio: 1.5
  big: 1000000.0
  on: true
  stamp: 2024-01-02
  ports:
  - port: 8080
    name: http
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(
        e.contains("cannot be mapped to a field in the set of known resources"),
        "{e}"
    );
}

#[test]
fn a_var_whose_field_is_missing() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            r#"resources: [pod.yaml]
vars:
- name: PORT
  objref: {apiVersion: v1, kind: Service, name: svc}
  fieldref: {fieldPath: spec.nothere}
"#,
        ),
        (
            "pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    x: $(PORT)
  annotations:
    a: "$(PORT)"
    b: "port-$(PORT)-$(RATIO)-$(BIG)-$$(PORT)-$(NOPE)-$(ON)-$(MAP)"
    c: "$(RATIO)"
    d: "$(ON)"
    e: "$(MAP)"
    f: "$(BIG)"
spec:
  containers:
  - name: c
    image: busybox
    args: ["$(PORT)", "x$(STAMP)", "$(N"]
    command: ["$(NAME)"]
  ports: []
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ratio: 1.5
  big: 1000000.0
  on: true
  stamp: 2024-01-02
  ports:
  - port: 8080
    name: http
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(e.contains("not found in corresponding resource"), "{e}");
}

#[test]
fn a_var_declared_twice() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            r#"resources: [pod.yaml]
vars:
- name: PORT
  objref: {apiVersion: v1, kind: Service, name: svc}
- name: PORT
  objref: {apiVersion: v1, kind: Service, name: svc}
"#,
        ),
        (
            "pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    x: $(PORT)
  annotations:
    a: "$(PORT)"
    b: "port-$(PORT)-$(RATIO)-$(BIG)-$$(PORT)-$(NOPE)-$(ON)-$(MAP)"
    c: "$(RATIO)"
    d: "$(ON)"
    e: "$(MAP)"
    f: "$(BIG)"
spec:
  containers:
  - name: c
    image: busybox
    args: ["$(PORT)", "x$(STAMP)", "$(N"]
    command: ["$(NAME)"]
  ports: []
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ratio: 1.5
  big: 1000000.0
  on: true
  stamp: 2024-01-02
  ports:
  - port: 8080
    name: http
"#,
        ),
    ]);
    let e = build(&fs, "/t")
        .expect_err("kustomize rejects it")
        .to_string();
    assert!(e.contains("var 'PORT' already encountered"), "{e}");
}
/// kustomize warns once per kustomization that uses `vars`, and logs the
/// vars no reference used.
#[test]
fn vars_warn_deprecation_and_unused() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            "resources: [cm.yaml]\nvars:\n- name: USED\n  objref: {apiVersion: v1, kind: ConfigMap, name: cm}\n- name: IDLE\n  objref: {apiVersion: v1, kind: ConfigMap, name: cm}\n",
        ),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    self: $(USED)\n",
        ),
    ]);
    let (out, warnings) =
        build_yaml_with_warnings(&fs, Path::new("/t"), &Options::default()).expect("builds");
    assert!(out.contains("self: cm\n"), "{out}");
    assert_eq!(
        warnings,
        [
            "# Warning: 'vars' is deprecated. Please use 'replacements' instead. [EXPERIMENTAL] \
             Run 'kustomize edit fix' to update your Kustomization automatically.",
            "well-defined vars that were never replaced: IDLE",
        ]
    );
}

/// Replacement files are held to the load restrictor like any file.
#[test]
fn a_replacement_file_outside_the_root_is_refused() {
    let fs = tree(&[
        (
            "k/kustomization.yaml",
            "resources: [cm.yaml]\nreplacements:\n- path: ../r.yaml\n",
        ),
        (
            "k/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
        (
            "r.yaml",
            "source: {kind: ConfigMap}\ntargets: [{select: {kind: ConfigMap}}]\n",
        ),
    ]);
    let e = build(&fs, "/t/k")
        .expect_err("outside the root")
        .to_string();
    assert!(
        e.contains("security; file '/t/r.yaml' is not in or below '/t/k'"),
        "{e}"
    );
}

/// A component directory that does not exist names the entry.
#[test]
fn a_missing_component_is_an_error_naming_it() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            "resources: [cm.yaml]\ncomponents: [nowhere]\n",
        ),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
    ]);
    let e = build(&fs, "/t").expect_err("no such component").to_string();
    assert!(e.contains("component 'nowhere'"), "{e}");
}

/// A component including itself (through its parent) is a cycle.
#[test]
fn a_component_cycle_is_refused() {
    let fs = tree(&[
        ("kustomization.yaml", "components: [c]\n"),
        (
            "c/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncomponents: [..]\n",
        ),
    ]);
    let e = build(&fs, "/t").expect_err("a cycle").to_string();
    assert!(e.contains("cycle detected"), "{e}");
}

/// A `ReplacementTransformer` in `transformers` (a file and an inline entry,
/// unknown keys ignored) runs after the built-in prefix.
#[test]
fn a_configured_replacement_transformer() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
namePrefix: p-
transformers:
- |-
  apiVersion: builtin
  kind: ReplacementTransformer
  metadata:
    name: rt
  replacements:
  - path: r.yaml
  - source: {kind: ConfigMap, name: cfg2, fieldPath: data.port}
    targets: [{select: {name: cfg}, fieldPaths: [data.other], options: {create: true}}]
    extra: ignored
"#,
        ),
        (
            "r.yaml",
            r#"source: {kind: ConfigMap, name: cfg, fieldPath: metadata.name}
targets: [{select: {name: cfg2}, fieldPaths: [data.port]}]
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  other: p-cfg
  port: "8080"
kind: ConfigMap
metadata:
  name: p-cfg
---
apiVersion: v1
data:
  port: p-cfg
kind: ConfigMap
metadata:
  name: p-cfg2
"#
    );
}

/// `configurations` add varReference paths (a custom kind); other fields keep $(SVC).
#[test]
fn vars_substitute_in_configured_var_references() {
    let fs = tree(&[
        (
            "cfg.yaml",
            r#"varReference:
- path: spec/target
  kind: Thing
- path: spec/list
  kind: Thing
"#,
        ),
        (
            "crd.yaml",
            r#"apiVersion: example.com/v1
kind: Thing
metadata:
  name: t
spec:
  target: http://$(SVC):80
  list: ["$(SVC)", "b"]
  other: $(SVC)
---
apiVersion: v1
kind: Service
metadata:
  name: svc
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [crd.yaml]
configurations: [cfg.yaml]
nameSuffix: -x
vars:
- name: SVC
  objref: {apiVersion: v1, kind: Service, name: svc}
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
kind: Service
metadata:
  name: svc-x
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: t-x
spec:
  list:
  - svc-x
  - b
  other: $(SVC)
  target: http://svc-x:80
"#
    );
}

/// A malformed `ReplacementTransformer` config names the transformer.
#[test]
fn a_malformed_configured_replacement_transformer_is_refused() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            "resources: [cm.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: ReplacementTransformer\n  metadata:\n    name: rt\n  replacements: 3\n",
        ),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
    ]);
    let e = build(&fs, "/t").expect_err("not a list").to_string();
    assert!(
        e.contains("builtin ReplacementTransformer rt: replacements: expected a list"),
        "{e}"
    );
}

/// A replacement file that is not UTF-8, too large, or holds a scalar is
/// refused naming the kustomization and the file.
#[test]
fn bad_replacement_files_are_refused() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";
    let k = "resources: [cm.yaml]\nreplacements:\n- path: r.yaml\n";
    let mut fs = tree(&[("kustomization.yaml", k), ("cm.yaml", cm)]);
    fs.add("/t/r.yaml", vec![0xff, 0xfe, b'\n']);
    let e = build(&fs, "/t").expect_err("not UTF-8").to_string();
    assert!(e.contains("'/t/r.yaml' is not UTF-8 text"), "{e}");
    let mut fs = tree(&[("kustomization.yaml", k), ("cm.yaml", cm)]);
    fs.add("/t/r.yaml", "#".repeat(4 << 20 | 1));
    let e = build(&fs, "/t").expect_err("too large").to_string();
    assert!(e.contains("is larger than"), "{e}");
    let fs = tree(&[
        ("kustomization.yaml", k),
        ("cm.yaml", cm),
        ("r.yaml", "3\n"),
    ]);
    let e = build(&fs, "/t").expect_err("a scalar").to_string();
    assert!(
        e.contains("unsupported replacement type encountered within replacement path"),
        "{e}"
    );
}

/// A remote component is refused by name, as remote bases are.
#[test]
fn a_remote_component_is_refused() {
    let fs = tree(&[(
        "kustomization.yaml",
        "components:\n- https://github.com/example/repo//comp?ref=v1\n",
    )]);
    let e = build(&fs, "/t").expect_err("remote").to_string();
    assert!(
        e.contains("a remote component (no network access) is not supported"),
        "{e}"
    );
}

/// Created fields resolve as plain scalars (0.5, true); existing scalars keep their type (paused: true, count: "4"); [name=SELF] is created in every container; indexes append; namespaces select.
#[test]
fn replacements_convert_types_create_list_entries_and_select_namespaces() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            r#"resources: [res.yaml]
replacements:
- source: {kind: Deployment, name: web, namespace: default, fieldPath: metadata.name}
  targets:
  - select: {kind: Deployment}
    fieldPaths:
    - spec.template.spec.containers.*.env.[name=SELF].value
    options: {create: true}
- source: {kind: ConfigMap, name: vals, fieldPath: data.ratio}
  targets:
  - select: {group: example.com, version: v1}
    fieldPaths: [spec.filters.0.match.ratio, spec.filters.1.match.ratio, spec.filters.2.match.ratio]
    options: {create: true}
- source: {kind: ConfigMap, name: vals, fieldPath: data.flag}
  targets:
  - select: {kind: Deployment, namespace: other}
    fieldPaths: [spec.paused, spec.template.spec.hostNetwork]
  - select: {kind: Deployment, namespace: default}
    fieldPaths: [spec.template.metadata.annotations.flag]
    options: {create: true}
- source: {kind: Deployment, name: web, namespace: other, fieldPath: spec.replicas}
  targets:
  - select: {kind: ConfigMap}
    fieldPaths: [data.count]
- source: {kind: Deployment, name: web, namespace: other, fieldPath: "spec.template.spec.containers.[name=c].ports"}
  targets:
  - select: {kind: Deployment, name: web, namespace: default}
    fieldPaths: ["spec.template.spec.containers.[name=c].ports", spec.template.spec.newPorts]
    options: {create: true}
"#,
        ),
        (
            "res.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: vals
data:
  ratio: "0.5"
  flag: "true"
  count: "zero"
---
apiVersion: example.com/v1
kind: Filter
metadata:
  name: f
spec:
  filters:
  - type: a
  - type: b
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  paused: false
  template:
    spec:
      hostNetwork: false
      containers:
      - name: c
        env:
        - name: OTHER
          value: x
      initContainers:
      - name: i
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: other
spec:
  replicas: 4
  paused: false
  template:
    spec:
      hostNetwork: false
      containers:
      - name: c
        ports:
        - containerPort: 1
        - containerPort: 2
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  count: "4"
  flag: "true"
  ratio: "0.5"
kind: ConfigMap
metadata:
  name: vals
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: other
spec:
  paused: true
  replicas: 4
  template:
    spec:
      containers:
      - env:
        - name: SELF
          value: web
        name: c
        ports:
        - containerPort: 1
        - containerPort: 2
      hostNetwork: true
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  paused: false
  template:
    metadata:
      annotations:
        flag: true
    spec:
      containers:
      - env:
        - name: OTHER
          value: x
        - name: SELF
          value: web
        name: c
        ports:
        - containerPort: 1
        - containerPort: 2
      hostNetwork: false
      initContainers:
      - name: i
      newPorts:
      - containerPort: 1
      - containerPort: 2
---
apiVersion: example.com/v1
kind: Filter
metadata:
  name: f
spec:
  filters:
  - match:
      ratio: 0.5
    type: a
  - match:
      ratio: 0.5
    type: b
  - match:
      ratio: 0.5
"#
    );
}

/// Two bases each apply a component (no apiVersion) to their own resources; the top's component sets a namespace that the top's replacements then read.
#[test]
fn components_in_two_bases_and_a_namespace_before_replacements() {
    let fs = tree(&[
        (
            "b1/kustomization.yaml",
            r#"resources: [pod.yaml]
components: [../label-comp]
namePrefix: b1-
"#,
        ),
        (
            "b1/pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: NS
      value: placeholder
"#,
        ),
        (
            "b2/kustomization.yaml",
            r#"resources: [pod.yaml]
components: [../label-comp]
namePrefix: b2-
"#,
        ),
        (
            "b2/pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: NS
      value: placeholder
"#,
        ),
        (
            "dup/kustomization.yaml",
            r#"resources: [../b1]
components: [../label-comp, ../label-comp]
"#,
        ),
        (
            "files/kustomization.yaml",
            r#"resources: [../b1]
components: [stub.yaml]
"#,
        ),
        (
            "files/stub.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: NS
      value: placeholder
"#,
        ),
        (
            "label-comp/kustomization.yaml",
            r#"kind: Component
labels:
- pairs: {added-by: label-comp}
  includeSelectors: false
"#,
        ),
        (
            "ns-comp/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
namespace: from-component
"#,
        ),
        (
            "top/kustomization.yaml",
            r#"resources: [../b1, ../b2]
components: [../ns-comp]
replacements:
- source: {kind: Pod, name: b1-app, fieldPath: metadata.namespace}
  targets:
  - select: {kind: Pod}
    fieldPaths: ["spec.containers.[name=c].env.[name=NS].value"]
"#,
        ),
    ]);
    let out = build(&fs, "/t/top").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
kind: Pod
metadata:
  labels:
    added-by: label-comp
  name: b1-app
  namespace: from-component
spec:
  containers:
  - env:
    - name: NS
      value: from-component
    image: busybox
    name: c
---
apiVersion: v1
kind: Pod
metadata:
  labels:
    added-by: label-comp
  name: b2-app
  namespace: from-component
spec:
  containers:
  - env:
    - name: NS
      value: from-component
    image: busybox
    name: c
"#
    );
}

/// A file listed in `components` is refused (components are directories).
#[test]
fn a_file_listed_as_a_component_is_refused() {
    let fs = tree(&[
        ("kustomization.yaml", "components: [stub.yaml]\n"),
        (
            "stub.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
    ]);
    let e = build(&fs, "/t").expect_err("a file").to_string();
    assert!(e.contains("component 'stub.yaml'"), "{e}");
}

/// A list element created for [=zzz] is an untagged scalar (12 prints as an int); an element created for [name=X] at the end of a path is replaced by the source node; an existing string keeps its type.
#[test]
fn replacements_create_list_elements_as_kyaml_does() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            r#"resources: [res.yaml]
replacements:
- source: {kind: ConfigMap, fieldPath: data.n}
  targets:
  - select: {kind: Pod}
    fieldPaths: ["spec.containers.0.args.[=zzz]", "spec.extra.[name=NEW]", "spec.containers.0.command.[=keep]", "spec.containers.[name=side].image"]
    options: {create: true}
- source: {kind: ConfigMap, fieldPath: data}
  targets:
  - select: {kind: Pod}
    fieldPaths: ["spec.extra.[name=MAP]"]
    options: {create: true}
"#,
        ),
        (
            "res.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: c
data:
  n: "12"
---
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: main
    args: [a]
    command: [keep]
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  "n": "12"
kind: ConfigMap
metadata:
  name: c
---
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - args:
    - a
    - 12
    command:
    - "12"
    name: main
  - image: 12
    name: side
  extra:
  - "12"
  - "n": "12"
"#
    );
}

/// Replacements read from files count toward one bound per kustomization.
#[test]
fn too_many_replacements_across_files_are_refused() {
    let many = "- {}\n".repeat(6_000);
    let fs = tree(&[
        (
            "kustomization.yaml",
            "resources: [cm.yaml]\nreplacements:\n- path: a.yaml\n- path: b.yaml\n",
        ),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
        ("a.yaml", &many),
        ("b.yaml", &many),
    ]);
    let e = build(&fs, "/t").expect_err("too many").to_string();
    assert!(e.contains("more than 10000 replacements"), "{e}");
}

/// buildMetadata: each resource's origin (bases, components) and every transformer that touched it, the ReplacementTransformer and the components' own included.
#[test]
fn origins_and_transformations_through_components_and_replacements() {
    let fs = tree(&[
        (
            "b1/kustomization.yaml",
            r#"resources: [pod.yaml]
components: [../label-comp]
namePrefix: b1-
"#,
        ),
        (
            "b1/pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: NS
      value: placeholder
"#,
        ),
        (
            "b2/kustomization.yaml",
            r#"resources: [pod.yaml]
components: [../label-comp]
namePrefix: b2-
"#,
        ),
        (
            "b2/pod.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: NS
      value: placeholder
"#,
        ),
        (
            "dup/kustomization.yaml",
            r#"resources: [../b1]
components: [../label-comp, ../label-comp]
"#,
        ),
        (
            "files/kustomization.yaml",
            r#"resources: [../b1]
components: [stub.yaml]
"#,
        ),
        (
            "files/stub.yaml",
            r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: c
    image: busybox
    env:
    - name: NS
      value: placeholder
"#,
        ),
        (
            "label-comp/kustomization.yaml",
            r#"kind: Component
labels:
- pairs: {added-by: label-comp}
  includeSelectors: false
"#,
        ),
        (
            "ns-comp/kustomization.yaml",
            r#"apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
namespace: from-component
"#,
        ),
        (
            "top/kustomization.yaml",
            r#"resources: [../b1, ../b2]
components: [../ns-comp]
replacements:
- source: {kind: Pod, name: b1-app, fieldPath: metadata.namespace}
  targets:
  - select: {kind: Pod}
    fieldPaths: ["spec.containers.[name=c].env.[name=NS].value"]
buildMetadata: [originAnnotations, transformerAnnotations]
"#,
        ),
    ]);
    let out = build(&fs, "/t/top").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
kind: Pod
metadata:
  annotations:
    alpha.config.kubernetes.io/transformations: |
      - configuredIn: ../label-comp/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: ../label-comp/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: ../b1/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: PrefixTransformer
      - configuredIn: ../ns-comp/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: NamespaceTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ReplacementTransformer
    config.kubernetes.io/origin: |
      path: ../b1/pod.yaml
  labels:
    added-by: label-comp
  name: b1-app
  namespace: from-component
spec:
  containers:
  - env:
    - name: NS
      value: from-component
    image: busybox
    name: c
---
apiVersion: v1
kind: Pod
metadata:
  annotations:
    alpha.config.kubernetes.io/transformations: |
      - configuredIn: ../label-comp/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: ../label-comp/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: LabelTransformer
      - configuredIn: ../b2/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: PrefixTransformer
      - configuredIn: ../ns-comp/kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: NamespaceTransformer
      - configuredIn: kustomization.yaml
        configuredBy:
          apiVersion: builtin
          kind: ReplacementTransformer
    config.kubernetes.io/origin: |
      path: ../b2/pod.yaml
  labels:
    added-by: label-comp
  name: b2-app
  namespace: from-component
spec:
  containers:
  - env:
    - name: NS
      value: from-component
    image: busybox
    name: c
"#
    );
}

/// kustomize decodes its kustomization as YAML 1.1: `create: yes` is true (and a var named ON is a boolean, refused).
#[test]
fn an_unquoted_yes_is_true_in_replacements() {
    let fs = tree(&[
        (
            "app.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  port: "8080"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
data:
  port: "9090"
"#,
        ),
        (
            "kustomization.yaml",
            r#"resources: [app.yaml]
replacements:
- source: {name: cfg, fieldPath: data.port}
  targets: [{select: {name: cfg2}, fieldPaths: [data.new], options: {create: yes}}]
"#,
        ),
    ]);
    let out = build(&fs, "/t").expect("kustomize builds it");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  port: "8080"
kind: ConfigMap
metadata:
  name: cfg
---
apiVersion: v1
data:
  new: 8080
  port: "9090"
kind: ConfigMap
metadata:
  name: cfg2
"#
    );
}

#[test]
fn a_var_named_on_is_a_boolean_and_refused() {
    let fs = tree(&[
        (
            "kustomization.yaml",
            "resources: [cm.yaml]\nvars:\n- name: ON\n  objref: {apiVersion: v1, kind: ConfigMap, name: cm}\n",
        ),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
    ]);
    let e = build(&fs, "/t").expect_err("a boolean name").to_string();
    assert!(e.contains("kustomization.yaml:3"), "{e}");
    assert!(e.contains("vars[0].name: expected a string"), "{e}");
}
