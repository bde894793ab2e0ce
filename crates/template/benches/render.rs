//! Rendering cost of typical commit templates: Flux's ResultV2 example over a
//! run with many changes, the seeds' legacy `.Updated.Images` form, and a
//! sprig-heavy one. (Commit messages are rendered once per push, so these
//! are far from any bottleneck; the figures guard against regressions.)

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_template::{
    ApiVersion, AutomationRef, Change, FuncMap, LatestRef, ObjectRef, RenderOptions, Set,
    TemplateData, Value, render,
};

const RESULT_V2: &str = "Automation: {{ .AutomationObject }}\n\n{{ range $filename, $objchange := .Changed.FileChanges -}}\n- File: {{ $filename }}\n{{- range $obj, $changes := $objchange }}\n  - Object: {{ $obj.Kind }}/{{ $obj.Namespace }}/{{ $obj.Name }}\n    Changes:\n{{- range $_ , $change := $changes }}\n    - {{ $change.OldValue }} -> {{ $change.NewValue }}\n{{ end -}}\n{{ end -}}\n{{ end -}}\n";
const LEGACY: &str = "auto: update {{ .AutomationObject }} image\n{{ range .Updated.Images -}}\n- {{ . }} ({{ .Policy.Name }})\n{{ end -}}\n";
const SPRIG: &str = "{{ $l := list }}{{ range .Changed.Changes }}{{ $l = append $l (.NewValue | trimPrefix \"myorg/\") }}{{ end }}{{ join \", \" ($l | uniq | sortAlpha) | trunc 72 }}\n{{ .Changed.Changes | toJson | sha256sum | trunc 12 }}";

fn data(n: usize) -> TemplateData {
    let mut policies = BTreeMap::new();
    let mut changes = Vec::new();
    for i in 0..n {
        policies.insert(
            format!("flux-system/app{i}"),
            LatestRef {
                name: format!("myorg/app{i}"),
                tag: "1.0.1".into(),
                digest: String::new(),
            },
        );
        changes.push(Change {
            file: format!("apps/app{}/deploy.yaml", i % 20),
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: format!("app{i}"),
                namespace: "prod".into(),
            },
            old_value: format!("myorg/app{i}:1.0.0"),
            new_value: format!("myorg/app{i}:1.0.1"),
            setter: format!("flux-system:app{i}"),
        });
    }
    TemplateData {
        automation: AutomationRef {
            name: "apps".into(),
            namespace: "flux-system".into(),
        },
        values: None,
        policies,
        changes,
    }
}

fn bench(c: &mut Criterion) {
    let opts = RenderOptions {
        api_version: ApiVersion::V1beta2,
    };
    for n in [1, 100] {
        let d = data(n);
        c.bench_function(&format!("result_v2/{n}_changes"), |b| {
            b.iter(|| render(black_box(RESULT_V2), black_box(&d), opts))
        });
        c.bench_function(&format!("legacy_updated_images/{n}_changes"), |b| {
            b.iter(|| render(black_box(LEGACY), black_box(&d), opts))
        });
        c.bench_function(&format!("sprig/{n}_changes"), |b| {
            b.iter(|| render(black_box(SPRIG), black_box(&d), opts))
        });
    }
}

/// A chart of ingress-nginx's shape: helpers with nested includes, 40
/// templates of a few hundred nodes each, over values of floats, lists and
/// maps; parsed and executed as Helm's engine does for one render.
const HELPERS: &str = include_str!("chart/_helpers.tpl");

const TEMPLATE: &str = include_str!("chart/deployment.yaml");

fn helm_values() -> Value {
    let mut env = Vec::new();
    for i in 0..20 {
        env.push(serde_json::json!({"name": format!("var_{i}"), "value": i as f64 * 1.5}));
    }
    let mut args = serde_json::Map::new();
    for i in 0..20 {
        args.insert(format!("flag-{i}"), serde_json::json!(format!("value-{i}")));
    }
    let j = serde_json::json!({
        "Values": {
            "component": "controller",
            "replicaCount": 3.0,
            "image": {"repository": "registry.k8s.io/ingress-nginx/controller", "tag": ""},
            "extraArgs": args,
            "env": env,
            "ports": [{"name": "http", "port": 80.0}, {"name": "https", "port": 443.0}, {"name": "metrics", "port": 10254.0}],
            "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "commonLabels": {"team": "edge"},
        },
        "Release": {"Name": "ingress", "Namespace": "default", "Service": "Helm"},
        "Chart": {"Name": "ingress-nginx", "Version": "4.11.0", "AppVersion": "1.11.0"},
    });
    Value::from_json(&j)
}

fn helm_chart(c: &mut Criterion) {
    let funcs = std::rc::Rc::new({
        let mut f = FuncMap::helm();
        f.insert(
            "toJson",
            ferroflux_template::Signature::new(&[ferroflux_template::Param::Any]),
            |a| Ok(Value::str(a[0].to_json_string().unwrap_or_default())),
        );
        f
    });
    let dot = helm_values();
    let names: Vec<String> = (0..40)
        .map(|i| format!("c/templates/t{i:02}.yaml"))
        .collect();
    c.bench_function("helm_chart/40_templates", |b| {
        b.iter(|| {
            let mut set = Set::with_funcs(
                "gotpl",
                std::rc::Rc::clone(&funcs),
                ferroflux_template::Options::HELM,
            );
            set.parse("c/templates/_helpers.tpl", HELPERS)
                .expect("parse");
            for n in &names {
                set.parse(n, TEMPLATE).expect("parse");
            }
            let mut total = 0;
            for n in &names {
                total += set.execute(n, black_box(&dot)).expect("render").len();
            }
            total
        })
    });
}

criterion_group!(benches, bench, helm_chart);
criterion_main!(benches);
