//! A command to run: a program and its arguments, never empty by construction.
//!
//! Owns: the one type every mode hands to `sys::spawn` (the child, the `timeout` mode's
//! command, an `exec:` probe's program). Never: runs or parses anything; it is built where
//! arguments are validated, so nothing downstream indexes an empty list.

use std::ffi::{OsStr, OsString};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    program: OsString,
    args: Vec<OsString>,
}

impl CommandLine {
    /// The first word is the program; None when there is no word at all.
    pub fn new(words: impl IntoIterator<Item = impl Into<OsString>>) -> Option<Self> {
        let mut words = words.into_iter().map(Into::into);
        Some(CommandLine {
            program: words.next()?,
            args: words.collect(),
        })
    }

    pub fn program(&self) -> &OsStr {
        &self.program
    }

    pub fn args(&self) -> &[OsString] {
        &self.args
    }

    /// Program and arguments, for logs.
    pub fn words(&self) -> impl Iterator<Item = &OsStr> {
        std::iter::once(self.program.as_os_str()).chain(self.args.iter().map(OsString::as_os_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_word_is_the_program_and_none_is_no_command() {
        let command = CommandLine::new(["sleep", "1"]).unwrap();
        assert_eq!(command.program(), "sleep");
        assert_eq!(command.args(), [OsString::from("1")]);
        assert_eq!(command.words().collect::<Vec<_>>(), ["sleep", "1"]);
        assert_eq!(CommandLine::new(Vec::<OsString>::new()), None);
    }
}
