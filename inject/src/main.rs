//! kubectl-guillotine: read the command line, read the inputs, transform, write. The only
//! place that does I/O or decides the exit status: 0 written, 1 an input could not be
//! read or wired (nothing written), 2 a usage error (clap's own status for its errors).

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use clap::Parser;
use guillotine_inject::cli::{Cli, Command, Files};
use guillotine_inject::config::Options;
use guillotine_inject::manifest::Action;
use guillotine_inject::{Input, transform};
use std::io::{Read, Write};
use std::process::ExitCode;

const INPUT_ERROR: u8 = 1;
const USAGE_ERROR: u8 = 2;

fn say(line: &str) {
    eprintln!("kubectl-guillotine: {line}");
}

fn read(files: &Files) -> Result<Vec<Input>, String> {
    let names: Vec<String> = if files.files.is_empty() {
        vec!["-".to_owned()]
    } else {
        files
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    };
    let mut stdin_read = false;
    names
        .into_iter()
        .map(|name| {
            let text = if name == "-" {
                if std::mem::replace(&mut stdin_read, true) {
                    return Err("-f - given twice: standard input can be read once".to_owned());
                }
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| format!("standard input: {e}"))?;
                text
            } else {
                std::fs::read_to_string(&name)
                    .map_err(|e| format!("{name}: cannot read it: {e}"))?
            };
            Ok(Input { name, text })
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (files, options) = match cli.command {
        Some(Command::Uninject(files)) => (files, None),
        Some(Command::Inject(args)) => (args.files.clone(), Some(*args)),
        None => (cli.inject.files.clone(), Some(cli.inject)),
    };
    let options = match options
        .filter(|args| !args.undo)
        .map(|args| Options::from_args(&args))
        .transpose()
    {
        Ok(options) => options,
        Err(error) => {
            say(&error.0);
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let action = match &options {
        Some(options) => Action::Inject(options),
        None => Action::Undo,
    };
    let inputs = match read(&files) {
        Ok(inputs) => inputs,
        Err(error) => {
            say(&error);
            return ExitCode::from(INPUT_ERROR);
        }
    };
    match transform(&inputs, action) {
        Ok(written) => {
            for note in &written.notes {
                say(note);
            }
            let mut stdout = std::io::stdout().lock();
            if let Err(error) = stdout
                .write_all(written.output.as_bytes())
                .and_then(|()| stdout.flush())
            {
                say(&format!("cannot write standard output: {error}"));
                return ExitCode::from(INPUT_ERROR);
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors {
                say(error);
            }
            ExitCode::from(INPUT_ERROR)
        }
    }
}
