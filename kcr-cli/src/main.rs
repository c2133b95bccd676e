//! `kcr`: the command-line client of the kcr registry. Thin: parse, dispatch, print the error,
//! set the exit code.

mod cli;
mod client;
mod commands;
mod credentials;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use client::ApiClient;
use error::CliError;
use output::Output;

fn run(cli: &Cli) -> Result<(), CliError> {
    let out = Output { json: cli.json };
    match &cli.command {
        Command::Login(args) => return commands::session::login(args, out),
        Command::Logout => return commands::session::logout(),
        _ => {}
    }
    let api = ApiClient::new(credentials::load()?);
    match &cli.command {
        Command::Whoami => commands::session::whoami(&api, out),
        Command::Passwd => commands::session::passwd(&api),
        Command::Project(c) => commands::projects::project(&api, c, out),
        Command::Member(c) => commands::projects::member(&api, c, out),
        Command::Repo(c) => commands::repos::repo(&api, c, out),
        Command::Permission(c) => commands::repos::permission(&api, c, out),
        Command::User(c) => commands::users::user(&api, c, out),
        Command::Key(c) => commands::users::key(&api, c, out),
        Command::Tag(c) => commands::tags::tag(&api, c, out),
        Command::Gc(args) => commands::gc::gc(&api, args, out),
        Command::Login(_) | Command::Logout => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kcr: {e}");
            ExitCode::from(if matches!(e, CliError::Usage(_)) {
                2
            } else {
                1
            })
        }
    }
}
