//! One framed TCP connection as a task: frames out from a queue, frames in to an event channel.
//!
//! Both drivers (the EPS's and the simulator's) use it for every connection. The task owns the
//! stream; dropping its queue or aborting it closes the connection.

use std::fmt::Debug;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::codec::{self, Envelope, FrameDecoder};
use crate::message::Message;

/// What happened on a connection named `K`.
#[derive(Debug)]
pub(crate) enum IoEvent<K> {
    /// A frame was read and decoded; the text is its XML body as read (for the trace).
    Message(K, Box<Message>, String),
    /// A frame could not be read, or is not well-formed XML; the connection is closed after it.
    Malformed(K, String),
    /// A well-formed frame that is not a valid message (`envelope` is its root, to answer it);
    /// the connection stays open.
    Undecodable(K, Box<Envelope>, String),
    /// Every queued frame so far is written.
    Written(K),
    /// Writing failed after `written` bytes of the current frame; the connection is closed.
    WriteFailed(K, usize, String),
    /// The peer closed the connection, or reading failed.
    Closed(K),
}

/// The sending half of a connection task.
#[derive(Debug)]
pub(crate) struct Connection {
    /// Frames to write.
    pub(crate) out: mpsc::UnboundedSender<Vec<u8>>,
    /// Stops the task (closing the socket).
    pub(crate) abort: AbortHandle,
}

impl Connection {
    /// Queues a frame; false if the connection is gone.
    pub(crate) fn send(&self, frame: Vec<u8>) -> bool {
        self.out.send(frame).is_ok()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// Runs `stream` as connection `key`. With `read_after_write`, nothing is read before the first
/// frame is written whole, so a close cannot be mistaken for an answer to an unsent request.
pub(crate) fn spawn<K, E>(
    key: K,
    stream: TcpStream,
    events: mpsc::UnboundedSender<E>,
    read_after_write: bool,
) -> Connection
where
    K: Copy + Debug + Send + 'static,
    E: From<IoEvent<K>> + Send + 'static,
{
    let (out, queue) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(key, stream, queue, events, read_after_write));
    Connection {
        out,
        abort: task.abort_handle(),
    }
}

async fn run<K: Copy + Debug + Send, E: From<IoEvent<K>>>(
    key: K,
    mut stream: TcpStream,
    mut queue: mpsc::UnboundedReceiver<Vec<u8>>,
    events: mpsc::UnboundedSender<E>,
    read_after_write: bool,
) {
    let report = |event: IoEvent<K>| events.send(E::from(event)).is_ok();
    // Frames are small and each one is answered before the next; Nagle only adds latency.
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.split();
    let mut decoder = FrameDecoder::default();
    let mut buffer = vec![0_u8; 16 * 1024];
    let mut reading = !read_after_write;
    loop {
        tokio::select! {
            frame = queue.recv() => {
                let Some(frame) = frame else { return };
                let mut written = 0;
                while written < frame.len() {
                    match writer.write(&frame[written..]).await {
                        Ok(0) => {
                            report(IoEvent::WriteFailed(key, written, "connection closed".into()));
                            return;
                        }
                        Ok(n) => written += n,
                        Err(e) => {
                            report(IoEvent::WriteFailed(key, written, e.to_string()));
                            return;
                        }
                    }
                }
                reading = true;
                if !report(IoEvent::Written(key)) {
                    return;
                }
            }
            read = reader.read(&mut buffer), if reading => {
                // A read error ends the stream like a close does.
                let n = read.unwrap_or_default();
                if n == 0 {
                    // End of stream: a last frame may be complete only as declared.
                    match decoder.finish() {
                        Ok(Some(frame)) => {
                            deliver(key, frame.body(), &report);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            report(IoEvent::Malformed(key, e.to_string()));
                            return;
                        }
                    };
                    report(IoEvent::Closed(key));
                    return;
                }
                decoder.push(buffer.get(..n).unwrap_or_default());
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => {
                            if !deliver(key, frame.body(), &report) {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            report(IoEvent::Malformed(key, e.to_string()));
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Decodes one body and reports it; false once the connection must end (a body that is not
/// even well-formed XML: nothing in it can be answered).
fn deliver<K: Copy>(key: K, body: &[u8], report: &impl Fn(IoEvent<K>) -> bool) -> bool {
    match codec::decode(body) {
        Ok(message) => {
            let text = codec::body_text(body);
            report(IoEvent::Message(key, Box::new(message), text))
        }
        Err(e) => match codec::envelope(body) {
            Ok(envelope) => report(IoEvent::Undecodable(key, Box::new(envelope), e.to_string())),
            Err(_) => {
                report(IoEvent::Malformed(key, e.to_string()));
                false
            }
        },
    }
}
