//! Patches (`patches`, `patchesStrategicMerge`, `patchesJson6902`): each
//! tree built here and by kustomize 5.6.0 (`kustomize build`); the expected
//! bytes are kustomize's output for the same files.

use std::path::Path;

use ferroflux_kustomize::{MemFs, Options, build_yaml};

fn build(files: &[(&str, &str)]) -> Result<String, ferroflux_kustomize::Error> {
    let mut fs = MemFs::new();
    for (path, text) in files {
        fs.add(format!("/t/{path}"), *text);
    }
    build_yaml(&fs, Path::new("/t"), &Options::default())
}
const DEP: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: a
        image: a:1
        args: ["x", "y"]
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
      - name: b
        image: b:1
      volumes:
      - name: v1
        emptyDir: {}
      - name: v2
        configMap:
          name: cm
      finalizers: [a, b]
"#;
const CRD: &str = r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  items:
  - name: a
    v: 1
  - name: b
    v: 2
  nested:
    keep: 1
    drop: 2
"#;
const SVC: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ns1
  labels: {tier: front}
  annotations: {team: a}
  finalizers: [x, y]
spec:
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
"#;

/// A patch's list elements go in front of the others; an element's `$patch: replace` is undone by kyaml's put-back of the original element.
#[test]
fn list_elements_merge_by_key_and_patch_elements_come_first() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml]
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - name: b
            image: b:2
          - name: c
            image: c:1
          - name: a
            $patch: replace
            image: a:9
"#,
        ),
        ("dep.yaml", DEP),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: b:2
        name: b
      - image: c:1
        name: c
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}

/// `$patch: delete` on elements and on a whole list, `$patch: replace` as a list's own element.
#[test]
fn patch_directives_delete_and_replace_elements_and_lists() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml]
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - name: a
            env:
            - $patch: replace
            - name: E3
              value: "3"
            ports:
            - containerPort: 81
              $patch: delete
          - name: b
            $patch: delete
          volumes:
          - $patch: delete
"#,
        ),
        ("dep.yaml", DEP),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E3
          value: "3"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      finalizers:
      - a
      - b
"#
    );
}

/// A null deletes a field; `$patch: replace` on a map swaps it whole.
#[test]
fn null_deletes_fields_and_replace_swaps_a_map() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml]
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: null
    spec:
      replicas: null
      template:
        metadata:
          $patch: replace
          annotations:
            a: b
        spec:
          volumes:
          - name: v3
            hostPath:
              path: /x
"#,
        ),
        ("dep.yaml", DEP),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      annotations:
        a: b
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - hostPath:
          path: /x
        name: v3
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}

/// A kind without a schema: maps merge, lists are replaced.
#[test]
fn custom_resources_merge_as_json_merge_patch() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [crd.yaml]
patches:
- patch: |-
    apiVersion: example.com/v1
    kind: Widget
    metadata:
      name: w
    spec:
      items:
      - name: c
      nested:
        drop: null
        add: 3
"#,
        ),
        ("crd.yaml", CRD),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  items:
  - name: c
  nested:
    add: 3
    keep: 1
"#
    );
}

/// Every JSON 6902 operation, `~1` escapes, `-` and negative indexes.
#[test]
fn json6902_operations_with_escapes_and_indexes() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml]
patches:
- target:
    kind: Deployment
    name: w.b
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/args/-
      value: z
    - op: add
      path: /spec/template/spec/containers/1/args
      value: [q]
    - op: replace
      path: /spec/replicas
      value: 3
    - op: remove
      path: /spec/template/spec/volumes/-1
    - op: copy
      from: /spec/template/spec/containers/0/image
      path: /metadata/annotations
    - op: move
      from: /metadata/labels/app
      path: /metadata/labels/a~1b
    - op: test
      path: /spec/template/spec/containers/0/name
      value: a
    - op: add
      path: /spec/template/spec/containers/0/env/0
      value: {name: E0, value: "0"}
"#,
        ),
        ("dep.yaml", DEP),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    a/b: web
  name: web
spec:
  replicas: 3
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        - z
        env:
        - name: E0
          value: "0"
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - args:
        - q
        image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
"#
    );
}

/// `patchesStrategicMerge` (file with two documents and inline), `patchesJson6902` (file and inline); merge keys containerPort+protocol; primitive merge lists.
#[test]
fn deprecated_patch_fields_and_multi_document_patch_files() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml, svc.yaml]
patchesStrategicMerge:
- p1.yaml
- |-
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cfg
  data:
    b: "2"
patchesJson6902:
- target: {version: v1, kind: Service, name: web, namespace: ns1}
  path: ops.yaml
