//! The `eps` binary run as a process: its command line and `serve` (`cli`),
//! SIGKILL mid-payment and recovery on restart (`crash`), with sixteen terminals committing at
//! once (`crash_batch`), after every durable step of every
//! operation and with every kind of terminal answer lost (`crash_matrix`), `eps demo` (`demo`),
//! what its log never shows (`event_logs`, `secrets`), `--help`, `config check` and systemd
//! readiness (`operations`). One test binary, so `support` holds the process helpers once:
//! building the command, starting `eps serve` and reading its JSON log until it is ready,
//! stopping it with SIGTERM, and a token and a connection over HTTP.

mod cli;
mod crash;
mod crash_batch;
mod crash_matrix;
mod demo;
mod event_logs;
mod operations;
mod secrets;
mod support;
