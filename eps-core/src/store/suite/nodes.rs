//! What several nodes on one database share: the issuer's key, and signals of each other's writes.

use std::sync::Arc;
use std::time::Duration;

use super::fixtures::*;
use crate::issuer::{self, KeyFingerprint, KeyStanding};
use crate::store::{Signal, Signals, Store};

fn fingerprint(c: char) -> KeyFingerprint {
    KeyFingerprint::parse(&c.to_string().repeat(43)).unwrap()
}

pub(super) async fn the_first_issuer_key_is_kept_until_replaced(store: Arc<dyn Store>) {
    let (first, second) = (fingerprint('a'), fingerprint('b'));
    assert_eq!(store.issuer_key().await.unwrap(), None);
    assert_eq!(
        issuer::adopt(&*store, &first, at(0)).await.unwrap(),
        KeyStanding::Recorded
    );
    assert_eq!(
        issuer::adopt(&*store, &first, at(1)).await.unwrap(),
        KeyStanding::Matches
    );
    assert_eq!(
        issuer::adopt(&*store, &second, at(2)).await.unwrap(),
        KeyStanding::Differs {
            recorded: first.clone()
        }
    );
    assert_eq!(store.issuer_key().await.unwrap(), Some(first.clone()));
    // A deliberate rotation replaces it; the old key is then the one refused.
    assert_eq!(
        store.replace_issuer_key(&second, at(3)).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        issuer::adopt(&*store, &first, at(4)).await.unwrap(),
        KeyStanding::Differs { recorded: second }
    );
}

pub(super) async fn writes_are_signalled_to_listeners(store: Arc<dyn Store>) {
    let Some(mut signals) = store.listen().await.unwrap() else {
        assert_eq!(store.backend(), "sqlite", "only SQLite serves one node");
        return;
    };
    // Several events in one statement: one signal is enough.
    store
        .append_events(&[event(Some("m-1"), 1), event(None, 2)])
        .await
        .unwrap();
    assert_eq!(next(&mut signals).await, Signal::EventsCommitted);
    let connection = connection("pos-1", 1, 0);
    store.insert_connection(&connection).await.unwrap();
    assert!(store.delete_connection(&connection.id).await.unwrap());
    assert_eq!(
        next(&mut signals).await,
        Signal::ConnectionClosed(connection.id)
    );
    // Expired connections purged are announced too (their streams have ended already).
    let expired = super::fixtures::connection("pos-1", 2, 0);
    store.insert_connection(&expired).await.unwrap();
    assert_eq!(
        store
            .purge_connections(at(i64::from(i32::MAX)))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        next(&mut signals).await,
        Signal::ConnectionClosed(expired.id)
    );
}

/// The next signal, within a bound generous enough for a loaded machine.
async fn next(signals: &mut Box<dyn Signals>) -> Signal {
    tokio::time::timeout(Duration::from_secs(10), signals.next())
        .await
        .expect("a signal")
}