- target: {group: apps, version: v1, kind: Deployment, name: web}
  patch: '[{"op": "replace", "path": "/spec/replicas", "value": 5}]'
"#,
        ),
        ("dep.yaml", DEP),
        (
            "ops.yaml",
            r#"- op: add
  path: /spec/type
  value: NodePort
"#,
        ),
        (
            "p1.yaml",
            r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ns1
  finalizers: [z]
spec:
  ports:
  - port: 443
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: a
        ports:
        - containerPort: 80
          protocol: UDP
"#,
        ),
        ("svc.yaml", SVC),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  a: "1"
  b: "2"
kind: ConfigMap
metadata:
  name: cfg
---
apiVersion: v1
kind: Service
metadata:
  annotations:
    team: a
  finalizers:
  - z
  - x
  - "y"
  labels:
    tier: front
  name: web
  namespace: ns1
spec:
  ports:
  - port: 443
  - port: 80
    targetPort: 8080
  type: NodePort
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 5
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: UDP
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}

/// Targets by label and annotation selectors and anchored regexes; a patch deleting a resource; a patch file with options.
#[test]
fn targets_by_labels_annotations_and_regex_names() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml, svc.yaml]
namePrefix: p-
patches:
- target:
    labelSelector: "tier in (front,back),!missing"
    annotationSelector: team=a
  patch: |-
    - op: add
      path: /metadata/labels/hit
      value: "yes"
- target:
    name: "we.*"
    namespace: ns.
  patch: |-
    apiVersion: v1
    kind: Whatever
    metadata:
      name: ignored
    spec:
      type: ClusterIP
- patch: |-
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: cfg
    $patch: delete
- path: rename.yaml
  options:
    allowNameChange: true
    allowKindChange: true
"#,
        ),
        ("dep.yaml", DEP),
        (
            "rename.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      volumes:
      - name: v2
        configMap:
          name: cm
"#,
        ),
        ("svc.yaml", SVC),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: v1
kind: Service
metadata:
  annotations:
    team: a
  finalizers:
  - x
  - "y"
  labels:
    hit: "yes"
    tier: front
  name: p-web
  namespace: ns1
spec:
  ports:
  - port: 80
    targetPort: 8080
  type: ClusterIP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: p-web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - configMap:
          name: cm
        name: v2
      - emptyDir: {}
        name: v1
"#
    );
}

/// allowNameChange and allowKindChange.
#[test]
fn patches_may_change_names_and_kinds_when_allowed() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml, svc.yaml]
patches:
- target:
    kind: Service
  patch: |-
    apiVersion: v1
    kind: Service
    metadata:
      name: svc-new
    spec:
      ports:
      - port: 80
        name: http
  options:
    allowNameChange: true
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: web
  options:
    allowKindChange: true
"#,
        ),
        ("dep.yaml", DEP),
        ("svc.yaml", SVC),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  a: "1"
kind: ConfigMap
metadata:
  name: cfg
---
apiVersion: v1
kind: Service
metadata:
  annotations:
    team: a
  finalizers:
  - x
  - "y"
  labels:
    tier: front
  name: svc-new
  namespace: ns1
spec:
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}

/// kustomize 5.6 does not read `$setElementOrder`, `$deleteFromPrimitiveList` or `$retainKeys`: they stay as fields.
#[test]
fn kubernetes_only_directives_pass_through_as_kustomize_does() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources:
- dep.yaml
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          $setElementOrder/containers:
          - name: b
          - name: a
          containers:
          - name: a
            image: x
            $deleteFromPrimitiveList/args: ["1"]
          volumes:
          - $retainKeys: [name]
            name: v
            emptyDir: {}
"#,
        ),
        (
            "dep.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        args: ["1", "2"]
      - name: b
        image: b
      volumes:
      - name: v
        hostPath: {path: /x}
"#,
        ),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      $setElementOrder/containers:
      - name: b
      - name: a
      containers:
      - $deleteFromPrimitiveList/args:
        - "1"
        args:
        - "1"
        - "2"
        image: x
        name: a
      - image: b
        name: b
      volumes:
      - $retainKeys:
        - name
        emptyDir: {}
        hostPath:
          path: /x
        name: v
"#
    );
}

/// `$patch: replace` on a map of a custom resource; its lists are replaced whole.
#[test]
fn directives_on_a_custom_resource() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [crd.yaml]
patches:
- patch: |-
    apiVersion: example.com/v1
    kind: Widget
    metadata:
      name: w
    spec:
      nested:
        $patch: replace
        only: 1
      items:
      - name: z
        $patch: delete
"#,
        ),
        ("crd.yaml", CRD),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  items:
  - $patch: delete
    name: z
  nested:
    only: 1
"#
    );
}

