//! The one integration-test binary: every test talks real HTTP to servers on
//! 127.0.0.1 that it starts itself (the embedded simulator), with bounded
//! request counts and time.

mod architecture;
mod bench;
mod build;
mod cli;
mod common;
mod dataset_configs;
mod e2e;
mod init;
mod reliability;
mod schema;
mod scripts;
mod search;
