//! The facts of kstatus's own cases (cli-utils `status_compute_test.go`)
//! and of Flux's Job reader (`pkg/runtime/statusreaders/job_test.go`),
//! written here as small objects: kind, a few status fields, the status
//! and message kstatus computes.

use super::*;

fn now() -> Timestamp {
    "2026-12-06T00:00:00Z".parse().expect("timestamp")
}

fn check(name: &str, yaml: &str, status: Status, message: &str) {
    let obj: Value = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
    let got = compute(&obj, now());
    assert_eq!(
        (got.status, got.message.as_str()),
        (status, message),
        "case {name}"
    );
}

const CASES: &[(&str, &str, Status, &str)] = &[
    // Generic pre-checks.
    (
        "terminating",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {deletionTimestamp: '2026-12-05T00:00:00Z'}",
        Status::Terminating,
        "Resource scheduled for deletion",
    ),
    (
        "generation not observed",
        "apiVersion: example.com/v1\nkind: Foo\nmetadata: {generation: 2}\nstatus: {observedGeneration: 1}",
        Status::InProgress,
        "Foo generation is 2, but latest observed generation is 1",
    ),
    (
        "reconciling true",
        "apiVersion: example.com/v1\nkind: Foo\nstatus: {conditions: [{type: Reconciling, status: 'True', reason: Busy, message: working}]}",
        Status::InProgress,
        "working",
    ),
    (
        "stalled true",
        "apiVersion: example.com/v1\nkind: Foo\nstatus: {conditions: [{type: Stalled, status: 'True', reason: Bad, message: broken}]}",
        Status::Failed,
        "broken",
    ),
    (
        "ready true",
        "apiVersion: example.com/v1\nkind: Foo\nstatus: {conditions: [{type: Ready, status: 'True'}]}",
        Status::Current,
        "Resource is Ready",
    ),
    (
        "ready false is in progress, not failed",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nstatus: {conditions: [{type: Ready, status: 'False', reason: BuildFailed, message: build failed}]}",
        Status::InProgress,
        "build failed",
    ),
    (
        "ready unknown",
        "apiVersion: example.com/v1\nkind: Foo\nstatus: {conditions: [{type: Ready, status: Unknown, message: wait}]}",
        Status::InProgress,
        "wait",
    ),
    (
        "no ready condition",
        "apiVersion: example.com/v1\nkind: Foo\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1}",
        Status::Current,
        "Resource is current",
    ),
    (
        "namespace",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\nstatus: {phase: Active}",
        Status::Current,
        "Resource is current",
    ),
    (
        "conditions not a list",
        "apiVersion: example.com/v1\nkind: Foo\nstatus: {conditions: oops}",
        Status::Unknown,
        "status.conditions is not a list",
    ),
    (
        "generation not an integer",
        "apiVersion: v1\nkind: Service\nmetadata: {generation: one}",
        Status::Unknown,
        "looking up metadata.generation from resource: not an integer",
    ),
    // Always ready.
    (
        "secret",
        "apiVersion: v1\nkind: Secret",
        Status::Current,
        "Resource is always ready",
    ),
    (
        "configmap",
        "apiVersion: v1\nkind: ConfigMap",
        Status::Current,
        "Resource is always ready",
    ),
    (
        "cronjob",
        "apiVersion: batch/v1\nkind: CronJob",
        Status::Current,
        "Resource is always ready",
    ),
    (
        "pdb",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1}",
        Status::Current,
        "AllowedDisruptions has been computed.",
    ),
    (
        "pdb not observed",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {generation: 2}\nstatus: {observedGeneration: 1}",
        Status::InProgress,
        "PodDisruptionBudget generation is 2, but latest observed generation is 1",
    ),
    // Pods.
    (
        "pod no status",
        "apiVersion: v1\nkind: Pod",
        Status::InProgress,
        "Pod phase not available",
    ),
    (
        "pod ready",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Running, conditions: [{type: Ready, status: 'True'}]}",
        Status::Current,
        "Pod is Ready",
    ),
    (
        "pod succeeded",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Succeeded}",
        Status::Current,
        "Pod has completed successfully",
    ),
    (
        "pod failed is current",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Failed}",
        Status::Current,
        "Pod has completed, but not successfully",
    ),
    (
        "pod being scheduled",
        "apiVersion: v1\nkind: Pod\nmetadata: {creationTimestamp: '2026-12-05T23:59:55Z'}\nstatus: {phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable}]}",
        Status::InProgress,
        "Pod has not been scheduled",
    ),
    (
        "pod unschedulable",
        "apiVersion: v1\nkind: Pod\nmetadata: {creationTimestamp: '2026-12-05T23:59:00Z'}\nstatus: {phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable}]}",
        Status::Failed,
        "Pod could not be scheduled",
    ),
    (
        "pod pending",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Pending}",
        Status::InProgress,
        "Pod is in the Pending phase",
    ),
    (
        "pod crash looping",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Running, containerStatuses: [{name: ok, state: {running: {}}}, {name: nginx, state: {waiting: {reason: CrashLoopBackOff}}}, {name: side, state: {waiting: {reason: CrashLoopBackOff}}}]}",
        Status::Failed,
        "Containers in CrashLoop state: nginx,side",
    ),
    (
        "pod running not ready",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Running}",
        Status::InProgress,
        "Pod is running but is not Ready",
    ),
    (
        "pod unknown phase",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Weird}",
        Status::Unknown,
        "unknown phase Weird",
    ),
    // PVC.
    (
        "pvc no status",
        "apiVersion: v1\nkind: PersistentVolumeClaim",
        Status::InProgress,
        "PVC is not Bound. phase: unknown",
    ),
    (
        "pvc bound",
        "apiVersion: v1\nkind: PersistentVolumeClaim\nstatus: {phase: Bound}",
        Status::Current,
        "PVC is Bound",
    ),
    // StatefulSet.
    (
        "sts no status",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {generation: 1}",
        Status::InProgress,
        "Replicas: 0/1",
    ),
    (
        "sts ok",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {generation: 1}\nspec: {replicas: 4}\nstatus: {observedGeneration: 1, replicas: 4, readyReplicas: 4, currentReplicas: 4, currentRevision: r1, updateRevision: r1}",
        Status::Current,
        "All replicas scheduled as expected. Replicas: 4",
    ),
    (
        "sts less ready",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: 4}\nstatus: {replicas: 4, readyReplicas: 2, currentReplicas: 4}",
        Status::InProgress,
        "Ready: 2/4",
    ),
    (
        "sts less current",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: 4}\nstatus: {replicas: 4, readyReplicas: 4, currentReplicas: 2}",
        Status::InProgress,
        "current: 2/4",
    ),
    (
        "sts extra pods",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: 4}\nstatus: {replicas: 8, readyReplicas: 4, currentReplicas: 4}",
        Status::InProgress,
        "Pending termination: 4",
    ),
    (
        "sts revision mismatch",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: 1}\nstatus: {replicas: 1, readyReplicas: 1, currentReplicas: 1, currentRevision: a, updateRevision: b}",
        Status::InProgress,
        "Waiting for updated revision to match current",
    ),
    (
        "sts partition rolling",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: 4, updateStrategy: {rollingUpdate: {partition: 2}}}\nstatus: {replicas: 4, readyReplicas: 4, updatedReplicas: 1}",
        Status::InProgress,
        "updated: 1/2",
    ),
    (
        "sts partition done",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: 4, updateStrategy: {rollingUpdate: {partition: 2}}}\nstatus: {replicas: 4, readyReplicas: 4, updatedReplicas: 2}",
        Status::Current,
        "Partition rollout complete. updated: 2",
    ),
    (
        "sts on delete",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {updateStrategy: {type: OnDelete}}",
        Status::Current,
        "StatefulSet is using the ondelete update strategy",
    ),
    // DaemonSet.
    (
        "ds no status",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {generation: 1}",
        Status::InProgress,
        "DaemonSet status.observedGeneration not found",
    ),
    (
        "ds no generation",
        "apiVersion: apps/v1\nkind: DaemonSet",
        Status::InProgress,
        "DaemonSet metadata.generation not found",
    ),
    (
        "ds no desired",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1}",
        Status::InProgress,
        "Missing .status.desiredNumberScheduled",
    ),
    (
        "ds ok",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 4, currentNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4, numberReady: 4}",
        Status::Current,
        "All replicas scheduled as expected. Replicas: 4",
    ),
    (
        "ds different generation",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {generation: 2}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 4, currentNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4, numberReady: 4}",
        Status::InProgress,
        "DaemonSet generation is 2, but latest observed generation is 1",
    ),
    (
        "ds less ready",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 4, currentNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4, numberReady: 2}",
        Status::InProgress,
        "Ready: 2/4",
    ),
    (
        "ds less available",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 4, currentNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 2, numberReady: 4}",
        Status::InProgress,
        "Available: 2/4",
    ),
    // Deployment.
    (
        "dep no status",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generation: 1}",
        Status::InProgress,
        "Replicas: 0/1",
    ),
    (
        "dep ok",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, replicas: 1, conditions: [{type: Progressing, status: 'True', reason: NewReplicaSetAvailable}, {type: Available, status: 'True'}]}",
        Status::Current,
        "Deployment is available. Replicas: 1",
    ),
    (
        "dep not progressing",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generation: 1}\nspec: {progressDeadlineSeconds: 45}\nstatus: {observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, replicas: 1, conditions: [{type: Progressing, status: 'False', reason: Some reason}, {type: Available, status: 'True'}]}",
        Status::InProgress,
        "ReplicaSet not Available",
    ),
    (
        "dep no progress deadline",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, replicas: 1, conditions: [{type: Available, status: 'True'}]}",
        Status::Current,
        "Deployment is available. Replicas: 1",
    ),
    (
        "dep not available",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {generation: 1}\nstatus: {observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, replicas: 1, conditions: [{type: Progressing, status: 'True', reason: NewReplicaSetAvailable}, {type: Available, status: 'False'}]}",
        Status::InProgress,
        "Deployment not Available",
    ),
    (
        "dep deadline exceeded",
        "apiVersion: apps/v1\nkind: Deployment\nspec: {progressDeadlineSeconds: 600}\nstatus: {conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}]}",
        Status::Failed,
        "Progress deadline exceeded",
    ),
    (
        "dep less updated",
        "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 3}\nstatus: {replicas: 3, updatedReplicas: 1}",
        Status::InProgress,
        "Updated: 1/3",
    ),
    (
        "dep less available",
        "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 3}\nstatus: {replicas: 3, updatedReplicas: 3, availableReplicas: 2}",
        Status::InProgress,
        "Available: 2/3",
    ),
    (
        "dep extra pods",
        "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 1}\nstatus: {replicas: 2, updatedReplicas: 1}",
        Status::InProgress,
        "Pending termination: 1",
    ),
    // ReplicaSet.
    (
        "rs no status",
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {generation: 1}",
        Status::InProgress,
        "Labelled: 0/1",
    ),
    (
        "rs ok",
        "apiVersion: apps/v1\nkind: ReplicaSet\nspec: {replicas: 2}\nstatus: {replicas: 2, readyReplicas: 2, availableReplicas: 2, fullyLabeledReplicas: 2}",
        Status::Current,
        "ReplicaSet is available. Replicas: 2",
    ),
    (
        "rs less ready",
        "apiVersion: apps/v1\nkind: ReplicaSet\nspec: {replicas: 4}\nstatus: {replicas: 4, readyReplicas: 2, availableReplicas: 4, fullyLabeledReplicas: 4}",
        Status::InProgress,
        "Ready: 2/4",
    ),
    (
        "rs less available",
        "apiVersion: apps/v1\nkind: ReplicaSet\nspec: {replicas: 4}\nstatus: {replicas: 4, readyReplicas: 4, availableReplicas: 2, fullyLabeledReplicas: 4}",
        Status::InProgress,
        "Available: 2/4",
    ),
    (
        "rs replica failure",
        "apiVersion: apps/v1\nkind: ReplicaSet\nspec: {replicas: 4}\nstatus: {replicas: 4, readyReplicas: 4, availableReplicas: 4, fullyLabeledReplicas: 4, conditions: [{type: ReplicaFailure, status: 'True'}]}",
        Status::InProgress,
        "Replica Failure condition. Check Pods",
    ),
    // Service.
    (
        "svc default",
        "apiVersion: v1\nkind: Service",
        Status::Current,
        "Service is ready",
    ),
    (
        "svc nodeport",
        "apiVersion: v1\nkind: Service\nspec: {type: NodePort}",
        Status::Current,
        "Service is ready",
    ),
    (
        "svc lb ok",
        "apiVersion: v1\nkind: Service\nspec: {type: LoadBalancer, clusterIP: 10.0.0.1}",
        Status::Current,
        "Service is ready",
    ),
    (
        "svc lb no ip",
        "apiVersion: v1\nkind: Service\nspec: {type: LoadBalancer}",
        Status::InProgress,
        "ClusterIP not set. Service type: LoadBalancer",
    ),
    // CRD.
    (
        "crd no conditions",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition",
        Status::InProgress,
        "Install in progress",
    ),
    (
        "crd installing",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nstatus: {conditions: [{type: Established, status: 'False', reason: Installing}]}",
        Status::InProgress,
        "Install in progress",
    ),
    (
        "crd names not accepted",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nstatus: {conditions: [{type: NamesAccepted, status: 'False', reason: NameConflict, message: 'plural name conflict'}]}",
        Status::Failed,
        "plural name conflict",
    ),
    (
        "crd established",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nstatus: {conditions: [{type: NamesAccepted, status: 'True'}, {type: Established, status: 'True'}]}",
        Status::Current,
        "CRD is established",
    ),
    (
        "crd not established",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nstatus: {conditions: [{type: Established, status: 'False', reason: Other, message: nope}]}",
        Status::Failed,
        "nope",
    ),
    // Flux's Job reader.
    (
        "job no status",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {generation: 1}",
        Status::InProgress,
        "Job not started. active: 0/1",
    ),
    (
        "job complete",
        "apiVersion: batch/v1\nkind: Job\nspec: {completions: 1}\nstatus: {succeeded: 1, startTime: '2026-12-05T00:00:00Z', conditions: [{type: Complete, status: 'True'}]}",
        Status::Current,
        "Job Completed. succeeded: 1/1",
    ),
    (
        "job failed",
        "apiVersion: batch/v1\nkind: Job\nspec: {completions: 4, parallelism: 2}\nstatus: {failed: 3, startTime: '2026-12-05T00:00:00Z', conditions: [{type: Failed, status: 'True'}]}",
        Status::Failed,
        "Job Failed. failed: 3/4",
    ),
    (
        "job running is in progress",
        "apiVersion: batch/v1\nkind: Job\nspec: {parallelism: 2}\nstatus: {active: 2, succeeded: 1, startTime: '2026-12-05T00:00:00Z'}",
        Status::InProgress,
        "Job in progress. success:1, active: 2, failed: 0",
    ),
    (
        "job suspended",
        "apiVersion: batch/v1\nkind: Job\nspec: {suspend: true}",
        Status::Current,
        "Job is suspended",
    ),
    (
        "job skips the generic checks",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {generation: 3}\nstatus: {observedGeneration: 1, conditions: [{type: Complete, status: 'True'}]}",
        Status::Current,
        "Job Completed. succeeded: 0/1",
    ),
];

