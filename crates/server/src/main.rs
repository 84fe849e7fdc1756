//! The `switchboard` binary. Everything lives in the library; see `lib.rs`.

fn main() -> std::process::ExitCode {
    switchboard::cli::main()
}