/// A JSON patch file renaming a resource.
#[test]
fn json6902_from_a_json_file_renames() {
    let out = build(&[
        ("kustomization.yaml", r#"resources: [dep.yaml]
patchesJson6902:
- target: {group: apps, version: v1, kind: Deployment, name: web}
  path: ops.json
"#),
        ("dep.yaml", DEP),
        ("ops.json", r#"[
  {"op": "replace", "path": "/metadata/name", "value": "web2"},
  {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "E3", "value": "3"}},
  {"op": "remove", "path": "/spec/template/spec/containers/1"},
  {"op": "test", "path": "/spec/template/spec/containers/0/ports/0/containerPort", "value": 80}
]
"#),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web2
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        - name: E3
          value: "3"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}

/// The built-in patch transformers as `transformers` configs (inline and
/// files), run after the kustomization's own fields.
#[test]
fn patch_transformer_configs_in_transformers() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml]
transformers:
- |-
  apiVersion: builtin
  kind: PatchTransformer
  metadata:
    name: p1
  target:
    kind: Deployment
  patch: |-
    [{"op": "replace", "path": "/spec/replicas", "value": 7}]
- t.yaml
- |-
  apiVersion: builtin
  kind: PatchJson6902Transformer
  metadata:
    name: p3
  target:
    group: apps
    version: v1
    kind: Deployment
    name: web
  path: ops.yaml
"#,
        ),
        ("dep.yaml", DEP),
        (
            "ops.yaml",
            r#"- op: add
  path: /metadata/annotations
  value: {x: "1"}
"#,
        ),
        (
            "p.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  paused: true
"#,
        ),
        (
            "t.yaml",
            r#"apiVersion: builtin
kind: PatchStrategicMergeTransformer
metadata:
  name: p2
paths:
- p.yaml
patches: |-
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    minReadySeconds: 3
"#,
        ),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    x: "1"
  labels:
    app: web
  name: web
spec:
  minReadySeconds: 3
  paused: true
  replicas: 7
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}

/// Errors name the kustomization file and the line of the entry.
#[test]
fn patch_errors_name_the_kustomization_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "resources: [dep.yaml]\npatches:\n- path: p.yaml\n  patch: \"x: 1\"\n",
            "/t/kustomization.yaml:3: patches: patch and path can't be set at the same time",
        ),
        (
            "resources: [dep.yaml]\npatches:\n- path: ../outside.yaml\n",
            "/t/kustomization.yaml:3: failed to get the patch file from path(../outside.yaml)",
        ),
        (
            "resources: [dep.yaml]\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: nope\n",
            "/t/kustomization.yaml: no resource matches strategic merge patch \"Deployment.v1.apps/nope.[noNs]\"",
        ),
        (
            "resources: [dep.yaml]\npatchesJson6902:\n- target: {kind: Deployment}\n  patch: '[]'\n",
            "/t/kustomization.yaml:3: patchesJson6902: must specify the target name",
        ),
        (
            "resources: [dep.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: PatchStrategicMergeTransformer\n  metadata: {name: x}\n",
            "/t/kustomization.yaml:1: builtin PatchStrategicMergeTransformer x: empty file path and empty patch content",
        ),
    ];
    for (k, want) in cases {
        let mut fs = MemFs::new();
        fs.add("/t/kustomization.yaml", *k);
        fs.add("/t/dep.yaml", DEP);
        fs.add("/outside.yaml", DEP);
        let e = build_yaml(&fs, Path::new("/t"), &Options::default())
            .expect_err(k)
            .to_string();
        assert!(e.starts_with(want), "{k}\n{e}");
    }
}

/// A JSON patch runs on the object with kustomize's build annotations (previous names, kinds, namespaces) in place: copying them shows them.
#[test]
fn json_patches_see_kustomizes_build_annotations() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [base]
namePrefix: x-
patches:
- target: {kind: Deployment}
  patch: |-
    - op: copy
      from: /metadata/annotations
      path: /spec/copied
"#,
        ),
        ("base/dep.yaml", DEP),
        (
            "base/kustomization.yaml",
            r#"resources: [dep.yaml]
"#,
        ),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: x-web
spec:
  copied:
    internal.config.kubernetes.io/previousKinds: Deployment
    internal.config.kubernetes.io/previousNames: web
    internal.config.kubernetes.io/previousNamespaces: default
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
          value: "1"
        - name: E2
          value: "2"
        image: a:1
        name: a
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}

