//! Driving one conversation: its connections, callbacks, observer calls and timers.

use super::*;
use crate::session;

impl Actor {
    /// Moves the conversation on until its outcome is out (or, with `until_done`, until it is
    /// done entirely).
    pub(super) async fn drive(&mut self, run: &mut Running, until_done: bool) {
        loop {
            self.pump(run).await;
            if run.conversation.is_done() || (!until_done && run.outcome.is_some()) {
                return;
            }
            let deadline = run.conversation.poll_timeout();
            tokio::select! {
                Some(io) = self.link_rx.recv() => self.on_link(run, io),
                Some(inbound) = self.channels.inbound.recv() => self.on_inbound(run, inbound),
                Some(answered) = self.input_rx.recv() => {
                    if answered.generation == run.generation {
                        run.inputs.remove(&answered.key);
                        if let Err(e) = run.conversation.handle_input_answer(answered.key, answered.answer, now()) {
                            debug!(terminal = %self.settings.id, error = %e, "input answer came too late");
                        }
                    }
                }
                command = self.channels.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.while_busy(run, command),
                    None => self.commands_open = false,
                },
                () = sleep_until(deadline), if deadline.is_some() => run.conversation.handle_timeout(now()),
            }
        }
    }

    /// Carries out everything the conversation asks for, until it asks for nothing.
    pub(super) async fn pump(&mut self, run: &mut Running) {
        loop {
            let mut moved = false;
            while let Some(event) = run.conversation.poll_event() {
                moved = true;
                self.on_event(run, event).await;
            }
            while let Some(transmit) = run.conversation.poll_transmit() {
                moved = true;
                self.on_transmit(run, transmit);
            }
            if !moved {
                return;
            }
        }
    }

    pub(super) async fn on_event(&mut self, run: &mut Running, event: Event) {
        let at = now();
        match event {
            Event::Connect(link) => {
                let (tx, address, generation) = (
                    self.link_tx.clone(),
                    self.settings.channel0.clone(),
                    run.generation,
                );
                let task = tokio::spawn(async move {
                    let io = match TcpStream::connect(&address).await {
                        Ok(stream) => LinkIo::Connected(generation, link, stream),
                        Err(e) => LinkIo::ConnectFailed(generation, link, e.to_string()),
                    };
                    let _ = tx.send(io);
                });
                run.connecting.insert(link, task.abort_handle());
            }
            Event::Close(Link::Callback(conn)) => {
                run.callbacks.remove(&conn);
                run.secret_callbacks.remove(&conn);
            }
            Event::Close(link) => {
                run.links.remove(&link);
                if let Some(task) = run.connecting.remove(&link) {
                    task.abort();
                }
            }
            Event::BeforeSend => {
                let permission = match &run.observer {
                    Some(observer) => observer.before_send().await,
                    None => Ok(()),
                };
                if let Err(e) = run.conversation.handle_send_permission(permission, now()) {
                    warn!(terminal = %self.settings.id, error = %e, "send permission refused by the core");
                }
            }
            Event::Sent => {
                if let Some(observer) = &run.observer {
                    observer.sent().await;
                }
            }
            Event::Output(output) => match &run.observer {
                Some(observer) => observer.output(output).await,
                None => {
                    debug!(terminal = %self.settings.id, "device output during an internal request")
                }
            },
            Event::Input { key, request } => match run.observer.clone() {
                Some(observer) => {
                    let (tx, generation) = (self.input_tx.clone(), run.generation);
                    let task = tokio::spawn(async move {
                        let answer = observer.input(request).await;
                        let _ = tx.send(InputAnswered {
                            generation,
                            key,
                            answer,
                        });
                    });
                    run.inputs.insert(key, task.abort_handle());
                }
                None => {
                    let _ = run.conversation.handle_input_answer(key, None, at);
                }
            },
            Event::InputWithdrawn(key) => {
                if let Some(task) = run.inputs.remove(&key) {
                    task.abort();
                }
            }
            Event::CardAcquired => {
                if let Some(observer) = &run.observer {
                    observer.card_acquired().await;
                }
            }
            Event::AbortAnswered(result) => {
                if let Some(reply) = run.abort_reply.take() {
                    let _ = reply.send(result);
                }
            }
            Event::Finished(finished) => {
                debug!(terminal = %self.settings.id, request = %run.conversation.request_id(),
                    outcome = outcome_name(&finished), "request ended");
                run.outcome = Some(finished);
            }
        }
    }

    pub(super) fn on_transmit(&self, run: &mut Running, transmit: Transmit) {
        let frame = match codec::encode(&transmit.message, &self.settings.profile.write_options()) {
            Ok(frame) => frame,
            Err(e) => {
                warn!(terminal = %self.settings.id, error = %e, "cannot encode a message");
                if transmit.link != Link::Request || !run.links.contains_key(&Link::Request) {
                    return;
                }
                run.conversation
                    .handle_write_failed(transmit.link, 0, &e.to_string(), now());
                return;
            }
        };
        trace::sent(
            run,
            &transmit,
            &frame,
            &self.settings.profile.write_options(),
        );
        let sent = match transmit.link {
            Link::Callback(conn) => run
                .callbacks
                .get(&conn)
                .is_some_and(|w| w.send(frame).is_ok()),
            link => run.links.get(&link).is_some_and(|c| c.send(frame)),
        };
        if !sent {
            run.conversation
                .handle_write_failed(transmit.link, 0, "connection gone", now());
        }
    }

    pub(super) fn on_link(&mut self, run: &mut Running, io: LinkIo) {
        let at = now();
        match io {
            LinkIo::Connected(generation, link, stream) if generation == run.generation => {
                run.connecting.remove(&link);
                if link == Link::Request {
                    run.connected = true;
                }
                let connection = io::spawn(
                    (generation, link),
                    stream,
                    self.link_tx.clone(),
                    link == Link::Request,
                );
                run.links.insert(link, connection);
                if let Err(e) = run.conversation.handle_connected(link, at) {
                    debug!(terminal = %self.settings.id, error = %e, "connection no longer wanted");
                    run.links.remove(&link);
                }
            }
            LinkIo::ConnectFailed(generation, link, reason) if generation == run.generation => {
                run.connecting.remove(&link);
                run.conversation.handle_connect_failed(link, &reason, at);
            }
            LinkIo::Io(event) => self.on_io(run, event),
            LinkIo::Connected(..) | LinkIo::ConnectFailed(..) => {}
        }
    }

    pub(super) fn on_io(&self, run: &mut Running, event: IoEvent<LinkKey>) {
        let at = now();
        let current = |(generation, _): LinkKey| generation == run.generation;
        match event {
            IoEvent::Message(key, message, xml) if current(key) => {
                trace::received(run, key.1, &message, xml);
                if let Err(e) = run.conversation.handle_message(key.1, *message, at) {
                    warn!(terminal = %self.settings.id, error = %e, "unexpected message");
                }
            }
            IoEvent::Malformed(key, reason) if current(key) => {
                let error = run.conversation.handle_malformed(key.1, &reason, at);
                warn!(terminal = %self.settings.id, error = %error, "unreadable frame");
                run.links.remove(&key.1);
            }
            IoEvent::Undecodable(key, envelope, reason) if current(key) => {
                let error = run
                    .conversation
                    .handle_undecodable(key.1, &envelope, &reason, at);
                warn!(terminal = %self.settings.id, error = %error, "undecodable frame");
                run.links.remove(&key.1);
            }
            IoEvent::Written(key) if current(key) => run.conversation.handle_written(key.1, at),
            IoEvent::WriteFailed(key, written, reason) if current(key) => {
                run.conversation
                    .handle_write_failed(key.1, written, &reason, at);
                run.links.remove(&key.1);
            }
            IoEvent::Closed(key) if current(key) => {
                run.conversation.handle_closed(key.1, at);
                run.links.remove(&key.1);
            }
            _ => {}
        }
    }

    pub(super) fn on_inbound(&self, run: &mut Running, inbound: Inbound) {
        let at = now();
        match inbound {
            Inbound::Callback {
                conn,
                request,
                xml,
                reply,
            } => {
                run.callbacks.insert(conn, reply);
                if session::answer_is_secret(&request) {
                    run.secret_callbacks.insert(conn);
                }
                let message = Message::DeviceRequest(*request);
                trace::received(run, Link::Callback(conn), &message, xml);
                if let Err(e) = run
                    .conversation
                    .handle_message(Link::Callback(conn), message, at)
                {
                    warn!(terminal = %self.settings.id, error = %e, "callback for no running request answered");
                }
            }
            Inbound::Undecodable {
                conn,
                envelope,
                reason,
                reply,
            } => {
                run.callbacks.insert(conn, reply);
                let error = run.conversation.handle_undecodable(
                    Link::Callback(conn),
                    &envelope,
                    &reason,
                    at,
                );
                warn!(terminal = %self.settings.id, error = %error, "undecodable callback");
            }
            Inbound::Closed { conn } => {
                run.secret_callbacks.remove(&conn);
                if run.callbacks.remove(&conn).is_some() {
                    run.conversation.handle_closed(Link::Callback(conn), at);
                }
            }
        }
    }

    /// A command while a request runs: abort acts on it, anything else is refused as busy, or
    /// waits when only an internal request (Login, Diagnosis) runs.
    pub(super) fn while_busy(&mut self, run: &mut Running, command: Command) {
        if !self.serving {
            match command {
                Command::Abort { reply } => {
                    let _ = reply.send(Err(TerminalError::Protocol(
                        "no request in progress to abort".to_owned(),
                    )));
                }
                other => self.deferred.push_back(other),
            }
            return;
        }
        match command {
            Command::Abort { reply } => {
                if run.outcome.is_some() {
                    let _ = reply.send(Err(TerminalError::Protocol(
                        "the request already ended".to_owned(),
                    )));
                    return;
                }
                let id = self.fresh_id();
                match run.conversation.handle_abort(id, now()) {
                    Ok(()) => run.abort_reply = Some(reply),
                    Err(e) => {
                        let _ = reply.send(Err(TerminalError::Protocol(e.to_string())));
                    }
                }
            }
            other => refuse(other, "the terminal is busy with another request", true),
        }
    }
}
