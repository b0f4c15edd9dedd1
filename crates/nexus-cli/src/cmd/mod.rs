//! One module per subcommand.

pub mod adapters;
pub mod normalize;
pub mod schema;
