//! `nexus config check`: load the configuration as `nexus serve` would and report every problem
//! (errors and likely mistakes) without starting anything; `nexus config show` prints the
//! effective configuration with secrets redacted.

use nexus_runtime::config::Severity;

use super::gateway::ConfigArgs;

/// Arguments of `nexus config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Report problems; exits non-zero when there is an error.
    Check,
    /// Print the effective configuration (defaults < file < environment), secrets redacted.
    Show,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let loaded = args.config.load()?;
    let config = loaded.config;
    match args.command {
        Command::Show => {
            println!("{config:#?}");
            Ok(())
        }
        Command::Check => {
            match &loaded.file {
                Some(f) => println!("configuration: {} (+ NEXUS_* variables)", f.display()),
                None => println!("configuration: built-in defaults (+ NEXUS_* variables)"),
            }
            // The runtime's check also builds every sink, so sink options (URLs, secrets) are checked.
            let mut problems = config.check();
            problems.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.key.cmp(&b.key)));
            let errors = problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            for p in &problems {
                let level = match p.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                println!("{level}: {}: {}", p.key, p.message);
            }
            if loaded.file.is_none() && config.listen_addr().is_ok_and(|a| a.ip().is_loopback()) {
                println!(
                    "note: with no configuration file and a loopback address, `nexus serve` runs in \
                     dev mode: providers without a secret verify with the public dev secret {:?}",
                    nexus_server::DEV_SECRET
                );
            }
            let sinks: usize = config.tenants.values().map(|t| t.sinks.len()).sum();
            println!(
                "{} tenants, {sinks} sinks, {} providers configured; {errors} errors, {} warnings",
                config.tenants.len(),
                config.providers.len(),
                problems.len() - errors
            );
            if errors > 0 {
                Err(format!("the configuration has {errors} errors"))
            } else {
                Ok(())
            }
        }
    }
}
