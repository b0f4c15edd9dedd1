//! `nexus connections add|list`: link a provider user to a tenant's user, and list the links.
//! Tokens (for providers the gateway calls itself) are read from environment variables so they
//! stay out of shell history, and are stored encrypted.

use nexus_runtime::{NewConnection, Tokens};

use super::gateway::{ConfigArgs, admin_runtime, error_chain, open_store, show_ms, tokio_runtime};

/// Arguments of `nexus connections`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create or update the connection of a provider user (its id is kept when it exists).
    Add(AddArgs),
    /// List connections.
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// Provider id (see `nexus adapters`).
    #[arg(long)]
    provider: String,
    /// The provider's id of the user (Terra `user.user_id`, Oura `user_id`, ...).
    #[arg(long)]
    provider_user_id: String,
    /// The tenant the data goes to.
    #[arg(long, default_value = nexus_runtime::config::DEFAULT_TENANT)]
    tenant: String,
    /// The user inside the tenant [default: the provider user id].
    #[arg(long)]
    user: Option<String>,
    /// The tenant's own reference for the user [default: the user].
    #[arg(long)]
    external_ref: Option<String>,
    /// Name of an environment variable holding the OAuth access token (never pass tokens as
    /// arguments: they end up in shell history and process lists).
    #[arg(long, value_name = "VAR")]
    access_token_env: Option<String>,
    /// Name of an environment variable holding the OAuth refresh token. With it (and the
    /// provider's `client_id` and `client_secret` in the config), the gateway refreshes the
    /// access token when it expires or is refused.
    #[arg(long, value_name = "VAR")]
    refresh_token_env: Option<String>,
    /// Seconds until the access token expires (`expires_in` of the token response): it is
    /// refreshed shortly before. Without it, it is refreshed when the provider refuses it.
    #[arg(long, value_name = "SECS")]
    expires_in: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only this tenant's.
    #[arg(long)]
    tenant: Option<String>,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), String> {
    let config = args.config.load()?.config;
    tokio_runtime()?.block_on(async move {
        let store = open_store(&config)?;
        match args.command {
            Command::Add(a) => add(config, store, a).await,
            Command::List(a) => list(store, a).await,
        }
    })
}

fn env_token(var: Option<&str>) -> Result<Option<String>, String> {
    match var {
        None => Ok(None),
        Some(v) => std::env::var(v)
            .map(Some)
            .map_err(|_| format!("environment variable {v} is not set (or not UTF-8)")),
    }
}

async fn add(
    config: nexus_runtime::Config,
    store: std::sync::Arc<dyn nexus_runtime::Store>,
    a: AddArgs,
) -> Result<(), String> {
    if nexus_core::registry::adapter(&a.provider).is_none() {
        let known: Vec<&str> = nexus_core::registry::adapters()
            .iter()
            .map(|x| x.descriptor().id)
            .collect();
        return Err(format!(
            "unknown provider `{}`; registered: {}",
            a.provider,
            known.join(", ")
        ));
    }
    if !config.tenants.contains_key(&a.tenant) {
        return Err(format!(
            "tenant `{}` is not configured (configured: {}); its data would reach no sink",
            a.tenant,
            config
                .tenants
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let access = env_token(a.access_token_env.as_deref())?;
    let refresh = env_token(a.refresh_token_env.as_deref())?;
    let tokens = match (access, refresh) {
        (Some(access_token), refresh_token) => Some(Tokens {
            access_token,
            refresh_token,
            expires_at: a
                .expires_in
                .map(|s| nexus_runtime::now_ms().saturating_add(i64::from(s) * 1000)),
        }),
        (None, Some(_)) => return Err("a refresh token needs an access token too".to_owned()),
        (None, None) => None,
    };
    let user = a.user.unwrap_or_else(|| a.provider_user_id.clone());
    let external_user_ref = a.external_ref.unwrap_or_else(|| user.clone());
    let runtime = admin_runtime(config, store).await?;
    let record = runtime
        .connect(NewConnection {
            tenant_id: a.tenant,
            user_id: user,
            external_user_ref,
            provider: a.provider,
            provider_user_id: a.provider_user_id,
            tokens,
        })
        .await
        .map_err(|e| error_chain(&e))?;
    outln!(
        "{} {} {}:{} -> tenant {} user {} (ref {})",
        record.connection_id,
        record.status.as_str(),
        record.provider,
        record.provider_user_id,
        record.tenant_id,
        record.user_id,
        record.external_user_ref
    );
    Ok(())
}

async fn list(store: std::sync::Arc<dyn nexus_runtime::Store>, a: ListArgs) -> Result<(), String> {
    let all = store
        .connections(a.tenant.as_deref())
        .await
        .map_err(|e| error_chain(&e))?;
    if a.json {
        for c in &all {
            let line = serde_json::json!({
                "connection_id": c.connection_id,
                "tenant_id": c.tenant_id,
                "user_id": c.user_id,
                "external_user_ref": c.external_user_ref,
                "provider": c.provider,
                "provider_user_id": c.provider_user_id,
                "status": c.status.as_str(),
                "has_tokens": c.sealed_tokens.is_some(),
                "created_at": c.created_at,
                "updated_at": c.updated_at,
            });
            outln!("{line}");
        }
        return Ok(());
    }
    if all.is_empty() {
        outln!("no connections");
        return Ok(());
    }
    outln!(
        "{:<38} {:<10} {:<8} {:<28} {:<20} {:<8} CREATED",
        "CONNECTION",
        "TENANT",
        "PROVIDER",
        "PROVIDER USER",
        "USER",
        "STATUS"
    );
    for c in all {
        outln!(
            "{:<38} {:<10} {:<8} {:<28} {:<20} {:<8} {}",
            c.connection_id,
            c.tenant_id,
            c.provider,
            c.provider_user_id,
            c.user_id,
            c.status.as_str(),
            show_ms(c.created_at)
        );
    }
    Ok(())
}
