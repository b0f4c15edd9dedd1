//! What the server adds to the runtime's configuration: the body limit and the public dev secret
//! of dev mode.

use std::fmt;
use std::time::Duration;

use nexus_core::{AdapterDescriptor, Secrets};

/// Default largest accepted webhook body: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Longest a webhook request may take from its first byte to our answer (a client that sends its
/// body slowly is answered 408 and nothing is stored).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a provider waits for our answer when its adapter does not say.
pub const DEFAULT_ACK_DEADLINE: Duration = Duration::from_secs(10);

/// The app secret every required secret of every adapter falls back to in dev mode. Public on
/// purpose: anyone can sign requests with it, so `nexus serve` only uses it when it runs with no
/// configuration file, listening on loopback, and says so in its log.
pub const DEV_SECRET: &str = "fake-nexus-dev-secret";

/// Server settings.
#[derive(Clone)]
pub struct ServerOptions {
    /// Largest accepted webhook body; a larger one is answered 413 and not stored.
    pub max_body_bytes: usize,
    /// Dev mode: the value of every required app secret that is not configured
    /// ([`DEV_SECRET`]). `None` in production: a provider without its secret is answered 503.
    pub dev_secret: Option<String>,
    /// Longest a webhook request may take, body included (408 after it).
    pub request_timeout: Duration,
    /// Fraction of the provider's answer deadline that storing a request may take before the
    /// provider is told to retry (503); the rest is left for the network.
    pub deadline_share: f64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            dev_secret: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            deadline_share: 0.8,
        }
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("dev_secret", &self.dev_secret.as_ref().map(|_| "<set>"))
            .field("request_timeout", &self.request_timeout)
            .field("deadline_share", &self.deadline_share)
            .finish()
    }
}

impl ServerOptions {
    /// The secrets an adapter verifies with: `configured`, and in dev mode the dev secret for
    /// every required one that is missing.
    pub fn secrets_for(&self, descriptor: &AdapterDescriptor, configured: Secrets) -> Secrets {
        let mut secrets = configured;
        if let Some(dev) = &self.dev_secret {
            for spec in descriptor.secrets.iter().filter(|s| s.required) {
                if secrets.get(spec.name).is_none() {
                    secrets.insert(spec.name, dev.clone());
                }
            }
        }
        secrets
    }

    /// How long storing a request for `descriptor` may take.
    pub fn store_budget(&self, descriptor: &AdapterDescriptor) -> Duration {
        let deadline = descriptor.ack_deadline.unwrap_or(DEFAULT_ACK_DEADLINE);
        let share = if self.deadline_share.is_finite() && self.deadline_share > 0.0 {
            self.deadline_share.min(1.0)
        } else {
            0.8
        };
        deadline.mul_f64(share)
    }
}
