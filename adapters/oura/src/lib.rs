//! Nexus adapter for oura (being written).
