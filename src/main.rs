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
    if let Some(cond) = &cli.check_cond {
        return check_condition(cond);
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
    env.insert("HAPROXY_LOCALPEER".into(), peer.clone());
    if cli.local_peer.is_some() {
        env.insert(
            config::parse::peers::LOCALPEER_FROM_CMDLINE.into(),
            String::new(),
        );
    }
    let env_for_reload = env.clone();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "haproxide".into());
    if cli.check {
        return check(&cli, env, exe);
    }
    let mut loaded = config::load(&cli.files, env);
    haproxide::report::add_server_state(&mut loaded);
    let quiet = (cli.quiet || loaded.quiet) && !cli.verbose;
    let loader = {
        let (files, exe) = (cli.files.clone(), exe.clone());
        haproxide::runtime::proc::reload::Loader::new(move || {
            let mut loaded = config::load(&files, env_for_reload.clone());
            haproxide::report::add_server_state(&mut loaded);
            let messages =
                config::check_report(&loaded, std::process::id(), &exe, false, false).stderr;
            haproxide::runtime::proc::reload::Reread {
                config: loaded.config,
                messages,
            }
        })
    };
    let report = config::check_report(&loaded, std::process::id(), &exe, cli.zero_warning, false);
    if !quiet {
        let _ = std::io::stderr().write_all(report.stderr.as_bytes());
    }
    let Some(cfg) = loaded.config else {
        return ExitCode::from(1);
    };
    if loaded.listeners == 0 {
        return ExitCode::from(2);
    }
    // Still one thread: the environment may change safely.
    haproxide::runtime::proc::process::export_env(&cfg, &peer, &loaded.files);
    let pid = std::process::id();
    // What is not built yet is refused by name rather than done differently.
    // A worker started by a master (it inherits the listeners; see runtime::master).
    let worker = haproxide::runtime::proc::master::started_by_master();
    if !worker && std::env::var_os(haproxide::runtime::proc::master::ENV_FDS).is_some() {
        // Only a master hands listeners over; the variable alone is not trusted.
        std::env::remove_var(haproxide::runtime::proc::master::ENV_FDS);
        std::env::remove_var(haproxide::runtime::proc::master::ENV_READY);
        if !quiet {
            eprintln!("[WARNING]  ({pid}) : haproxide: {} is set but this process was not started by a haproxide master: ignored.", haproxide::runtime::proc::master::ENV_FDS);
        }
    }
    let daemon = (cli.daemon || cfg.global.daemon) && !cli.foreground && !cli.debug && !worker;
    let master = (cli.master_worker || cfg.global.master_worker) && !worker;
    if !quiet && !cli.master_cli.is_empty() && !master && !worker {
        eprintln!("[WARNING]  ({pid}) : haproxide: -S (master CLI) applies to master-worker mode (-W, -Ws); ignored.");
    }
    if master {
        let mut worker_args: Vec<String> = Vec::new();
        // -sf/-st/-x concern the processes running when the master starts: only its first
        // worker gets them, never one started later (those pids may be reused by then).
        let mut first_only: Vec<String> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            match args[i].as_str() {
                "-W" | "-Ws" | "-D" | "-db" | "-d" => {}
                "-p" => i += 1,
                "-x" => {
                    first_only.extend(args[i..(i + 2).min(args.len())].iter().cloned());
                    i += 1;
                }
                "-sf" | "-st" => {
                    first_only.push(args[i].clone());
                    while args.get(i + 1).is_some_and(|a| a.parse::<u32>().is_ok()) {
                        i += 1;
                        first_only.push(args[i].clone());
                    }
                }
                other => worker_args.push(other.to_string()),
            }
            i += 1;
        }
        // Workers stay in the foreground; with -d they print the debug lines.
        worker_args.push(if cli.debug { "-d" } else { "-db" }.into());
        let mo = haproxide::runtime::proc::master::MasterOptions {
            quiet,
            systemd: cli.systemd,
            loader: loader.clone(),
            exe: exe.clone(),
            worker_args,
            first_only,
            pidfile: cli.pidfile.clone().or(cfg.global.pidfile.clone()),
            maxconn: cli.maxconn,
            master_cli: cli.master_cli.clone(),
        };
        return match haproxide::runtime::proc::master::run(cfg, mo) {
            Ok(code) => ExitCode::from(code as u8),
            Err(e) => {
                eprintln!("[ALERT]    ({pid}) : haproxide master: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let opts = haproxide::runtime::RunOptions {
        quiet,
        maxconn: cli.maxconn,
        loader,
        daemon,
        pidfile: if worker {
            None
        } else {
            cli.pidfile.clone().or(cfg.global.pidfile.clone())
        },
        worker,
        finish: cli.soft_finish.clone(),
        terminate: cli.hard_terminate.clone(),
        fd_socket: cli.fd_socket.clone(),
        debug: cli.debug,
    };
    match haproxide::runtime::run(cfg, opts) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("[ALERT]    ({pid}) : haproxide: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `-c`: checks the configuration (or each one, with `--each`), prints the report in the
/// format asked for and, with `--diff`, what a reload from the old configuration would do.
fn check(cli: &cli::Cli, env: BTreeMap<String, String>, exe: String) -> ExitCode {
    use haproxide::report;
    let file_checks = if cli.no_file_checks {
        config::FileChecks::MissingIsWarning
    } else {
        config::FileChecks::Strict
    };
    let configs = if cli.each {
        cli.files.iter().map(|f| vec![f.clone()]).collect()
    } else {
        vec![cli.files.clone()]
    };
    let req = report::Request {
        configs,
        env: env.clone(),
        zero_warning: cli.zero_warning,
        file_checks,
        exe: exe.clone(),
    };
    let all = report::check_all(&req);
    let mut code = report::exit_code(&all);
    if cli.json {
        // One JSON object per diagnostic, as before --format existed.
        for c in &all {
            let _ = std::io::stdout().write_all(c.verdict.json_lines().as_bytes());
        }
        return ExitCode::from(code as u8);
    }
    let format = cli.format.as_deref().unwrap_or("text");
    let quiet =
        format == "text" && (cli.quiet || all.iter().all(|c| c.loaded.quiet)) && !cli.verbose;
    let mut reload = None;
    // An OLD configuration that does not load is said after the report, which stands.
    let mut old_error = None;
    if let Some(old) = &cli.diff {
        let before = config::load_with(std::slice::from_ref(old), env, file_checks);
        match (before.config, all[0].loaded.config.as_ref()) {
            (None, _) => {
                let alerts = before
                    .diags
                    .items
                    .iter()
                    .filter(|d| d.level == config::diag::Level::Alert && d.fatal)
                    .count();
                old_error = Some(format!("haproxide: --diff: '{old}' is not a valid configuration ({alerts} alert(s); check it with -c -f {old}): nothing to compare with."));
                code = 1;
            }
            (Some(old_cfg), Some(new_cfg)) => reload = Some(report::diff::diff(&old_cfg, new_cfg)),
            (Some(_), None) => {
                old_error = (!quiet).then(|| format!("haproxide: --diff: this configuration is invalid: a reload would fail and '{old}' would keep serving."));
            }
        }
    }
    let json_reload = reload.as_ref().map(|d| d.json());
    let out = report::render(format, &all, cli.each, json_reload.as_deref());
    if !quiet {
        let _ = std::io::stderr().write_all(out.stderr.as_bytes());
        let _ = std::io::stdout().write_all(out.stdout.as_bytes());
        if let (Some(d), "text") = (&reload, format) {
            let _ = std::io::stdout().write_all(d.text().as_bytes());
        }
    }
    if let Some(e) = old_error {
        eprintln!("{e}");
    }
    ExitCode::from(code as u8)
}

/// `-cc <cond>`: the condition as `.if` reads it, with the process environment; exit 0
/// when true, 1 when false, 2 with haproxy's alert when it does not parse.
fn check_condition(cond: &str) -> ExitCode {
    use haproxide::config::cond;
    let defined = |n: &str| std::env::var_os(n).is_some();
    let cx = cond::Context {
        defined: &defined,
        features: cond::FEATURES,
        version: cond::VERSION,
    };
    match cond::eval(cond, &cx) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            let pid = std::process::id();
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "haproxide".into());
            eprintln!(
                "[NOTICE]   ({pid}) : haproxide version is {}",
                env!("CARGO_PKG_VERSION")
            );
            eprintln!("[NOTICE]   ({pid}) : path to executable is {exe}");
            eprintln!(
                "[ALERT]    ({pid}) : config : Failed to evaluate condition: {}",
                e.msg
            );
            ExitCode::from(2)
        }
    }
}
