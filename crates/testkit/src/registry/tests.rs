use super::*;

/// Two servers of one test were once told the same port (the kernel handed
/// it out twice once the probe listener closed).
#[test]
fn free_ports_are_never_handed_out_twice() {
    let ports: Vec<u16> = (0..300).map(|_| free_port()).collect();
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len());
}
