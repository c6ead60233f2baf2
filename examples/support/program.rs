//! `main` for the examples written once for both modes (`responses`, `structured`, `tools`):
//! parse the command line, run the program (a plain `fn` in the blocking build, an `async fn`
//! in the async one, made by maybe-async), and turn its outcome into the exit status.

/// Defines `main`: `$parse` reads the command line (see `common::command_line`) with the
/// usage text `$usage`, then `$run(&args)` runs the program.
macro_rules! example_main {
    ($usage:expr, $parse:path, $run:path) => {
        #[cfg(feature = "blocking")]
        fn main() -> std::process::ExitCode {
            match common::command_line($usage, $parse) {
                Ok(args) => match $run(&args) {
                    Ok(()) => std::process::ExitCode::SUCCESS,
                    Err(e) => common::failure(&e),
                },
                Err(code) => code,
            }
        }

        #[cfg(not(feature = "blocking"))]
        #[tokio::main]
        async fn main() -> std::process::ExitCode {
            match common::command_line($usage, $parse) {
                Ok(args) => match $run(&args).await {
                    Ok(()) => std::process::ExitCode::SUCCESS,
                    Err(e) => common::failure(&e),
                },
                Err(code) => code,
            }
        }
    };
}
