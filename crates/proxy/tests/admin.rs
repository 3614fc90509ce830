//! The admin listener's limits: a connection cap and an idle timeout (a
//! request head included), so that silent or slow clients on the admin
//! address cannot hold its resources. Asserted by counting connections;
//! the timeouts below only guard against a hang.

use std::sync::Arc;
use std::time::Duration;

use thinktee_proxy::{
    ADMIN_IDLE_TIMEOUT, ADMIN_MAX_CONNECTIONS, AdminServer, Connections, Readiness,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Only against hangs: nothing here should take a fraction of it.
const GUARD: Duration = Duration::from_secs(30);

/// An admin listener on a free port, configured by `limits`, served on a
/// task: its address and connection counts.
async fn admin(
    limits: impl FnOnce(AdminServer) -> AdminServer,
) -> (std::net::SocketAddr, Connections) {
    let metrics = Arc::new(|| "# EOF\n".to_owned());
    let server =
        AdminServer::bind("127.0.0.1:0".parse().unwrap(), Readiness::new(), metrics).await.unwrap();
    let server = limits(server);
    let (addr, connections) = (server.local_addr(), server.connections());
    tokio::spawn(server.run());
    (addr, connections)
}

/// `GET /healthz` on a new connection: the whole response.
async fn healthz(addr: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = "GET /healthz HTTP/1.1\r\nhost: admin\r\nconnection: close\r\n\r\n";
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut reply = String::new();
    timeout(GUARD, stream.read_to_string(&mut reply)).await.expect("a reply").unwrap();
    reply
}

/// Reads until the server closes the connection (end of file, or a reset).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut sink = [0u8; 256];
    timeout(GUARD, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_cap_holds() {
    let (addr, connections) = admin(|a| a.idle_timeout(None)).await;
    let mut silent = Vec::new();
    for _ in 0..=ADMIN_MAX_CONNECTIONS {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    assert!(healthz(addr).await.starts_with("HTTP/1.1 200 OK\r\n"));
    closed_by_server(&mut silent[0]).await;
    closed_by_server(&mut silent[1]).await;
    assert_eq!((connections.peak(), connections.evicted()), (ADMIN_MAX_CONNECTIONS, 2));
}

/// On tokio's paused clock (it jumps to the next timer whenever the
/// runtime waits): the default timeout closes a silent client, before
/// the guard's 30 s.
#[tokio::test(start_paused = true)]
async fn the_default_idle_timeout_closes_a_silent_client() {
    assert!(ADMIN_IDLE_TIMEOUT < GUARD);
    let (addr, connections) = admin(|a| a).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    closed_by_server(&mut silent).await;
    assert_eq!((connections.closed_idle(), connections.evicted()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_make_room_at_the_cap_and_a_probe_gets_through() {
    let (addr, connections) = admin(|a| a.max_connections(2).idle_timeout(None)).await;
    let mut silent = Vec::new();
    for _ in 0..5 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let reply = healthz(addr).await;
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nok\n"), "{reply}");
    // Six connections through a cap of two: each newcomer past the second
    // closed the oldest silent one. The last silent one is still open.
    for stream in &mut silent[..4] {
        closed_by_server(stream).await;
    }
    assert_eq!((connections.peak(), connections.evicted()), (2, 4));
    assert_eq!(connections.closed_idle(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_slow_clients_are_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(50);
    let (addr, connections) = admin(|a| a.idle_timeout(Some(idle))).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    // A request head that never ends.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nhost: admin\r\n").await.unwrap();
    closed_by_server(&mut silent).await;
    closed_by_server(&mut slow).await;
    assert_eq!((connections.closed_idle(), connections.evicted()), (2, 0));
    assert_eq!(connections.peak(), 2);
}
