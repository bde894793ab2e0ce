//! `cargo bench -p ferroflux --bench versus-helm-template`: `ferroflux helm
//! template` against Helm v4.2.4's `helm template` (`FERROFLUX_HELM`, built
//! from the Go module proxy by `.ci/setup.d/56-helm.sh`), whole processes
//! on the same chart directory, in one run.
//!
//! The chart has ingress-nginx's shape and size (issue 18: about 40
//! templates, a subchart, many helpers): a `_helpers.tpl` of 24 defines
//! (names, labels, images, probes), 40 templates of the kinds
//! ingress-nginx renders (Deployments, Services, RBAC, webhooks, Jobs as
//! hooks, ConfigMaps, PDBs, HPAs, NetworkPolicies), each built from
//! `include`, `toYaml | nindent`, `with`, `range` over maps and lists,
//! `tpl` and `printf`, over a values.yaml of about 400 lines; and a
//! `metrics` subchart with its own helpers, templates and globals.
//! `FERROFLUX_BENCH_CHART=DIR` benches another chart directory instead
//! (ingress-nginx's own, for instance).
//!
//! Figures: whether both print the same bytes; then, over 100 runs each
//! (`FERROFLUX_BENCH_RUNS`) in interleaved rounds of 25, each process
//! spawned directly with its output to a file: the median wall time, the
//! CPU time per run (user + system, from the kernel's account of reaped
//! children, which a busy machine inflates less than wall time), and the
//! peak resident memory of a few more runs under GNU time (`%M`); and the
//! ratios. Goal (issue 18): at least 5x faster than `helm template`, a
//! fraction of its memory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

const HELPERS: &str = r#"{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "app.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "app.labels" -}}
helm.sh/chart: {{ include "app.chart" . }}
{{ include "app.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/part-of: {{ template "app.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "app.image" -}}
{{- $registry := .registry | default "registry.k8s.io" -}}
{{- if .digest -}}
{{- printf "%s/%s:%s@%s" $registry .image .tag .digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $registry .image .tag -}}
{{- end -}}
{{- end -}}

