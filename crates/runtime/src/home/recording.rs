//! A home for unit tests: it keeps the status writes and events it is
//! asked, refuses writes on demand, and counts (and holds) the writes of
//! our finalizer.

use ferroflux_controllers::kind::ObjectKey;
use ferroflux_controllers::status::Event;
use serde_json::Value;

/// A home that keeps what it is asked, and refuses status writes on demand.
pub(crate) struct Recording {
    pub writes: std::sync::Mutex<Vec<(ObjectKey, Option<Value>, Value)>>,
    pub events: std::sync::Mutex<Vec<(Option<String>, String)>>,
    pub refuse: bool,
    pub broken_store: bool,
    /// Whether it holds finalizers; each write of ours is counted and
    /// waits for a permit of `finalizer_done`.
    pub finalizes: bool,
    pub finalizer_writes: std::sync::atomic::AtomicUsize,
    pub finalizer_done: tokio::sync::Semaphore,
}

impl Default for Recording {
    fn default() -> Self {
        Recording {
            writes: Default::default(),
            events: Default::default(),
            refuse: false,
            broken_store: false,
            finalizes: false,
            finalizer_writes: Default::default(),
            finalizer_done: tokio::sync::Semaphore::new(0),
        }
    }
}

impl crate::home::Home for Recording {
    fn write_status<'a>(
        &'a self,
        key: &'a ObjectKey,
        old: Option<&'a Value>,
        new: &'a Value,
    ) -> crate::home::BoxFuture<'a, Result<(), crate::home::HomeError>> {
        Box::pin(async move {
            if self.refuse {
                return Err(crate::home::HomeError::Refused {
                    kind: key.kind.clone(),
                    namespace: key.namespace.clone(),
                    name: key.name.clone(),
                    detail: "forbidden".into(),
                });
            }
            if self.broken_store {
                let source = serde_json::from_str::<u8>("x").unwrap_err();
                return Err(crate::home::HomeError::Store(
                    crate::state::StateError::Encode {
                        path: "s.redb".into(),
                        key: key.to_string(),
                        what: "status",
                        source,
                    },
                ));
            }
            self.writes
                .lock()
                .unwrap()
                .push((key.clone(), old.cloned(), new.clone()));
            Ok(())
        })
    }
    fn record(&self, object: &k8s_openapi::api::core::v1::ObjectReference, event: &Event) -> bool {
        self.events
            .lock()
            .unwrap()
            .push((object.name.clone(), event.reason.clone()));
        true
    }
    fn arrival(&self) -> crate::home::Arrival {
        crate::home::Arrival::Watches
    }
    fn own_repository(&self) -> Option<&crate::home::OwnRepository> {
        None
    }
    fn serves_gitops(&self) -> bool {
        false
    }
    fn finalizes(&self) -> bool {
        self.finalizes
    }
    fn set_finalizer<'a>(
        &'a self,
        _key: &'a ObjectKey,
        _present: bool,
        _seen: Option<&'a ferroflux_api::meta::ObjectMeta>,
    ) -> crate::home::BoxFuture<'a, Result<(), crate::home::HomeError>> {
        Box::pin(async move {
            if self.finalizes {
                self.finalizer_writes
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = self.finalizer_done.acquire().await.map(|p| p.forget());
            }
            Ok(())
        })
    }
    fn gone<'a>(
        &'a self,
        _key: &'a ObjectKey,
    ) -> crate::home::BoxFuture<'a, Result<bool, crate::home::HomeError>> {
        Box::pin(async { Ok(true) })
    }
}
