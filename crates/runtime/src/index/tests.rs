use super::*;

fn k(kind: &str, ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new(kind, ns, name)
}

fn ns(kind: &str, namespace: &str) -> Ref {
    Ref::Namespace {
        kind: kind.into(),
        namespace: namespace.into(),
    }
}

#[test]
fn dependents_by_name_and_by_namespace_are_merged_in_key_order() {
    let mut ix = Index::default();
    ix.insert(k("B", "a", "z"), vec![Ref::Object(k("A", "a", "one"))]);
    ix.insert(k("B", "a", "y"), vec![Ref::Object(k("A", "a", "one"))]);
    ix.insert(k("C", "a", "x"), vec![ns("A", "a")]);
    // Both by name and by namespace: listed once.
    ix.insert(
        k("B", "a", "w"),
        vec![Ref::Object(k("A", "a", "one")), ns("A", "a")],
    );
    assert_eq!(
        ix.dependents(&k("A", "a", "one")),
        vec![
            k("B", "a", "w"),
            k("B", "a", "y"),
            k("B", "a", "z"),
            k("C", "a", "x")
        ]
    );
    assert_eq!(
        ix.dependents(&k("A", "a", "two")),
        vec![k("B", "a", "w"), k("C", "a", "x")]
    );
    assert!(ix.dependents(&k("A", "b", "one")).is_empty());
    // The namespace reference is for kind A only.
    assert!(ix.dependents(&k("D", "a", "one")).is_empty());
}

#[test]
fn replacing_and_removing_an_object_drops_its_old_references() {
    let mut ix = Index::default();
    ix.insert(k("B", "a", "x"), vec![Ref::Object(k("A", "a", "old"))]);
    ix.insert(k("B", "a", "x"), vec![Ref::Object(k("A", "a", "new"))]);
    assert!(ix.dependents(&k("A", "a", "old")).is_empty());
    assert_eq!(ix.dependents(&k("A", "a", "new")), vec![k("B", "a", "x")]);
    assert_eq!(
        ix.refs(&k("B", "a", "x")),
        &[Ref::Object(k("A", "a", "new"))]
    );
    ix.remove(&k("B", "a", "x"));
    assert!(ix.dependents(&k("A", "a", "new")).is_empty());
    assert!(ix.is_empty());
    // Removing what is not there is no error.
    ix.remove(&k("B", "a", "x"));
    assert_eq!(ix, Index::default());
}

#[test]
fn a_relist_keeps_only_the_listed_objects_of_its_kind() {
    let mut ix = Index::default();
    ix.insert(k("B", "a", "kept"), vec![ns("A", "a")]);
    ix.insert(k("B", "a", "gone"), vec![ns("A", "a")]);
    ix.insert(k("C", "a", "other"), vec![ns("A", "a")]);
    ix.reset("B", &[k("B", "a", "kept")].into_iter().collect());
    assert_eq!(
        ix.dependents(&k("A", "a", "any")),
        vec![k("B", "a", "kept"), k("C", "a", "other")]
    );
    assert_eq!(ix.len(), 2);
}
