//! `campaign-timely [--mode uncoordinated|sealed|ordered] [--workers N] [--seed S]
//! [--campaigns C] [--clicks K]`: runs the CAMPAIGN query and prints the responses, with a check
//! against the right answers. Exit 0 when correct (sealed) or when the replicas agree (ordered),
//! 1 otherwise, 2 on a usage error.

use std::process::ExitCode;

use campaign_timely::{Mode, RunConfig, reference, run, workload};

fn usage(msg: &str) -> ExitCode {
    eprintln!(
        "error: {msg}\nusage: campaign-timely [--mode uncoordinated|sealed|ordered] [--workers N] [--seed S] [--campaigns C] [--clicks K]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut mode = Mode::Sealed;
    let mut workers = 2usize;
    let mut seed = 0u64;
    let mut campaigns = 6u32;
    let mut clicks = 400usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            return usage(&format!("`{flag}` needs a value"));
        };
        let parsed = match flag.as_str() {
            "--mode" => value.parse().map(|m| mode = m),
            "--workers" => value
                .parse()
                .map(|n| workers = n)
                .map_err(|e| format!("{e}")),
            "--seed" => value.parse().map(|s| seed = s).map_err(|e| format!("{e}")),
            "--campaigns" => value
                .parse()
                .map(|c| campaigns = c)
                .map_err(|e| format!("{e}")),
            "--clicks" => value
                .parse()
                .map(|k| clicks = k)
                .map_err(|e| format!("{e}")),
            other => Err(format!("unknown flag `{other}`")),
        };
        if let Err(e) = parsed {
            return usage(&format!("{flag} {value}: {e}"));
        }
    }
    if workers == 0 || campaigns == 0 {
        return usage("--workers and --campaigns must be at least 1");
    }
    let (click_log, requests) = workload(campaigns, clicks);
    let config = RunConfig {
        mode,
        workers,
        seed,
    };
    let outcome = match run(&config, &click_log, &requests) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for (replica, responses) in &outcome.responses {
        for (campaign, id, n) in responses {
            println!("{replica}\t{campaign}\t{id}\t{n}");
        }
    }
    for e in &outcome.errors {
        eprintln!("seal barrier: {e}");
    }
    let ok = match mode {
        Mode::Ordered => {
            let mut replicas = outcome.responses.values();
            let first = replicas.next();
            replicas.all(|r| Some(r) == first)
        }
        _ => outcome.all() == reference(&click_log, &requests),
    };
    eprintln!(
        "{mode:?} on {workers} worker(s): {} responses, {}",
        outcome.all().len(),
        match (mode, ok) {
            (Mode::Ordered, true) => "replicas agree",
            (Mode::Ordered, false) => "replicas DISAGREE",
            (_, true) => "correct",
            (_, false) => "WRONG (differs from the reference answers)",
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
