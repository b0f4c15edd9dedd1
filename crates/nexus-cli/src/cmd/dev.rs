//! `nexus dev sign`: signs a recorded webhook body the way its provider would, so a test request
//! can be sent to a local gateway with curl. The secret defaults to the public dev secret that
//! `nexus serve` accepts in dev mode (no configuration file, loopback).
//!
//! Supported: `terra` (`terra-signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`).

use std::io::Read as _;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use nexus_server::DEV_SECRET;
use sha2::Sha256;

/// Arguments of `nexus dev`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the signature header value for FILE (the exact bytes that will be sent).
    Sign(SignArgs),
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// Provider id (supported: terra).
    #[arg(long)]
    provider: String,
    /// Name of an environment variable holding the app secret to sign with [default: the public
    /// dev secret of `nexus serve`'s dev mode]. A variable, not an argument, so a real secret stays
    /// out of shell history.
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    /// Unix seconds to sign at [default: now].
    #[arg(long)]
    at: Option<i64>,
    /// Print `name: value` instead of the value alone.
    #[arg(long)]
    header: bool,
    /// The body: a file, or `-` for standard input.
    file: PathBuf,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    match args.command {
        Command::Sign(a) => sign(a),
    }
}

fn sign(args: SignArgs) -> Result<(), String> {
    let body = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading standard input: {e}"))?;
        buf
    } else {
        std::fs::read(&args.file).map_err(|e| format!("reading {}: {e}", args.file.display()))?
    };
    let secret = match &args.secret_env {
        Some(var) => std::env::var(var)
            .map_err(|_| format!("environment variable {var} is not set (or not UTF-8)"))?,
        None => DEV_SECRET.to_owned(),
    };
    let at = args
        .at
        .unwrap_or_else(|| jiff::Timestamp::now().as_second());
    let (name, value) = match args.provider.as_str() {
        "terra" => ("terra-signature", terra_signature(&secret, at, &body)?),
        other => {
            return Err(format!(
                "`dev sign` does not know how {other} signs; supported: terra"
            ));
        }
    };
    if args.header {
        println!("{name}: {value}");
    } else {
        println!("{value}");
    }
    Ok(())
}

/// `t=<at>,v1=<hex HMAC-SHA256(secret, "<at>.<body>")>`.
fn terra_signature(secret: &str, at: i64, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| "the secret cannot key HMAC-SHA256".to_owned())?;
    mac.update(at.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "t={at},v1={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The third-party vector of research/webhook-signatures.md (Terra section): secret `key`,
    // body `123`, t=12345678.
    #[test]
    fn terra_vector() {
        assert_eq!(
            terra_signature("key", 12345678, b"123").unwrap(),
            "t=12345678,v1=dca55eca8f595bd4d80250ab9609c7cbecec8e581c5c3822294f7c2ee1c99377"
        );
    }
}
