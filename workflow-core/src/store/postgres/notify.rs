//! `LISTEN/NOTIFY`: every write another process should know about sends a notification on
//! the channel `workflow`, in the write's own transaction (so it is sent only if the write
//! commits), and each store listens on a connection of its own and passes what it hears to
//! its [`Watch`], as if the write had been made here.
//!
//! Notifications are hints: one lost (the listening connection dropped, the server
//! restarted) costs a delay, never correctness, because hosts poll the store too
//! ([`Store::poll_interval`](crate::store::Store::poll_interval)).

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Config, Socket};

use crate::InstanceId;
use crate::store::{Name, Notice, Watch};

/// The channel (written out in the statements that notify on it, too).
const CHANNEL: &str = "workflow";

/// The longest payload PostgreSQL takes is 8,000 bytes: an instance whose flow and id are
/// longer is not notified about, and other processes find its changes by polling.
const MAX_PAYLOAD: usize = 7_900;

/// What a notification says happened to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Created with no worker holding it.
    Created,
    /// A message was posted to it.
    Posted,
    /// Its claim was handed back with work due at once.
    Released,
    /// It answered a message or ended: its waiters look again.
    Changed,
}

impl Kind {
    const fn letter(self) -> char {
        match self {
            Self::Created => 'c',
            Self::Posted => 'p',
            Self::Released => 'r',
            Self::Changed => 'a',
        }
    }

    const fn of(letter: char) -> Option<Self> {
        Some(match letter {
            'c' => Self::Created,
            'p' => Self::Posted,
            'r' => Self::Released,
            'a' => Self::Changed,
            _ => return None,
        })
    }
}

/// The payload telling other processes that `kind` happened to instance `id` of `flow`,
/// written by the store `origin` (which ignores its own); `None` if it would be too long.
///
/// The form is `<kind><origin, 16 hex digits><length of flow>:<flow><id>`.
pub(super) fn payload(origin: u64, kind: Kind, flow: &str, id: &str) -> Option<String> {
    let text = format!("{}{origin:016x}{}:{flow}{id}", kind.letter(), flow.len());
    (text.len() <= MAX_PAYLOAD).then_some(text)
}

/// What a payload says: who wrote it, what happened, to which instance.
fn parse(payload: &str) -> Option<(u64, Kind, &str, &str)> {
    let kind = Kind::of(payload.chars().next()?)?;
    let origin = u64::from_str_radix(payload.get(1..17)?, 16).ok()?;
    let rest = payload.get(17..)?;
    let (len, rest) = rest.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let (flow, id) = (rest.get(..len)?, rest.get(len..)?);
    Some((origin, kind, flow, id))
}

/// Tells `watch` what another process's write did.
fn deliver(watch: &Watch, origin: u64, payload: &str) {
    let Some((from, kind, flow, id)) = parse(payload) else {
        tracing::debug!(payload, "a notification this store does not read");
        return;
    };
    if from == origin {
        // Written here: the watch was told when the write returned.
        return;
    }
    let (name, id) = (Name::Owned(flow.to_string()), InstanceId::new(id));
    match kind {
        Kind::Created => watch.notice(Notice::Created {
            flow: name,
            id: id.clone(),
        }),
        Kind::Posted => watch.notice(Notice::Posted {
            flow: name,
            id: id.clone(),
        }),
        Kind::Released => watch.notice(Notice::Released {
            flow: name,
            id: id.clone(),
        }),
        Kind::Changed => {}
    }
    watch.changed(flow, &id);
}

/// Listens on `config`'s database until the watch is gone, connecting again (after a wait
/// that grows to 5 seconds) whenever the connection drops; `ready` is told when it first
/// listens. Each time it listens anew, every waiter looks at the store again, since
/// notifications may have been missed meanwhile.
pub(super) async fn listen<T>(
    config: Config,
    tls: T,
    watch: Weak<Watch>,
    origin: u64,
    ready: tokio::sync::oneshot::Sender<()>,
) where
    T: MakeTlsConnect<Socket> + Clone + Send + 'static,
    T::Stream: Send,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let mut ready = Some(ready);
    let mut wait = Duration::from_millis(100);
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let sql = format!("LISTEN {CHANNEL}");
                let mut listening = std::pin::pin!(client.batch_execute(&sql));
                let mut started = false;
                loop {
                    tokio::select! {
                        result = &mut listening, if !started => {
                            if let Err(error) = result {
                                tracing::warn!(%error, "cannot listen for notifications");
                                break;
                            }
                            started = true;
                            wait = Duration::from_millis(100);
                            if let Some(ready) = ready.take() {
                                let _ = ready.send(());
                            } else {
                                let Some(watch) = watch.upgrade() else { return };
                                watch.changed_all();
                            }
                        }
                        message = messages.next() => match message {
                            Some(Ok(AsyncMessage::Notification(note))) => {
                                let Some(watch) = watch.upgrade() else { return };
                                deliver(&watch, origin, note.payload());
                            }
                            Some(Ok(_)) => {}
                            Some(Err(error)) => {
                                tracing::warn!(%error, "the listening connection dropped; connecting again");
                                break;
                            }
                            None => break,
                        }
                    }
                }
            }
            Err(error) => {
                tracing::debug!(%error, "cannot connect to listen for notifications; trying again");
            }
        }
        if watch.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_whatever_the_flow_and_id_hold() {
        for (flow, id) in [("Order", "o-1"), ("A:b", "12:x"), ("Ünï", ""), ("", "id")] {
            let text = payload(0xabc, Kind::Posted, flow, id).unwrap();
            assert_eq!(parse(&text), Some((0xabc, Kind::Posted, flow, id)));
        }
    }

    #[test]
    fn too_long_an_id_is_not_notified() {
        assert!(payload(1, Kind::Created, "F", &"x".repeat(8_000)).is_none());
    }

    #[test]
    fn a_payload_of_someone_else_is_ignored() {
        assert_eq!(parse("zzz"), None);
        assert_eq!(parse("p0000000000000001x:Fid"), None);
    }
}
