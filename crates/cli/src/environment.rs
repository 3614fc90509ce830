//! Every argument of `proxy` and `replay` also comes from an environment
//! variable, the way containers and service managers are configured.
//!
//! The name is the long flag in upper case, `-` as `_`, after a prefix:
//! `THINKTEE_` for `proxy` (`--upstream` is `THINKTEE_UPSTREAM`),
//! `THINKTEE_REPLAY_` for `replay` (`--chunk-delay-ms` is
//! `THINKTEE_REPLAY_CHUNK_DELAY_MS`; the recordings, an argument without a
//! flag, `THINKTEE_REPLAY_PATHS`). Flags of every command (`--log-format`)
//! are `THINKTEE_` plus the flag. A flag on the command line wins over its
//! variable; the proxy's OpenTelemetry flags then fall back on the standard
//! `OTEL_*` variables. A repeatable argument takes one value from its
//! variable; an on/off flag takes `true`/`false` (also `1`/`0`, `yes`/`no`,
//! `on`/`off`).
//!
//! The names are given here, by rule, rather than on each field: a flag
//! added later gets its variable without anyone remembering it.
//!
//! `split`, `events`, `analyze` and `demo` read no variables for their
//! flags: an exported variable would silently change what scripts read.

use clap::{Arg, ArgAction, Command};

/// Commands whose arguments have variables, and their prefix.
pub(crate) const COMMANDS: [(&str, &str); 2] =
    [("proxy", "THINKTEE_"), ("replay", "THINKTEE_REPLAY_")];

/// `prefix` + the argument's long flag (or, without one, its id), upper
/// case, `-` as `_`.
pub(crate) fn variable(prefix: &str, arg: &Arg) -> String {
    let name = arg.get_long().unwrap_or(arg.get_id().as_str());
    format!("{prefix}{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// Gives every argument of the [`COMMANDS`] its variable. Their values are
/// not shown in `--help` (an upstream URL may carry a key).
pub(crate) fn with_variables(mut command: Command) -> Command {
    for (name, prefix) in COMMANDS {
        command = command.mut_subcommand(name, |sub| {
            sub.mut_args(|arg| {
                let var = variable(prefix, &arg);
                let arg = arg.env(var).hide_env_values(true);
                if matches!(arg.get_action(), ArgAction::SetTrue) {
                    // On the command line a flag takes no value; from its
                    // variable, the usual spellings of on and off.
                    arg.value_parser(clap::builder::BoolishValueParser::new())
                } else {
                    arg
                }
            })
        });
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command as `main` parses it, with global flags propagated.
    fn built() -> Command {
        let mut command = crate::command();
        command.build();
        command
    }

    fn is_help_or_version(arg: &Arg) -> bool {
        matches!(arg.get_action(), ArgAction::Help | ArgAction::HelpLong | ArgAction::Version)
    }

    /// The rule, written out again: prefix, then the flag in upper case.
    fn by_rule(prefix: &str, arg: &Arg) -> String {
        let flag = arg.get_long().map_or_else(|| arg.get_id().to_string(), str::to_owned);
        format!("{prefix}{}", flag.to_uppercase().replace('-', "_"))
    }

    #[test]
    fn every_proxy_and_replay_argument_has_its_variable_named_by_the_rule() {
        let command = built();
        for (name, prefix) in [("proxy", "THINKTEE_"), ("replay", "THINKTEE_REPLAY_")] {
            let sub = command.find_subcommand(name).expect(name);
            let mut checked = 0;
            for arg in sub.get_arguments().filter(|a| !is_help_or_version(a)) {
                // Flags of every command are named without the command.
                let prefix = if arg.is_global_set() { "THINKTEE_" } else { prefix };
                let env = arg.get_env().and_then(|e| e.to_str());
                assert_eq!(env, Some(by_rule(prefix, arg).as_str()), "{name} {}", arg.get_id());
                assert!(
                    arg.is_hide_env_values_set(),
                    "{name} {}: values stay out of --help",
                    arg.get_id()
                );
                checked += 1;
            }
            assert!(checked > 5, "{name}: {checked} arguments");
        }
    }

    #[test]
    fn names_by_hand() {
        let command = built();
        let env = |sub: &str, id: &str| {
            let sub = command.find_subcommand(sub).unwrap();
            let arg = sub.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_env().unwrap().to_str().unwrap().to_owned()
        };
        assert_eq!(env("proxy", "upstream"), "THINKTEE_UPSTREAM");
        assert_eq!(env("proxy", "otlp_endpoint"), "THINKTEE_OTLP_ENDPOINT");
        assert_eq!(env("proxy", "max_connections"), "THINKTEE_MAX_CONNECTIONS");
        assert_eq!(env("proxy", "log_format"), "THINKTEE_LOG_FORMAT");
        assert_eq!(env("replay", "chunk_delay_ms"), "THINKTEE_REPLAY_CHUNK_DELAY_MS");
        assert_eq!(env("replay", "max_connections"), "THINKTEE_REPLAY_MAX_CONNECTIONS");
        assert_eq!(env("replay", "paths"), "THINKTEE_REPLAY_PATHS");
        assert_eq!(env("replay", "log_format"), "THINKTEE_LOG_FORMAT");
    }

    #[test]
    fn commands_that_write_for_scripts_read_no_variables() {
        let command = built();
        for sub in
            command.get_subcommands().filter(|s| !["proxy", "replay"].contains(&s.get_name()))
        {
            for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
                assert_eq!(arg.get_env(), None, "{} {}", sub.get_name(), arg.get_id());
            }
        }
    }
}
