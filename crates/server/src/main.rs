//! `vigie-server` binary: reads the configuration, starts the server, stops it
//! gracefully on Ctrl-C or SIGTERM.

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vigie_server::auth::NewToken;
use vigie_server::{Config, start};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match std::env::args().nth(1).as_deref() {
        Some("new-token") => return new_token(),
        Some("cdn-files") => return cdn_files(),
        _ => {}
    }
    let config = Config::parse();
    let server = match start(config).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return std::process::ExitCode::FAILURE;
        }
    };
    let token = server.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    match server.wait().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Writes `_headers` and `nginx.conf` beside a dashboard build.
fn cdn_files() -> std::process::ExitCode {
    let args = vigie_server::cdn::CdnFiles::parse_from(std::env::args().skip(1));
    match args.write() {
        Ok(paths) => {
            for p in paths {
                println!("wrote {}", p.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vigie-server cdn-files: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints a new token once, and the tokens file entry that holds its hash.
fn new_token() -> std::process::ExitCode {
    let args = NewToken::parse_from(std::env::args().skip(1));
    match args.make() {
        Ok((token, entry)) => {
            println!(
                "token for {} (shown only this once):\n{token}",
                args.name.trim()
            );
            println!(
                "add to the \"tokens\" array of the tokens file (VIGIE_TOKENS_FILE):\n{entry}"
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vigie-server new-token: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
