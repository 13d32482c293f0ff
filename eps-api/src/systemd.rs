//! systemd's readiness protocol (`sd_notify`) without libsystemd: one datagram to the unix
//! socket named by `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket). Without that
//! variable (not started by systemd with `Type=notify`) nothing is sent.

use std::io;
use std::os::unix::net::UnixDatagram;

/// Tells systemd the EPS is listening and serving (`READY=1`).
pub fn notify_ready() {
    notify("READY=1");
}

/// Tells systemd the EPS is shutting down (`STOPPING=1`).
pub fn notify_stopping() {
    notify("STOPPING=1");
}

/// Sends `state` when `NOTIFY_SOCKET` is set; a failure is logged, never fatal.
fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let socket = socket.to_string_lossy().into_owned();
    match send(&socket, state) {
        Ok(()) => tracing::debug!(state, "notified systemd"),
        Err(e) => tracing::warn!(error = %e, socket = %socket, state, "cannot notify systemd"),
    }
}

/// Sends one datagram `state` to `socket`.
fn send(socket: &str, state: &str) -> io::Result<()> {
    let sender = UnixDatagram::unbound()?;
    if let Some(name) = socket.strip_prefix('@') {
        send_abstract(&sender, name, state)
    } else {
        sender.send_to(state.as_bytes(), socket).map(drop)
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(sender: &UnixDatagram, name: &str, state: &str) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    sender.send_to_addr(state.as_bytes(), &address).map(drop)
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &str, _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract unix sockets exist only on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: std::time::Duration = std::time::Duration::from_secs(10);

    #[test]
    fn a_datagram_reaches_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        send(path.to_str().unwrap(), "READY=1").unwrap();
        // A bound on a lost datagram, not a pause.
        receiver.set_read_timeout(Some(BOUND)).unwrap();
        let mut buffer = [0_u8; 64];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_datagram_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("eps-notify-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let receiver = UnixDatagram::bind_addr(&address).unwrap();
        send(&format!("@{name}"), "STOPPING=1").unwrap();
        // A bound on a lost datagram, not a pause.
        receiver.set_read_timeout(Some(BOUND)).unwrap();
        let mut buffer = [0_u8; 64];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"STOPPING=1");
    }
}
