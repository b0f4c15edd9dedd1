//! Nexus adapter for junction (being written).
