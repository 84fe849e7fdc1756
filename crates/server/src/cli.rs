//! Command line: `switchboard run [--config PATH]` and `switchboard check PATH`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The default config, compiled in so `switchboard run` works from any
/// directory even when `config/switchboard.toml` is not beside it.
const EMBEDDED_CONFIG: &str = include_str!("../../../config/switchboard.toml");
const DEFAULT_CONFIG_PATH: &str = "config/switchboard.toml";

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "SIP softswitch for small online stores"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the switch.
    Run {
        /// Config file. Without it, config/switchboard.toml if present, else the embedded default.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate a config file; prints every problem as file:line:column.
    Check {
        /// The config file to check.
        path: PathBuf,
    },
    /// Print the path a call would take through the dial plan, on a simulated clock, with no
    /// network.
    Simulate {
        /// The config file.
        #[arg(long)]
        config: PathBuf,
        /// The number called.
        #[arg(long)]
        to: String,
        /// The caller's number.
        #[arg(long, default_value = "anonymous")]
        from: String,
        /// When the call arrives, RFC 3339 (e.g. 2026-11-24T10:00:00+03:00); default: now.
        #[arg(long)]
        at: Option<String>,
        /// Keys typed each time a menu waits, comma-separated (e.g. 1,12#,,0; empty: none).
        #[arg(long, default_value = "")]
        digits: String,
        /// Nobody answers rings and transfers (follow the fallbacks).
        #[arg(long)]
        no_answer: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { path } => check(&path),
        Command::Run { config } => run(config),
        Command::Simulate {
            config,
            to,
            from,
            at,
            digits,
            no_answer,
        } => simulate(&config, to, from, at.as_deref(), &digits, !no_answer),
    }
}

/// `switchboard simulate`: runs the dial plan's flow interpreter on a simulated clock.
fn simulate(
    config: &Path,
    to: String,
    from: String,
    at: Option<&str>,
    digits: &str,
    answer: bool,
) -> ExitCode {
    let plan = match dialplan::load(config) {
        Ok(plan) => plan,
        Err(diags) => {
            print_diagnostics(&diags);
            return ExitCode::FAILURE;
        }
    };
    let at = match at {
        Some(s) => match dialplan::parse_wall_time(s) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("switchboard: --at: {e}");
                return ExitCode::FAILURE;
            }
        },
        // A driver: the wall clock is read here, once, when no --at is given.
        #[allow(clippy::disallowed_methods)]
        None => std::time::SystemTime::now().into(),
    };
    let entries = if digits.is_empty() {
        Vec::new()
    } else {
        dialplan::parse_entries(digits)
    };
    let scenario = dialplan::Scenario {
        to,
        from,
        at,
        entries,
        answer,
    };
    // Only the origin of the simulated clock; nothing waits on it.
    #[allow(clippy::disallowed_methods)]
    let base = std::time::Instant::now();
    let plan = std::sync::Arc::new(plan);
    match dialplan::simulate(plan.clone(), &scenario, base) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let known: Vec<&str> = plan.numbers().iter().map(|n| n.number.as_str()).collect();
            eprintln!(
                "switchboard: {e} ({}); numbers there: {}",
                config.display(),
                known.join(", ")
            );
            ExitCode::FAILURE
        }
    }
}

fn check(path: &Path) -> ExitCode {
    match dialplan::load(path) {
        Ok(plan) => {
            for w in plan.warnings() {
                eprintln!("{w}");
            }
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(diags) => {
            print_diagnostics(&diags);
            ExitCode::FAILURE
        }
    }
}

fn print_diagnostics(diags: &[dialplan::Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

fn run(config: Option<PathBuf>) -> ExitCode {
    init_logging();
    // The file the switch runs on (and reloads); `None`: the embedded default.
    let config = config.or_else(|| {
        Path::new(DEFAULT_CONFIG_PATH)
            .exists()
            .then(|| PathBuf::from(DEFAULT_CONFIG_PATH))
    });
    let loaded = match &config {
        Some(path) => dialplan::load(path),
        None => dialplan::load_str("<embedded config/switchboard.toml>", EMBEDDED_CONFIG),
    };
    let plan = match loaded {
        Ok(plan) => plan,
        Err(diags) => {
            print_diagnostics(&diags);
            eprintln!("switchboard: the config has errors; not starting");
            return ExitCode::FAILURE;
        }
    };
    for w in plan.warnings() {
        tracing::warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::driver::run(plan, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}