#[test]
fn kstatus_cases() {
    for (name, yaml, status, message) in CASES {
        check(name, yaml, *status, message);
    }
}

#[test]
fn status_strings_are_kstatus_names() {
    let all = [
        (Status::InProgress, "InProgress"),
        (Status::Failed, "Failed"),
        (Status::Current, "Current"),
        (Status::Terminating, "Terminating"),
        (Status::NotFound, "NotFound"),
        (Status::Unknown, "Unknown"),
    ];
    for (s, want) in all {
        assert_eq!(s.to_string(), want);
    }
    assert_eq!(Health::not_found().status, Status::NotFound);
}

#[test]
fn hostile_shapes_never_panic() {
    for yaml in [
        "null",
        "[]",
        "kind: 7",
        "apiVersion: apps/v1\nkind: Deployment\nstatus: 5",
        "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: 1.0e30}",
        "apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: -9223372036854775808, updateStrategy: {rollingUpdate: {partition: 9223372036854775807}}}",
        "apiVersion: v1\nkind: Pod\nstatus: {phase: Running, containerStatuses: [1, {state: 2}, {name: 3, state: {waiting: {reason: CrashLoopBackOff}}}]}",
        "apiVersion: v1\nkind: Pod\nmetadata: {creationTimestamp: garbage}\nstatus: {phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable}]}",
    ] {
        let obj: Value = serde_yaml::from_str(yaml).expect("yaml");
        let _ = compute(&obj, now());
    }
    let odd: Value = serde_yaml::from_str(
        "apiVersion: v1\nkind: Foo\nstatus: {conditions: [{type: Ready, status: 1}]}",
    )
    .expect("yaml");
    assert_eq!(
        compute(&odd, now()),
        Health::new(
            Status::Unknown,
            "status.conditions[0].status is not a string"
        )
    );
}