{{- define "app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "app.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{- define "app.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
  scheme: HTTP
initialDelaySeconds: {{ .initialDelaySeconds | default 10 }}
periodSeconds: {{ .periodSeconds | default 10 }}
timeoutSeconds: {{ .timeoutSeconds | default 1 }}
successThreshold: 1
failureThreshold: {{ .failureThreshold | default 3 }}
{{- end -}}

{{- define "app.containerPorts" -}}
{{- range $key, $value := .Values.containerPort }}
- name: {{ $key }}
  containerPort: {{ $value }}
  protocol: TCP
{{- end }}
{{- end -}}

{{- define "app.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- range $k, $v := .Values.extraEnv }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "app.securityContext" -}}
runAsNonRoot: {{ .runAsNonRoot }}
runAsUser: {{ .runAsUser }}
allowPrivilegeEscalation: {{ .allowPrivilegeEscalation }}
seccompProfile:
  type: {{ .seccompProfile | default "RuntimeDefault" }}
capabilities:
  drop:
  - ALL
  {{- with .addCapabilities }}
  add:
  {{- toYaml . | nindent 2 }}
  {{- end }}
readOnlyRootFilesystem: {{ .readOnlyRootFilesystem }}
{{- end -}}

{{- define "app.annotations" -}}
{{- $all := merge (dict) (.extra | default dict) (.common | default dict) -}}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "app.resources" -}}
{{- with . }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "app.component.name" -}}
{{- printf "%s-%s" (include "app.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "app.component.labels" -}}
{{ include "app.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "app.component.selector" -}}
{{ include "app.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "app.tolerations" -}}
{{- with .Values.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "app.affinity" -}}
{{- with .Values.affinity }}
affinity:
  {{- tpl (toYaml .) $ | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "app.nodeSelector" -}}
nodeSelector:
  {{- toYaml .Values.nodeSelector | nindent 2 }}
{{- end -}}

{{- define "app.topology" -}}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- tpl (toYaml .) $ | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "app.volumes" -}}
volumes:
  - name: config
    configMap:
      name: {{ include "app.fullname" . }}
  {{- range .Values.extraVolumes }}
  - name: {{ .name }}
    emptyDir: {}
  {{- end }}
{{- end -}}

{{- define "app.mounts" -}}
volumeMounts:
  - name: config
    mountPath: /etc/app
  {{- range .Values.extraVolumes }}
  - name: {{ .name }}
    mountPath: {{ .mountPath }}
  {{- end }}
{{- end -}}

{{- define "app.args" -}}
args:
  - /app
  - --election-id={{ include "app.fullname" . }}-leader
  - --configmap={{ include "app.namespace" . }}/{{ include "app.fullname" . }}
  {{- range $key, $value := .Values.extraArgs }}
  {{- if $value }}
  - --{{ $key }}={{ tpl (toString $value) $ }}
  {{- else }}
  - --{{ $key }}
  {{- end }}
  {{- end }}
{{- end -}}
"#;

/// One component's workload: a Deployment (or DaemonSet) with everything
/// a controller Deployment of ingress-nginx carries.
fn workload(component: &str, kind: &str) -> String {
    format!(
        r#"{{{{- $c := index .Values.components "{component}" -}}}}
{{{{- if $c.enabled }}}}
apiVersion: apps/v1
kind: {kind}
metadata:
  name: {{{{ include "app.component.name" (dict "root" . "component" "{component}") }}}}
  namespace: {{{{ include "app.namespace" . }}}}
  labels:
    {{{{- include "app.component.labels" (dict "root" . "component" "{component}") | nindent 4 }}}}
  {{{{- include "app.annotations" (dict "extra" $c.annotations "common" .Values.commonAnnotations) | nindent 2 }}}}
spec:
  {{{{- if eq "{kind}" "Deployment" }}}}
  replicas: {{{{ $c.replicas }}}}
  {{{{- end }}}}
  revisionHistoryLimit: {{{{ .Values.revisionHistoryLimit }}}}
  selector:
    matchLabels:
      {{{{- include "app.component.selector" (dict "root" . "component" "{component}") | nindent 6 }}}}
  template:
    metadata:
      labels:
        {{{{- include "app.component.labels" (dict "root" . "component" "{component}") | nindent 8 }}}}
      {{{{- with .Values.podAnnotations }}}}
      annotations:
        {{{{- range $key, $value := . }}}}
        {{{{ $key }}}}: {{{{ $value | quote }}}}
        {{{{- end }}}}
      {{{{- end }}}}
    spec:
      serviceAccountName: {{{{ include "app.serviceAccountName" . }}}}
      {{{{- include "app.tolerations" . | nindent 6 }}}}
      {{{{- include "app.affinity" . | nindent 6 }}}}
      {{{{- include "app.topology" . | nindent 6 }}}}
      {{{{- include "app.nodeSelector" . | nindent 6 }}}}
      terminationGracePeriodSeconds: {{{{ $c.terminationGracePeriodSeconds | default 300 }}}}
      containers:
        - name: {{{{ "{component}" }}}}
          image: {{{{ include "app.image" $c.image | quote }}}}
          imagePullPolicy: {{{{ $c.image.pullPolicy }}}}
          {{{{- include "app.args" . | nindent 10 }}}}
          securityContext:
            {{{{- include "app.securityContext" .Values.securityContext | nindent 12 }}}}
          env:
            {{{{- include "app.env" . | nindent 12 }}}}
          livenessProbe:
            {{{{- include "app.probe" $c.livenessProbe | nindent 12 }}}}
          readinessProbe:
            {{{{- include "app.probe" $c.readinessProbe | nindent 12 }}}}
          ports:
            {{{{- include "app.containerPorts" . | nindent 12 }}}}
          {{{{- include "app.mounts" . | nindent 10 }}}}
          {{{{- include "app.resources" $c.resources | nindent 10 }}}}
      {{{{- include "app.volumes" . | nindent 6 }}}}
{{{{- end }}}}
"#
    )
}

fn small(kind: &str, api: &str, component: &str, body: &str) -> String {
    format!(
        r#"{{{{- $c := index .Values.components "{component}" -}}}}
{{{{- if $c.enabled }}}}
apiVersion: {api}
kind: {kind}
metadata:
  name: {{{{ include "app.component.name" (dict "root" . "component" "{component}") }}}}
  namespace: {{{{ include "app.namespace" . }}}}
  labels:
    {{{{- include "app.component.labels" (dict "root" . "component" "{component}") | nindent 4 }}}}
{body}
{{{{- end }}}}
"#
    )
}

const COMPONENTS: &[&str] = &[
    "controller",
    "admission",
    "backend",
    "metrics",
    "scheduler",
    "webhook",
];

fn chart(root: &Path) -> PathBuf {
    let dir = root.join("big");
    write(
        &dir,
        "Chart.yaml",
        "apiVersion: v2\nname: big\nversion: 4.15.1\nappVersion: 1.15.1\nkubeVersion: '>=1.21.0-0'\n\
         description: A chart in ingress-nginx's shape and size\ndependencies:\n  - name: metrics\n    \
         version: 1.x\n    condition: metrics.enabled\n",
    );
    let mut values = String::from(
        "nameOverride: \"\"\nfullnameOverride: \"\"\nnamespaceOverride: \"\"\nrevisionHistoryLimit: 10\n\
         commonLabels:\n  team: edge\n  tier: frontend\ncommonAnnotations:\n  owner: platform\n\
         podAnnotations:\n  prometheus.io/scrape: \"true\"\n  prometheus.io/port: \"10254\"\n\
         serviceAccount:\n  create: true\n  name: \"\"\n\
         securityContext:\n  runAsNonRoot: true\n  runAsUser: 101\n  allowPrivilegeEscalation: false\n  \
         readOnlyRootFilesystem: false\n  addCapabilities:\n  - NET_BIND_SERVICE\n\
         containerPort:\n  http: 80\n  https: 443\n  metrics: 10254\n  webhook: 8443\n\
         extraEnv:\n  LOG_LEVEL: info\n  FEATURE_X: \"on\"\n  TIMEOUT: \"30\"\n\
         extraArgs:\n  v: 2\n  enable-ssl-passthrough: \"\"\n  default-ssl-certificate: \"{{ .Release.Namespace }}/tls\"\n\
         extraVolumes:\n  - name: cache\n    mountPath: /var/cache\n  - name: tmp\n    mountPath: /tmp\n\
         tolerations:\n  - key: dedicated\n    operator: Equal\n    value: edge\n    effect: NoSchedule\n\
         affinity:\n  podAntiAffinity:\n    preferredDuringSchedulingIgnoredDuringExecution:\n    \
         - weight: 100\n      podAffinityTerm:\n        labelSelector:\n          matchLabels:\n            \
         app.kubernetes.io/instance: '{{ .Release.Name }}'\n        topologyKey: kubernetes.io/hostname\n\
         topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: topology.kubernetes.io/zone\n    \
         whenUnsatisfiable: ScheduleAnyway\n\
         nodeSelector:\n  kubernetes.io/os: linux\n\
         metrics:\n  enabled: true\n  interval: 30s\n\
         global:\n  image:\n    registry: registry.k8s.io\n\ncomponents:\n",
    );
    for (i, c) in COMPONENTS.iter().enumerate() {
        let _ = write!(
            values,
            "  {c}:\n    enabled: true\n    replicas: {r}\n    annotations:\n      component: {c}\n    \
             image:\n      registry: registry.k8s.io\n      image: ingress-nginx/{c}\n      tag: v1.15.{i}\n      \
             digest: sha256:{d:064x}\n      pullPolicy: IfNotPresent\n    livenessProbe:\n      path: /healthz\n      \
             port: 10254\n      failureThreshold: 5\n    readinessProbe:\n      path: /ready\n      port: 10254\n    \
             resources:\n      requests:\n        cpu: 100m\n        memory: 90Mi\n      limits:\n        \
             memory: 512Mi\n    service:\n      type: ClusterIP\n      ports:\n        http: 80\n        https: 443\n    \
             config:\n      keep-alive: \"75\"\n      proxy-body-size: 8m\n      use-forwarded-headers: \"true\"\n      \
             log-format-upstream: '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"'\n",
            r = i % 3 + 1,
            d = i + 1
        );
    }
    write(&dir, "values.yaml", &values);
    write(&dir, "templates/_helpers.tpl", HELPERS);
    let mut n = 0;
    for c in COMPONENTS {
        let kind = if *c == "backend" {
            "DaemonSet"
        } else {
            "Deployment"
        };
        write(
            &dir,
            &format!("templates/{c}-workload.yaml"),
            &workload(c, kind),
        );
        let svc = format!(
            "spec:\n  type: {{{{ $c.service.type }}}}\n  ports:\n  {{{{- range $name, $port := $c.service.ports }}}}\n    \
             - name: {{{{ $name }}}}\n      port: {{{{ $port }}}}\n      targetPort: {{{{ $name }}}}\n  {{{{- end }}}}\n  \
             selector:\n    {{{{- include \"app.component.selector\" (dict \"root\" . \"component\" \"{c}\") | nindent 4 }}}}"
        );
        write(
            &dir,
            &format!("templates/{c}-service.yaml"),
            &small("Service", "v1", c, &svc),
        );
        let cm = "data:\n  {{- range $k, $v := $c.config }}\n  {{ $k }}: {{ $v | quote }}\n  {{- end }}\n  \
                  values.yaml: |\n    {{- toYaml $c | nindent 4 }}";
        write(
            &dir,
            &format!("templates/{c}-configmap.yaml"),
            &small("ConfigMap", "v1", c, cm),
        );
        let pdb = format!(
            "spec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      {{{{- include \"app.component.selector\" (dict \"root\" . \"component\" \"{c}\") | nindent 6 }}}}"
        );
        write(
            &dir,
            &format!("templates/{c}-pdb.yaml"),
            &small("PodDisruptionBudget", "policy/v1", c, &pdb),
        );
        let hpa = format!(
            "spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {{{{ include \"app.component.name\" (dict \"root\" . \"component\" \"{c}\") }}}}\n  \
             minReplicas: {{{{ $c.replicas }}}}\n  maxReplicas: {{{{ mul $c.replicas 10 }}}}\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: 80"
        );
        write(
            &dir,
            &format!("templates/{c}-hpa.yaml"),
            &small("HorizontalPodAutoscaler", "autoscaling/v2", c, &hpa),
        );
        n += 5;
    }
    let rbac = [
        (
            "clusterrole.yaml",
            "ClusterRole",
            "rbac.authorization.k8s.io/v1",
            "rules:\n  - apiGroups: [\"\"]\n    resources: [configmaps, endpoints, nodes, pods, secrets, namespaces]\n    verbs: [list, watch]\n  - apiGroups: [networking.k8s.io]\n    resources: [ingresses, ingressclasses]\n    verbs: [get, list, watch]",
        ),
        (
            "clusterrolebinding.yaml",
            "ClusterRoleBinding",
            "rbac.authorization.k8s.io/v1",
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {{ include \"app.fullname\" . }}\nsubjects:\n  - kind: ServiceAccount\n    name: {{ include \"app.serviceAccountName\" . }}\n    namespace: {{ include \"app.namespace\" . }}",
        ),
        (
            "role.yaml",
            "Role",
            "rbac.authorization.k8s.io/v1",
            "rules:\n  - apiGroups: [coordination.k8s.io]\n    resources: [leases]\n    verbs: [get, update, create]",
        ),
        (
            "rolebinding.yaml",
            "RoleBinding",
            "rbac.authorization.k8s.io/v1",
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {{ include \"app.fullname\" . }}\nsubjects:\n  - kind: ServiceAccount\n    name: {{ include \"app.serviceAccountName\" . }}",
        ),
        (
            "serviceaccount.yaml",
            "ServiceAccount",
            "v1",
            "automountServiceAccountToken: true",
        ),
        (
            "networkpolicy.yaml",
            "NetworkPolicy",
            "networking.k8s.io/v1",
            "spec:\n  podSelector:\n    matchLabels:\n      {{- include \"app.selectorLabels\" . | nindent 6 }}\n  ingress:\n    - ports:\n      {{- range $k, $v := .Values.containerPort }}\n        - port: {{ $v }}\n      {{- end }}",
        ),
        (
            "ingressclass.yaml",
            "IngressClass",
            "networking.k8s.io/v1",
            "spec:\n  controller: k8s.io/ingress-nginx",
        ),
        (
            "validatingwebhook.yaml",
            "ValidatingWebhookConfiguration",
            "admissionregistration.k8s.io/v1",
            "webhooks:\n  - name: validate.nginx.ingress.kubernetes.io\n    matchPolicy: Equivalent\n    rules:\n      - apiGroups: [networking.k8s.io]\n        apiVersions: [v1]\n        operations: [CREATE, UPDATE]\n        resources: [ingresses]\n    failurePolicy: Fail\n    sideEffects: None\n    admissionReviewVersions: [v1]\n    clientConfig:\n      service:\n        name: {{ include \"app.fullname\" . }}-admission\n        namespace: {{ include \"app.namespace\" . }}\n        path: /networking/v1/ingresses",
        ),
        (
            "job-create-secret.yaml",
            "Job",
            "batch/v1",
            "  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\nspec:\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n        - name: create\n          image: {{ include \"app.image\" .Values.components.admission.image }}\n          args: [create, --host={{ include \"app.fullname\" . }}-admission,{{ include \"app.fullname\" . }}-admission.$(POD_NAMESPACE).svc]\n          env:\n            {{- include \"app.env\" . | nindent 12 }}",
        ),
        (
            "job-patch-webhook.yaml",
            "Job",
            "batch/v1",
            "  annotations:\n    helm.sh/hook: post-install,post-upgrade\n    helm.sh/hook-weight: \"5\"\nspec:\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n        - name: patch\n          image: {{ include \"app.image\" .Values.components.admission.image }}",
        ),
    ];
    for (file, kind, api, body) in rbac {
        let text = format!(
            "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {{{{ include \"app.fullname\" . }}}}\n  labels:\n    \
             {{{{- include \"app.labels\" . | nindent 4 }}}}\n{body}\n"
        );
        write(&dir, &format!("templates/{file}"), &text);
        n += 1;
    }
    write(
        &dir,
        "templates/NOTES.txt",
        "The controller has been installed.\n{{- range $c, $v := .Values.components }}\n  {{ $c }}: {{ $v.image.tag }}\n{{- end }}\n",
    );
    assert!(n >= 40, "{n} templates");
    let m = dir.join("charts/metrics");
    write(
        &m,
        "Chart.yaml",
        "apiVersion: v2\nname: metrics\nversion: 1.2.0\n",
    );
    write(
        &m,
        "values.yaml",
        "enabled: false\ninterval: 60s\nrules:\n  - alert: HighLatency\n    expr: histogram_quantile(0.99, rate(nginx_ingress_controller_request_duration_seconds_bucket[5m])) > 1\n    for: 10m\n  - alert: Errors\n    expr: rate(nginx_ingress_controller_requests{status=~\"5..\"}[5m]) > 0.1\n    for: 5m\n",
    );
    write(
        &m,
        "templates/_helpers.tpl",
        "{{- define \"metrics.name\" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}\n",
    );
    write(
        &m,
        "templates/servicemonitor.yaml",
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: {{ include \"metrics.name\" . }}\n  labels:\n    {{- include \"app.labels\" . | nindent 4 }}\nspec:\n  endpoints:\n    - port: metrics\n      interval: {{ .Values.interval }}\n  namespaceSelector:\n    matchNames: [{{ .Release.Namespace }}]\n",
    );
    write(
        &m,
        "templates/prometheusrule.yaml",
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: {{ include \"metrics.name\" . }}\nspec:\n  groups:\n    - name: {{ include \"metrics.name\" . }}\n      rules:\n        {{- toYaml .Values.rules | nindent 8 }}\n    - name: registry\n      rules:\n        - record: registry\n          expr: vector(1)\n          labels:\n            registry: {{ .Values.global.image.registry }}\n",
    );
    dir
}

struct Run {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
    rss_kib: u64,
}

/// The environment of every run: an empty home, no kubeconfig.
fn sandbox(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("KUBECONFIG", home.join("none"));
}

/// One whole process under GNU time, for its output and peak RSS (`%M`).
fn run(cmd: &[&str], home: &Path) -> Run {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let mut c = Command::new("/usr/bin/time");
    c.arg("-f").arg("%M").arg("-o").arg(report.path()).args(cmd);
    sandbox(&mut c, home);
    let out = c.output().expect("GNU time runs (Debian package `time`)");
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    Run {
        ok: out.status.success(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        rss_kib: text
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0),
    }
}

/// The CPU time of this process's reaped children so far (user +
/// system, `cutime` + `cstime` of `/proc/self/stat`), in seconds. The
/// kernel keeps it in nanoseconds and reports it in clock ticks (1/100 s),
/// so a batch's difference is exact to a tick.
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The fields after the command name (which may hold spaces) start at
    // field 3; cutime and cstime are fields 16 and 17.
    let rest = &stat[stat.rfind(')').expect("stat has a command") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f[i].parse::<f64>().expect("a tick count") / 100.0;
    tick(13) + tick(14)
}

/// `runs` whole processes one after the other, each spawned directly
/// (output to a file, nothing in between that both sides would pay):
/// their wall times, and the CPU seconds of all of them.
fn measure(cmd: &[&str], home: &Path, runs: usize) -> (Vec<Duration>, f64) {
    let out = tempfile::tempfile().expect("temp file");
    let mut walls = Vec::with_capacity(runs);
    let cpu = children_cpu();
    for _ in 0..runs {
        let mut c = Command::new(cmd[0]);
        c.args(&cmd[1..])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(Stdio::null());
        sandbox(&mut c, home);
        let start = Instant::now();
        let status = c.status().expect("the command starts");
        walls.push(start.elapsed());
        assert!(status.success(), "{} failed", cmd.join(" "));
    }
    (walls, children_cpu() - cpu)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let helm = std::env::var("FERROFLUX_HELM").unwrap_or_default();
    assert!(
        Path::new(&helm).is_file(),
        "FERROFLUX_HELM is not a built helm: source .ci/setup.d/56-helm.sh"
    );
    let ferroflux = env!("CARGO_BIN_EXE_ferroflux");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = match std::env::var_os("FERROFLUX_BENCH_CHART") {
        Some(d) => PathBuf::from(d),
        None => chart(tmp.path()),
    };
    let dir_s = dir.display().to_string();
    let ours = [
        ferroflux,
        "helm",
        "template",
        "rel",
        dir_s.as_str(),
        "-n",
        "edge",
    ];
    let theirs = [
        helm.as_str(),
        "template",
        "rel",
        dir_s.as_str(),
        "-n",
        "edge",
    ];
    let home = tempfile::tempdir().expect("temp home");
    let a = run(&ours, home.path());
    let b = run(&theirs, home.path());
    let same = a.ok && b.ok && a.stdout == b.stdout;
    println!(
        "chart {}: helm prints {} bytes; ferroflux {}",
        dir.display(),
        b.stdout.len(),
        if same {
            "prints the same bytes".to_string()
        } else if !a.ok {
            format!("fails: {}", a.stderr.trim())
        } else {
            "prints DIFFERENT bytes".to_string()
        }
    );
    assert!(a.ok && b.ok, "both render the chart");
    let runs: usize = std::env::var("FERROFLUX_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100);
    // Interleaved rounds of 25, so that a change in the machine's load
    // falls on both sides alike; a round is long enough that its CPU
    // figure is exact to 0.4 ms a run.
    const ROUND: usize = 25;
    let (mut wf, mut wh) = (Vec::new(), Vec::new());
    let (mut cf, mut ch) = (0.0, 0.0);
    for _ in 0..(runs / ROUND).max(1) {
        let (t, c) = measure(&ours, home.path(), ROUND);
        wf.extend(t);
        cf += c;
        let (t, c) = measure(&theirs, home.path(), ROUND);
        wh.extend(t);
        ch += c;
    }
    wf.sort();
    wh.sort();
    // Peak memory: the largest of a few runs under GNU time (not timed).
    let (mut mf, mut mh) = (a.rss_kib, b.rss_kib);
    for _ in 0..4 {
        mf = mf.max(run(&ours, home.path()).rss_kib);
        mh = mh.max(run(&theirs, home.path()).rss_kib);
    }
    let median = |w: &[Duration]| w[w.len() / 2];
    let (tf, th) = (median(&wf), median(&wh));
    // Both sides ran the same number of rounds.
    let n = wf.len() as f64;
    println!("| contender | median wall | CPU per run (user+sys) | peak RSS |");
    println!("|---|---|---|---|");
    println!(
        "| ferroflux helm template | {:.1} ms | {:.1} ms | {:.1} MiB |",
        tf.as_secs_f64() * 1e3,
        cf / n * 1e3,
        mf as f64 / 1024.0
    );
    println!(
        "| helm template (v4.2.4) | {:.1} ms | {:.1} ms | {:.1} MiB |",
        th.as_secs_f64() * 1e3,
        ch / n * 1e3,
        mh as f64 / 1024.0
    );
    println!(
        "ferroflux is {:.1}x faster (wall), {:.1}x less CPU, {:.2} of helm's memory (goal: >= 5x, a fraction)",
        th.as_secs_f64() / tf.as_secs_f64(),
        ch / cf.max(1e-9),
        mf as f64 / mh.max(1) as f64
    );
}
