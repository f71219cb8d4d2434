//! The `haproxide` binary: HAProxy's command line in front of the config checker and runtime.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use haproxide::{cli, config};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            print!("{}", cli::version_text(false));
            eprintln!("haproxide: {e}");
            eprint!("{}", cli::usage_text());
            return ExitCode::from(1);
        }
    };
    if cli.help {
        print!("{}", cli::version_text(false));
        eprint!("{}", cli::usage_text());
        return ExitCode::from(1);
    }
    if cli.version > 0 {
        print!("{}", cli::version_text(cli.version > 1));
        return ExitCode::SUCCESS;
    }
    if cli.files.is_empty() {
        print!("{}", cli::version_text(false));
        eprint!("{}", cli::usage_text());
        return ExitCode::from(1);
    }
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!(
                "[ALERT]    ({}) : config : Cannot chdir to {dir} : {e}",
                std::process::id()
            );
            return ExitCode::from(1);
        }
    }
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    // HAProxy defines the local peer name (the host name unless -L) before parsing.
    let peer = cli.local_peer.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    env.insert("HAPROXY_LOCALPEER".into(), peer);
    let loaded = config::load(&cli.files, env);
    let quiet = (cli.quiet || loaded.quiet) && !cli.verbose;
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "haproxide".into());
    let report = config::check_report(
        &loaded,
        std::process::id(),
        &exe,
        cli.zero_warning,
        cli.json,
    );
    if cli.check {
        if !quiet || cli.json {
            let _ = std::io::stderr().write_all(report.stderr.as_bytes());
            let _ = std::io::stdout().write_all(report.stdout.as_bytes());
        }
        return ExitCode::from(report.code as u8);
    }
    if !quiet {
        let _ = std::io::stderr().write_all(report.stderr.as_bytes());
    }
    if report.code == 1 {
        return ExitCode::from(1);
    }
    eprintln!(
        "[ALERT]    ({}) : haproxide cannot serve traffic yet: the runtime (listeners, balancing, checks) is not built. Only '-c' is available.",
        std::process::id()
    );
    ExitCode::from(1)
}
