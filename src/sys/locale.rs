//! The locale's character set, which decides how the `timeout` mode quotes (as GNU's
//! `quote()` does).
//!
//! Owns: `setlocale(LC_CTYPE, "")` and `nl_langinfo(CODESET)`. Never: changes any other
//! locale category (numbers are parsed by guillotine's own code, never by the C library).

/// True when the environment names a UTF-8 locale that the C library can load (glibc: an
/// installed one such as C.UTF-8; a locale that is not installed falls back to C, as it does
/// for GNU `timeout`).
pub fn is_utf8() -> bool {
    // SAFETY: called once, on the main thread, before any other thread exists; the empty
    // C string asks for the environment's locale. nl_langinfo returns a pointer to a
    // NUL-terminated string owned by the C library, read at once and not kept.
    unsafe {
        if libc::setlocale(libc::LC_CTYPE, c"".as_ptr()).is_null() {
            return false;
        }
        let codeset = libc::nl_langinfo(libc::CODESET);
        !codeset.is_null() && std::ffi::CStr::from_ptr(codeset).to_bytes() == b"UTF-8"
    }
}
