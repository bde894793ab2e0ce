//! The action loop against an in-memory HelmCluster.
