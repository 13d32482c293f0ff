//! The server's listener: accepted sockets get `TCP_NODELAY` (event frames are small and must
//! not wait for Nagle) and a send timeout: a write that stays blocked longer than
//! `events.send_timeout_secs` fails, which ends that connection. A client that stops reading an
//! event stream while its TCP window is full is thus dropped instead of holding its stream, and
//! its place in the broadcast, forever.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// A TCP listener whose connections time out blocked writes.
pub struct TimedListener {
    inner: TcpListener,
    send_timeout: Duration,
}

impl TimedListener {
    /// Wraps `inner`; writes blocked longer than `send_timeout` fail.
    pub fn new(inner: TcpListener, send_timeout: Duration) -> Self {
        Self {
            inner,
            send_timeout,
        }
    }
}

impl axum::serve::Listener for TimedListener {
    type Io = TimedStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's own accept loop: it retries (and backs off on) transient errors.
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        (TimedStream::new(stream, self.send_timeout), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The peer's address of a request, as [`axum::extract::ConnectInfo`] carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TimedListener>>
    for PeerAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TimedListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A stream whose writes fail once they have been blocked for longer than the timeout.
pub struct TimedStream<T> {
    inner: T,
    timeout: Duration,
    /// Running while a write (or flush) is blocked; reset by any progress.
    blocked: Option<Pin<Box<Sleep>>>,
}

impl<T> TimedStream<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            blocked: None,
        }
    }

    /// Passes a ready result through; on `Pending`, fails once blocked past the timeout.
    fn guard<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.blocked = None;
            return poll;
        }
        let timeout = self.timeout;
        let deadline = self
            .blocked
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(deadline.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer has not read for longer than the send timeout",
        )))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedStream<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.guard(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.guard(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_blocked_past_the_timeout_fails() {
        // A pipe with a 64-byte buffer stands for a peer that stopped reading.
        let (near, _far) = tokio::io::duplex(64);
        let mut stream = TimedStream::new(near, Duration::from_secs(5));
        stream.write_all(&[1; 64]).await.unwrap();
        // Blocked: with paused time the runtime jumps to the deadline.
        let err = stream.write_all(&[2; 8]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_resets_the_timeout_of_a_blocked_write() {
        // The peer reads 8 bytes every 4 s: each stall is shorter than the 5 s timeout, all of
        // them together far longer. Only a timer that every bit of progress resets lets the
        // write through.
        let (near, mut far) = tokio::io::duplex(64);
        let mut stream = TimedStream::new(near, Duration::from_secs(5));
        stream.write_all(&[1; 64]).await.unwrap();
        let reader = tokio::spawn(async move {
            let mut read = 0;
            while read < 128 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                let mut buf = [0; 8];
                read += far.read(&mut buf).await.unwrap();
            }
            read
        });
        let started = tokio::time::Instant::now();
        stream.write_all(&[2; 64]).await.unwrap();
        // Virtual time: the write was blocked in all for much longer than one timeout.
        assert!(
            started.elapsed() >= Duration::from_secs(28),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(reader.await.unwrap(), 128);
    }
}
