//! The `healthcheck` subcommand of every service: asks the local `/readyz` (the `BIND`
//! address, a wildcard replaced by loopback) and exits 0 only on `200`. Container and
//! Kubernetes health checks run it, so images need no shell or curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long the whole check may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Where a service bound to `bind` is reached from its own host.
#[must_use]
pub fn local_address(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// `Ok` when `GET /readyz` on the service bound to `bind` answers `200`.
///
/// # Errors
/// One line saying why not: nothing listening, no answer in time, or the status.
pub async fn check(bind: SocketAddr) -> Result<(), String> {
    let address = local_address(bind);
    match tokio::time::timeout(TIMEOUT, ask(address)).await {
        Ok(Ok(200)) => Ok(()),
        Ok(Ok(status)) => Err(format!("{address}/readyz answered {status}: not ready")),
        Ok(Err(e)) => Err(format!("{address}/readyz: {e}")),
        Err(_) => Err(format!("{address}/readyz: no answer within {TIMEOUT:?}")),
    }
}

/// The status code of `GET /readyz` (HTTP/1.1, one request, connection closed).
async fn ask(address: SocketAddr) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    // The status line is all we need.
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .filter(|_| line.starts_with("HTTP/"))
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_reached_on_loopback() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(local_address(a("0.0.0.0:8000")), a("127.0.0.1:8000"));
        assert_eq!(local_address(a("[::]:8000")), a("[::1]:8000"));
        assert_eq!(local_address(a("10.1.2.3:8001")), a("10.1.2.3:8001"));
    }
}
