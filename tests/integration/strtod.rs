//! The DURATION scanner of the `timeout` mode against glibc's own strtod, the function GNU
//! timeout calls.

use guillotine::timeout::duration::scan_double;
use proptest::prelude::*;

#[allow(unsafe_code)]
fn libc_strtod(text: &str) -> (f64, usize) {
    let c_text = std::ffi::CString::new(text).unwrap();
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: c_text is a valid NUL-terminated string that outlives the call; strtod stores
    // a pointer into it in `end`. Rust programs run in the C locale.
    let value = unsafe { libc::strtod(c_text.as_ptr(), &mut end) };
    (value, end as usize - c_text.as_ptr() as usize)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn scanner_agrees_with_strtod(
        text in r"[ \t]?[+-]?(0[xX])?[0-9a-fA-F]{0,5}\.?[0-9a-fA-F]{0,4}([eEpP][+-]?[0-9]{0,3})?[smhdx.]?|[+-]?(inf|INF|infinity|nan|NaN|nan\(x1\)|nan\()[smhd]?"
    ) {
        let (expected, expected_used) = libc_strtod(&text);
        match scan_double(&text) {
            None => prop_assert_eq!(expected_used, 0, "strtod read {:?}", text),
            Some((value, used)) => {
                prop_assert_eq!(used, expected_used, "length for {:?}", text);
                prop_assert!(
                    value == expected || (value.is_nan() && expected.is_nan()),
                    "{:?}: {} vs strtod {}", text, value, expected
                );
            }
        }
    }
}
