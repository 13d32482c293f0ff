//! The channel-1 listener: accepts the terminals' callback connections (many at once, several
//! frames each) and hands every DeviceRequest to the terminal it belongs to, matched by source
//! address and `WorkstationID` (several terminals may share one port, research notes §2).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use super::io::{self, Connection, IoEvent};
use crate::codec::{self, Envelope};
use crate::message::{DeviceRequest, DeviceResponse, Message, OverallResult};
use crate::profile::WireEncoding;
use crate::session;

/// A callback for a terminal's driver.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A DeviceRequest on callback connection `conn` (`xml` as read); write the answer to
    /// `reply`.
    Callback {
        conn: u64,
        request: Box<DeviceRequest>,
        xml: String,
        reply: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// A well-formed DeviceRequest on `conn` that could not be decoded; answer it to `reply`.
    Undecodable {
        conn: u64,
        envelope: Box<Envelope>,
        reason: String,
        reply: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// Callback connection `conn` closed.
    Closed { conn: u64 },
}

/// Where one terminal's callbacks go.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// The address its callbacks come from.
    pub(crate) source: IpAddr,
    /// The `WorkstationID` it writes.
    pub(crate) workstation_id: String,
    /// The terminal's driver.
    pub(crate) inbound: mpsc::UnboundedSender<Inbound>,
}

impl Route {
    fn matches(&self, source: IpAddr, workstation_id: &str) -> bool {
        self.source == source && self.workstation_id == workstation_id
    }
}

/// Serves one listener until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    routes: Vec<Route>,
    mut stop: watch::Receiver<bool>,
) {
    let address = listener.local_addr().ok();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut connections: HashMap<u64, (SocketAddr, Connection, Option<usize>)> = HashMap::new();
    let mut next_conn = 0_u64;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                if !routes.iter().any(|r| r.source == peer.ip()) {
                    warn!(listener = ?address, %peer, "callback connection from an unconfigured address refused");
                    continue;
                }
                next_conn += 1;
                let connection = io::spawn(next_conn, stream, events_tx.clone(), false);
                connections.insert(next_conn, (peer, connection, None));
            }
            Some(event) = events.recv() => match event {
                IoEvent::Message(conn, message, xml) => {
                    let Some((peer, connection, routed)) = connections.get_mut(&conn) else { continue };
                    let Message::DeviceRequest(request) = *message else {
                        warn!(%peer, got = %session::describe(&message), "not a DeviceRequest on channel 1; closing");
                        connections.remove(&conn);
                        continue;
                    };
                    match pick(&routes, peer.ip(), &request.header.workstation_id) {
                        Some(index) => {
                            *routed = Some(index);
                            let sent = routes.get(index).is_some_and(|route| {
                                route.inbound.send(Inbound::Callback {
                                    conn,
                                    request: Box::new(request),
                                    xml,
                                    reply: connection.out.clone(),
                                }).is_ok()
                            });
                            if !sent {
                                connections.remove(&conn);
                            }
                        }
                        None => {
                            warn!(%peer, workstation = %request.header.workstation_id,
                                "callback for no configured terminal; answered DeviceUnavailable");
                            let answer = DeviceResponse::new(
                                request.header.echo(),
                                request.request_type.clone(),
                                OverallResult::DeviceUnavailable,
                            );
                            if let Ok(frame) = codec::encode(&answer.into(), &WireEncoding::Utf8.write_options()) {
                                connection.send(frame);
                            }
                        }
                    }
                }
                IoEvent::Undecodable(conn, envelope, reason) => {
                    let Some((peer, connection, routed)) = connections.get_mut(&conn) else { continue };
                    let route = envelope
                        .header
                        .as_ref()
                        .filter(|_| envelope.is("DeviceRequest"))
                        .and_then(|header| pick(&routes, peer.ip(), &header.workstation_id));
                    if let Some(index) = route {
                        *routed = Some(index);
                        let reply = connection.out.clone();
                        let sent = routes.get(index).is_some_and(|route| {
                            route.inbound.send(Inbound::Undecodable { conn, envelope, reason, reply }).is_ok()
                        });
                        if !sent {
                            connections.remove(&conn);
                        }
                        continue;
                    }
                    // No terminal to hand it to (no usable RequestID or WorkstationID): answered
                    // here with whatever ids it carries, so the terminal does not wait for ever.
                    let answer = codec::refusal(&envelope, &OverallResult::FormatError, &WireEncoding::Utf8.write_options());
                    match answer {
                        Some(Ok(frame)) => {
                            warn!(%peer, %reason, "undecodable callback for no known request; answered FormatError");
                            connection.send(frame);
                        }
                        _ => {
                            warn!(%peer, %reason, root = %envelope.root, "undecodable frame on channel 1; closing");
                            close(&mut connections, &routes, conn);
                        }
                    }
                }
                IoEvent::Malformed(conn, reason) => {
                    warn!(conn, %reason, "unreadable callback frame; connection closed");
                    close(&mut connections, &routes, conn);
                }
                IoEvent::Closed(conn) | IoEvent::WriteFailed(conn, ..) => {
                    close(&mut connections, &routes, conn);
                }
                IoEvent::Written(conn) => debug!(conn, "callback answer written"),
            },
        }
    }
}

fn close(
    connections: &mut HashMap<u64, (SocketAddr, Connection, Option<usize>)>,
    routes: &[Route],
    conn: u64,
) {
    if let Some((_, _, Some(index))) = connections.remove(&conn)
        && let Some(route) = routes.get(index)
    {
        let _ = route.inbound.send(Inbound::Closed { conn });
    }
}

/// The terminal a callback belongs to: the one with this source address and WorkstationID; a
/// callback with an empty WorkstationID goes to the only terminal at that address, if there is one.
fn pick(routes: &[Route], source: IpAddr, workstation_id: &str) -> Option<usize> {
    if let Some(index) = routes
        .iter()
        .position(|r| r.matches(source, workstation_id))
    {
        return Some(index);
    }
    let mut at_source = routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.source == source);
    match (
        workstation_id.trim().is_empty(),
        at_source.next(),
        at_source.next(),
    ) {
        (true, Some((index, _)), None) => Some(index),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(ip: &str, ws: &str) -> Route {
        let (inbound, _) = mpsc::unbounded_channel();
        Route {
            source: ip.parse().unwrap(),
            workstation_id: ws.to_owned(),
            inbound,
        }
    }

    #[test]
    fn routes_by_address_and_workstation() {
        let routes = [
            route("10.0.0.1", "1"),
            route("10.0.0.1", "2"),
            route("10.0.0.2", "1"),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(pick(&routes, ip("10.0.0.1"), "2"), Some(1));
        assert_eq!(pick(&routes, ip("10.0.0.2"), "1"), Some(2));
        assert_eq!(pick(&routes, ip("10.0.0.1"), "3"), None);
        assert_eq!(pick(&routes, ip("10.0.0.1"), ""), None, "ambiguous");
        assert_eq!(pick(&routes, ip("10.0.0.2"), ""), Some(2));
        assert_eq!(pick(&routes, ip("10.0.0.3"), "1"), None);
    }
}
