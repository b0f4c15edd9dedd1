//! One module per subcommand.

pub mod adapters;
pub mod backup;
pub mod config;
pub mod connections;
pub mod deliveries;
pub mod dev;
mod gateway;
pub mod normalize;
pub mod replay;
pub mod schema;
pub mod serve;
