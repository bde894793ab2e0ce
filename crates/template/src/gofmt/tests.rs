use super::*;

/// Found by the template fuzz target: `printf "%0777…7d"` asked for a
/// width near usize::MAX and died. Go's fmt calls such numbers no number.
#[test]
fn crazy_widths_and_precisions_are_refused_as_go_does() {
    let one = [Value::Int(1)];
    assert_eq!(
        sprintf("d%0777777777777777777d", &one),
        "d%!(NOVERB)%!(EXTRA int=1)"
    );
    assert_eq!(sprintf("d%.99999999d|", &one), "d%!(NOVERB)%!(EXTRA int=1)");
    assert_eq!(
        sprintf("d%*d|", &[Value::Int(9_999_999), Value::Int(1)]),
        "d%!(BADWIDTH)1|"
    );
    assert_eq!(sprintf("%5d|", &one), "    1|");
}
