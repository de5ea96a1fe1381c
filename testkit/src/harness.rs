//! The test harness of the targets with `harness = false`: collects the `#[testkit::test]`
//! functions, looks once for each service they need, and runs them with libtest-mimic, which
//! takes libtest's arguments (filters, `--exact`, `--skip`, `--list`, `--ignored`, …).
//!
//! A test whose service is missing is marked ignored, so the summary counts it as such, and
//! the reason is printed once per service. Under CI ([`crate::ci`]) such a test fails instead.

use std::collections::BTreeMap;
use std::future::Future;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::Service;

/// One registered test (what `#[testkit::test]` expands to).
#[derive(Debug)]
pub struct Test {
    /// `module_path!()::name`; the harness leaves out the crate, as libtest does.
    pub path: &'static str,
    pub needs: &'static [Service],
    pub run: fn(),
}

inventory::collect!(Test);

/// The tokio runtime an async test runs on, as `#[tokio::test]` would build it.
#[derive(Debug, Clone, Copy)]
pub enum Runtime {
    CurrentThread,
    /// With this many worker threads (tokio's default without).
    MultiThread(Option<usize>),
}

impl Runtime {
    pub fn block_on<F: Future<Output = ()>>(self, test: F) {
        let mut builder = match self {
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Runtime::MultiThread(workers) => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                if let Some(n) = workers {
                    b.worker_threads(n);
                }
                b
            }
        };
        builder
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("the test's tokio runtime: {e}"))
            .block_on(test);
    }
}

impl Test {
    /// The name libtest would give it: the path without the crate.
    fn name(&self) -> &'static str {
        self.path
            .split_once("::")
            .map_or(self.path, |(_, rest)| rest)
    }
}

/// Runs the registered tests as the command line says, then exits with libtest's status.
pub fn run() -> ! {
    let args = Arguments::from_args();
    let mut tests: Vec<&'static Test> = inventory::iter::<Test>.into_iter().collect();
    tests.sort_by_key(|t| t.name());
    // Listing runs nothing, so it looks for nothing.
    let missing: BTreeMap<Service, String> = if args.list {
        BTreeMap::new()
    } else {
        let mut needed: Vec<Service> = tests
            .iter()
            .filter(|t| selected(&args, t.name()))
            .flat_map(|t| t.needs.iter().copied())
            .collect();
        needed.sort();
        needed.dedup();
        needed
            .into_iter()
            .filter_map(|s| s.probe().err().map(|why| (s, why)))
            .collect()
    };
    let required = crate::ci();
    let mut affected: BTreeMap<Service, usize> = BTreeMap::new();
    let trials = tests
        .iter()
        .map(|test| {
            let absent = test.needs.iter().find(|s| missing.contains_key(s));
            if let Some(service) = absent
                && selected(&args, test.name())
            {
                *affected.entry(*service).or_default() += 1;
            }
            match absent {
                None => {
                    let run = test.run;
                    Trial::test(test.name(), move || {
                        run();
                        Ok(())
                    })
                }
                Some(_) if !required => Trial::test(test.name(), || Ok(())).with_ignored_flag(true),
                Some(service) => {
                    let why = format!(
                        "{service:?} is required under CI (CI=true) but unavailable: {}",
                        missing[service]
                    );
                    Trial::test(test.name(), move || Err(Failed::from(why)))
                }
            }
        })
        .collect();
    for (service, count) in &affected {
        let tests = if *count == 1 { "test" } else { "tests" };
        if required {
            println!("failing {count} {tests} (CI=true): {}", missing[service]);
        } else {
            println!(
                "skipped {count} {tests}: {}; with CI=true they fail instead",
                missing[service]
            );
        }
    }
    libtest_mimic::run(&args, trials).exit()
}

/// Whether the command line's filters select `name`, as libtest decides.
fn selected(args: &Arguments, name: &str) -> bool {
    let matches = |pattern: &str| {
        if args.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}
