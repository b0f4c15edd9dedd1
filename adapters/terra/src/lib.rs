//! Nexus adapter for terra (being written).
