//! The `switchboard` binary. Everything lives in the library; see `lib.rs`.

/// jemalloc with its background thread purges freed pages after a few seconds;
/// glibc's malloc kept ~35 MB of freed memory after a load peak and never gave
/// it back (benches/RESULTS.md, "Allocator experiment").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("switchboard: jemalloc background thread not started: {e}");
    }
    switchboard::cli::main()
}