/// patchesStrategicMerge, targeted and untargeted `patches` (a rename with allowNameChange, a custom resource), patchesJson6902 after the rename.
#[test]
fn every_patch_kind_in_one_overlay() {
    let out = build(&[
        ("kustomization.yaml", r#"resources:
- r.yaml
patchesStrategicMerge:
- smp.yaml
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - name: c
            $patch: delete
          - name: d
            image: d:1
          volumes:
          - $patch: replace
- target:
    kind: Deployment
    name: w.*
    labelSelector: app in (web),!x
  patch: |-
    - op: add
      path: /metadata/annotations/a~1b
      value: "1"
    - op: copy
      from: /spec/template
      path: /spec/t2
    - op: move
      from: /spec/t2
      path: /spec/t3
    - op: remove
      path: /spec/t3
- path: rename.yaml
  target:
    kind: ConfigMap
  options:
    allowNameChange: true
- path: widget.yaml
patchesJson6902:
- target: {version: v1, kind: ConfigMap, name: cfg}
  patch: '[{"op": "test", "path": "/data/a", "value": "1"}, {"op": "add", "path": "/data/b", "value": null}]'
"#),
        ("r.yaml", r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  template:
    spec:
      containers:
      - name: c
        image: nginx:1
        ports:
        - containerPort: 80
      volumes:
      - name: v
        emptyDir: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  gone: x
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  list: [1, 2]
  map: {y: 2}
"#),
        ("rename.yaml", r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg2
"#),
        ("smp.yaml", r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
  gone: null
"#),
        ("widget.yaml", r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  list: [3]
  map: {$patch: replace, x: 1}
"#),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: v1
data:
  a: "1"
  b: null
kind: ConfigMap
metadata:
  name: cfg2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    a/b: "1"
  labels:
    app: web
  name: web
spec:
  template:
    spec:
      containers:
      - image: d:1
        name: d
      volumes: []
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  list:
  - 3
  map:
    x: 1
"#
    );
}

/// Seed 004's trap: a patch naming the namespace the overlay sets matches
/// nothing (patches run before the namespace); kustomize's message, and a
/// hint.
#[test]
fn a_patch_naming_the_overlays_own_namespace_gets_a_hint() {
    let mut fs = MemFs::new();
    fs.add("/t/base/kustomization.yaml", "resources: [dep.yaml]\n");
    fs.add("/t/base/dep.yaml", DEP);
    fs.add(
        "/t/prod/kustomization.yaml",
        "resources: [../base]\nnamespace: prod\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    \
         kind: Deployment\n    metadata:\n      name: web\n      namespace: prod\n",
    );
    let e = build_yaml(&fs, Path::new("/t/prod"), &Options::default())
        .expect_err("kustomize 5.6 rejects it")
        .to_string();
    assert!(
        e.starts_with(
            "/t/prod/kustomization.yaml: no resource matches strategic merge patch \
             \"Deployment.v1.apps/web.prod\""
        ),
        "{e}"
    );
    assert!(e.contains("hint: the patch names namespace 'prod'"), "{e}");
    // Without the namespace in the patch, it applies.
    fs.add(
        "/t/prod/kustomization.yaml",
        "resources: [../base]\nnamespace: prod\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    \
         kind: Deployment\n    metadata:\n      name: web\n    spec:\n      replicas: 2\n",
    );
    let out = build_yaml(&fs, Path::new("/t/prod"), &Options::default()).expect("builds");
    assert!(
        out.contains("namespace: prod\n") && out.contains("replicas: 2\n"),
        "{out}"
    );
}

/// List elements without their merge key, as kyaml treats them.
#[test]
fn elements_without_their_merge_key() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml]
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - image: nameless
          volumes:
          - name: v9
          - emptyDir: {}
"#,
        ),
        ("dep.yaml", DEP),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers: []
      finalizers:
      - a
      - b
      volumes:
      - name: v9
"#
    );
}

/// Ports keyed by containerPort and protocol, env entries merged by name (a null value deletes it).
#[test]
fn two_key_ports_and_env_values_merge() {
    let out = build(&[
        (
            "kustomization.yaml",
            r#"resources: [dep.yaml]
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          containers:
          - name: a
            ports:
            - containerPort: 80
              name: http
            - containerPort: 9000
              protocol: UDP
            env:
            - name: E1
              value: null
            - name: E2
              valueFrom:
                fieldRef: {fieldPath: x}
"#,
        ),
        ("dep.yaml", DEP),
    ])
    .expect("builds");
    assert_eq!(
        out,
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - x
        - "y"
        env:
        - name: E1
        - name: E2
          value: "2"
          valueFrom:
            fieldRef:
              fieldPath: x
        image: a:1
        name: a
        ports:
        - containerPort: 9000
          protocol: UDP
        - containerPort: 80
          protocol: TCP
        - containerPort: 81
      - image: b:1
        name: b
      finalizers:
      - a
      - b
      volumes:
      - emptyDir: {}
        name: v1
      - configMap:
          name: cm
        name: v2
"#
    );
}
