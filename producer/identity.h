/*
 * identity.h - who this process is, for the ring's producer table: the
 * workload and namespace labels every record of the process carries.
 *
 * Order: TOKENRING_WORKLOAD / TOKENRING_NAMESPACE; else POD_NAME reduced to
 * its workload (identity_workload_from_pod) / POD_NAMESPACE; else the
 * program name / "default". Each of workload and namespace is chosen on its
 * own (TOKENRING_WORKLOAD with POD_NAMESPACE is fine).
 */
#ifndef TOKENRING_IDENTITY_H
#define TOKENRING_IDENTITY_H

#include <stddef.h>

#define IDENTITY_DEFAULT_NAMESPACE "default"

/*
 * Reduce a Kubernetes pod name to the name of the workload that owns it, as
 * Istio names workloads (it reads owner references; we only have the name,
 * so we undo the controllers' naming rules):
 *   Deployment  reviews-v1-5b8c7d9f4-x2x9z -> reviews-v1
 *               (ReplicaSet pod-template-hash, then the 5-char pod suffix)
 *   ReplicaSet, DaemonSet, Job   web-x2x9z -> web
 *   StatefulSet db-0, db-12                -> db
 * Suffixes count only if made of the alphabet Kubernetes generates them
 * from ("bcdfghjklmnpqrstvwxz2456789": no vowels, no 0 1 3), so names like
 * "reviews-v1" or "api-gateway" stay whole. StatefulSet ordinals are
 * stripped on purpose: every replica of a StatefulSet is one workload in
 * Istio's telemetry too, and per-replica names would multiply series. A
 * bare pod whose name ends in "-<digits>" is therefore shortened as well.
 * Writes at most cap bytes (NUL included). Returns the output length.
 */
size_t identity_workload_from_pod(const char *pod, char *out, size_t cap);

/* Fill workload and namespace from the environment (see above). */
void identity_from_env(char *workload, size_t wcap, char *namespace_, size_t ncap);

#endif
