//! What `proxy` and `replay` share about listening: the connection limits,
//! the warning for an address other hosts can reach, the shutdown signals
//! and serving until them.

use std::net::SocketAddr;
use std::time::Duration;

use thinktee_proxy::{Server, default_max_connections};
use tokio::sync::watch;

/// `--max-connections` and `--client-idle-timeout-s`.
#[derive(Debug, clap::Args)]
pub(crate) struct Limits {
    /// Most client connections open at once. At the cap the oldest one
    /// that has sent nothing or sits idle between requests is closed to
    /// make room; when all are busy, new clients wait. Default: from the
    /// open-file limit, (soft limit - 32) / 3 within 8..=16384 (each
    /// connection may need an upstream socket and a capture file).
    #[arg(
        long,
        value_name = "N",
        default_value_t = default_max_connections(),
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..),
    )]
    max_connections: usize,
    /// Close a client connection that goes this long without a request in
    /// flight (before its first request, between keep-alive requests,
    /// HTTP/2 with no open stream), and answer 408 to a request body that
    /// stalls this long, in seconds; 0 waits forever.
    #[arg(long, value_name = "S", default_value_t = 60)]
    client_idle_timeout_s: u64,
}

impl Limits {
    /// The idle timeout, `None` when off.
    pub(crate) fn client_idle_timeout(&self) -> Option<Duration> {
        (self.client_idle_timeout_s > 0).then(|| Duration::from_secs(self.client_idle_timeout_s))
    }

    /// Applies the connection cap (the idle timeout reaches the server
    /// through the proxy's or the replay's own settings).
    pub(crate) fn limit(&self, server: Server) -> Server {
        server.max_connections(self.max_connections)
    }
}

/// Whether other hosts may reach `addr`: anything but a loopback address
/// (an IPv4-mapped IPv6 loopback counts as loopback).
pub(crate) fn is_exposed(addr: SocketAddr) -> bool {
    !addr.ip().to_canonical().is_loopback()
}

/// One stderr line when `--listen` is not a loopback address: thinktee has
/// no authentication of its own.
pub(crate) fn warn_if_exposed(command: &str, addr: SocketAddr) {
    if is_exposed(addr) {
        crate::logging::say!(warn:
            "thinktee {command}: warning: --listen {addr} is not a loopback address; \
             other hosts can connect (thinktee has no authentication of its own)"
        );
    }
}

/// The shutdown signals, counted: Ctrl-C (SIGINT), SIGTERM and SIGHUP on
/// unix, Ctrl-C elsewhere. The first asks for a graceful shutdown, the
/// second for an immediate one. Listening replaces the default action
/// (being killed) for the process's lifetime. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Signals {
    count: watch::Receiver<u32>,
}

impl Signals {
    /// Starts listening (on the current runtime).
    pub(crate) fn listen() -> std::io::Result<Signals> {
        let (tx, count) = watch::channel(0u32);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut int = signal(SignalKind::interrupt())?;
            let mut term = signal(SignalKind::terminate())?;
            let mut hup = signal(SignalKind::hangup())?;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                        _ = hup.recv() => {}
                    }
                    tx.send_modify(|n| *n += 1);
                }
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                tx.send_modify(|n| *n += 1);
            }
        });
        Ok(Signals { count })
    }

    /// Waits until `n` signals have come.
    pub(crate) async fn nth(&self, n: u32) {
        let mut count = self.count.clone();
        if count.wait_for(|&c| c >= n).await.is_err() {
            // The listener is gone: no signal will come.
            std::future::pending::<()>().await;
        }
    }
}

/// Serves `server` until the first signal, then lets what is open finish
/// within the server's grace period; a second signal runs `on_second` and
/// cuts what is still open at once.
pub(crate) async fn serve_until_signalled(
    server: Server,
    signals: &Signals,
    on_second: impl FnOnce(),
) -> anyhow::Result<()> {
    // On a worker thread, not the one blocked in `block_on`: the accept
    // loop then runs next to the connections it spawns.
    let first = signals.clone();
    let mut serving = tokio::spawn(server.run(async move { first.nth(1).await }));
    tokio::select! {
        served = &mut serving => served??,
        () = signals.nth(2) => {
            on_second();
            serving.abort();
            let _ = serving.await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_only_loopback_addresses_are_private() {
        let exposed = |s: &str| is_exposed(s.parse().unwrap());
        assert!(!exposed("127.0.0.1:8080"));
        assert!(!exposed("127.1.2.3:8080"));
        assert!(!exposed("[::1]:8080"));
        assert!(!exposed("[::ffff:127.0.0.1]:8080"));
        assert!(exposed("0.0.0.0:8080"));
        assert!(exposed("[::]:8080"));
        assert!(exposed("192.168.1.20:8080"));
        assert!(exposed("[2001:db8::1]:8080"));
    }
}
