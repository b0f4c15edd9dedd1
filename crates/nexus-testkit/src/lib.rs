//! # nexus-testkit
//!
//! Test support for Nexus adapters, shared by the conformance harness and by adapter authors:
//!
//! - [`case`]: the recorded-case file format (`docs/recorded-cases.md`) and loading a folder of
//!   cases;
//! - [`replay`]: a real HTTP server on loopback that serves a step's recorded provider API
//!   exchanges to the adapter's `fetch` and names every unexpected request;
//! - [`runner`]: drives an adapter through a case the way the gateway would (handshake, verify,
//!   parse, fetch, normalize, dedupe, envelopes) on one in-memory dedupe state;
//! - [`snapshot`]: the shared insta settings and snapshot comparison of envelopes.

pub mod case;
pub mod replay;
pub mod runner;
pub mod snapshot;

pub use case::{
    Case, Expect, LoadedCase, ScheduledFetch, SequenceSuite, Step, Trigger, load_case, load_cases,
};
pub use replay::ReplayServer;
pub use runner::{Session, Stage, StepOptions, StepOutcome, StepRun, run_case, run_named};
