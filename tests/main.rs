//! Every end-to-end test in one binary, so CI links once (the ripgrep pattern): the real
//! `wharf` binary and a real control plane over loopback HTTP, one module per behaviour. The
//! tests that need PostgreSQL, skopeo, umoci or docker-registry are `#[ignore]`d here and run
//! by `.ci/run` with `--include-ignored`.

mod support;

mod access;
mod adapter_voice;
mod api;
mod attacker;
mod ci_context;
mod cli_errors;
mod crash;
mod docker_registry;
mod door;
mod facets;
mod keyless;
mod lifecycle;
mod object_storage;
mod promises;
mod promote;
mod protection;
mod push;
mod referrers;
mod register;
mod registry;
mod replicas;
mod secrets;
mod serve;
mod serving;
mod skopeo;
mod strategies;
mod supply_chain;
mod team_path;
mod ui;
mod webhooks;
