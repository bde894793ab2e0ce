use super::*;

/// `fieldspecs.txt` is `fieldspecs.yaml` read by the YAML reader of
/// `configurations` files; `FERROFLUX_BLESS=1` rewrites it.
#[test]
fn the_compact_built_in_table_is_the_yaml_one() {
    let from_yaml = parse_tables(BUILTIN_YAML).expect("fieldspecs.yaml parses");
    let compact = to_compact(&from_yaml);
    if std::env::var_os("FERROFLUX_BLESS").is_some_and(|v| v == "1") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/fieldspecs.txt");
        std::fs::write(path, &compact).expect("write fieldspecs.txt");
        return;
    }
    assert!(
        compact == BUILTIN,
        "fieldspecs.txt is not fieldspecs.yaml's table: run FERROFLUX_BLESS=1 cargo test -p \
         ferroflux-kustomize --lib fieldspec"
    );
    assert_eq!(parse_compact(BUILTIN), from_yaml);
    assert!(!builtin().name_reference.is_empty());
    assert!(builtin().namespace.iter().any(|fs| fs.create));
}

#[test]
fn a_configuration_file_with_an_unknown_list_is_refused() {
    let e = parse_config("nameprefix:\n- path: metadata/name\n").unwrap_err();
    assert!(e.contains("did you mean `namePrefix`"), "{e}");
}
