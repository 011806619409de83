//! `wordcount-timely [--mode uncoordinated|sealed|ordered] [--workers N] [--seed S]
//! [--batches B] [--tweets T] [--processes 1|2]`: runs the word count and prints what `commit` stored, with a
//! check against the right answer. Exit 0 when correct, 1 when not, 2 on a usage error.

use std::process::ExitCode;

use wordcount_timely::{Mode, RunConfig, reference, run, run_two_processes, tweets};

fn usage(msg: &str) -> ExitCode {
    eprintln!(
        "error: {msg}\nusage: wordcount-timely [--mode uncoordinated|sealed|ordered] [--workers N] [--seed S] [--batches B] [--tweets T] [--processes 1|2]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut mode = Mode::Sealed;
    let mut workers = 2usize;
    let mut seed: Option<u64> = None;
    let mut batches = 4u64;
    let mut per_batch = 50usize;
    let mut processes = 1usize;
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
            "--seed" => value
                .parse()
                .map(|s| seed = Some(s))
                .map_err(|e| format!("{e}")),
            "--batches" => value
                .parse()
                .map(|b| batches = b)
                .map_err(|e| format!("{e}")),
            "--tweets" => value
                .parse()
                .map(|t| per_batch = t)
                .map_err(|e| format!("{e}")),
            "--processes" => value
                .parse()
                .map(|p| processes = p)
                .map_err(|e| format!("{e}")),
            other => Err(format!("unknown flag `{other}`")),
        };
        if let Err(e) = parsed {
            return usage(&format!("{flag} {value}: {e}"));
        }
    }
    if workers == 0 {
        return usage("--workers must be at least 1");
    }
    if !(1..=2).contains(&processes) {
        return usage("--processes must be 1 or 2 (two processes run on loopback addresses)");
    }
    let input = tweets(batches, per_batch);
    let config = RunConfig {
        mode,
        workers,
        jitter: seed,
    };
    let result = if processes == 2 {
        run_two_processes(&config, &input)
    } else {
        run(&config, &input)
    };
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for (word, batch, count) in &outcome.committed {
        println!("{batch}\t{word}\t{count}");
    }
    for e in &outcome.errors {
        eprintln!("seal barrier: {e}");
    }
    let correct = outcome.committed == reference(&input);
    eprintln!(
        "{mode:?} on {processes} process(es) x {workers} worker(s): {} words, {} committed tuples, {}",
        outcome.words,
        outcome.committed.len(),
        if correct {
            "correct"
        } else {
            "WRONG (differs from the reference count)"
        }
    );
    if correct {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
