//! Rendering cost of typical commit templates: Flux's ResultV2 example over a
//! run with many changes, the seeds' legacy `.Updated.Images` form, and a
//! sprig-heavy one. (Commit messages are rendered once per push, so these
//! are far from any bottleneck; the figures guard against regressions.)

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferroflux_template::{
    ApiVersion, AutomationRef, Change, LatestRef, ObjectRef, RenderOptions, TemplateData, render,
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

criterion_group!(benches, bench);
criterion_main!(benches);
