//! The rules every store keeps, written once over `Arc<dyn Store>` and run against each
//! store: claims and their leases, fencing tokens, the inbox and its answers, the queue of
//! due work (`claim_due`) and the watch.
//!
//! Each rule is an `async fn` taking the store; `contract!` runs it against a
//! [`MemoryStore`], a [`SqliteStore`] on a file of its own and a [`PostgresStore`] on a
//! database of its own.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

#[path = "support/postgres.rs"]
mod pg_server;

use futures::FutureExt as _;
use tokio::sync::broadcast::error::TryRecvError;
use workflow_core::store::{
    Answer, Claim, Claimed, Commit, CreatedOrPosted, FlowVersion, InboxItem, Lease, MemoryStore,
    Message, MessageId, Notice, PostgresStore, Record, RecordKind, Snapshot, SqliteStore, Status,
    Store, StoreError, Wake, WorkerId,
};
use workflow_core::{Fingerprint, InstanceId};

const FLOW: &str = "Order";
/// The time the tests start at, in milliseconds since the Unix epoch.
const NOW: u64 = 1_700_000_000_000;
/// How long a lease lasts.
const LEASE: u64 = 30_000;
/// The longest any wait on the watch may take: a change wakes its waiters at once.
const WAIT: Duration = Duration::from_secs(10);

fn fingerprint() -> Fingerprint {
    Fingerprint::from_u64(0xa11c_e000_0000_0001)
}

/// Another definition of the same flow.
fn other_fingerprint() -> Fingerprint {
    Fingerprint::from_u64(0xb0b0_0000_0000_0002)
}

/// The flows a worker runs in these tests.
fn versions() -> Vec<FlowVersion> {
    vec![FlowVersion::new(FLOW, fingerprint())]
}

fn id(id: &str) -> InstanceId {
    InstanceId::new(id)
}

/// A lease for `worker` from `now_ms`, for [`LEASE`].
fn lease(worker: &str, now_ms: u64) -> Lease {
    Lease::new(WorkerId::new(worker), now_ms, now_ms + LEASE)
}

/// Instance `id` of `flow` after record `seq`, running.
fn snapshot_of(flow: &'static str, id: &str, fingerprint: Fingerprint, seq: u64) -> Snapshot {
    let mut snapshot = Snapshot::new(
        flow,
        InstanceId::new(id),
        fingerprint,
        format!("S{seq}"),
        format!(r#"{{"S{seq}":{{}}}}"#),
    );
    snapshot.seq = seq;
    snapshot.at_ms = NOW + seq;
    snapshot
}

fn snapshot(id: &str, seq: u64) -> Snapshot {
    snapshot_of(FLOW, id, fingerprint(), seq)
}

fn record(seq: u64, kind: RecordKind) -> Record {
    Record::new(seq, NOW + seq, kind, format!("S{seq}"))
}

/// A one-record step of instance `id` to sequence `seq`, due again as `wake` says.
fn step(id: &str, seq: u64, wake: Wake) -> Commit {
    let transition = RecordKind::Transition {
        transition: "step".into(),
        attempt: 1,
    };
    Commit::new(snapshot(id, seq), vec![record(seq, transition)], wake)
}

/// The write that ends instance `id` with `status` at sequence `seq`.
fn end(id: &str, seq: u64, status: Status) -> Commit {
    let mut snapshot = snapshot(id, seq);
    snapshot.status = status;
    // The wake time of an instance that ends is of no account: it is never due again.
    Commit::new(
        snapshot,
        vec![record(seq, RecordKind::Ended { status })],
        Wake::Now,
    )
}

/// Creates instance `id` of `flow` under `fingerprint`.
async fn create_as(
    store: &dyn Store,
    flow: &'static str,
    id: &str,
    fingerprint: Fingerprint,
    wake: Wake,
    lease: Option<&Lease>,
) -> Option<Claim> {
    store
        .create(
            snapshot_of(flow, id, fingerprint, 1),
            record(1, RecordKind::Started),
            wake,
            lease,
        )
        .await
        .unwrap()
}

/// Creates instance `id` of [`FLOW`]: claimed by `lease`'s worker if there is one.
async fn create(store: &dyn Store, id: &str, wake: Wake, lease: Option<&Lease>) -> Option<Claim> {
    create_as(store, FLOW, id, fingerprint(), wake, lease).await
}

/// Creates instance `id`, claimed by `worker` from [`NOW`].
async fn create_claimed(store: &dyn Store, id: &str, wake: Wake, worker: &str) -> Claim {
    create(store, id, wake, Some(&lease(worker, NOW)))
        .await
        .expect("a create with a lease returns its claim")
}

fn event(name: &str) -> Message {
    Message::event(name.to_string(), format!(r#"{{"{name}":{{}}}}"#))
}

/// The ids of `claimed`, sorted.
fn ids(claimed: &[Claimed]) -> Vec<String> {
    let mut ids: Vec<String> = claimed
        .iter()
        .map(|claimed| claimed.claim.id.as_str().to_string())
        .collect();
    ids.sort();
    ids
}

fn is_claim_lost(result: &Result<(), StoreError>, instance: &str) -> bool {
    matches!(result, Err(StoreError::ClaimLost { flow, id }) if flow == FLOW && id.as_str() == instance)
}

// ---------------------------------------------------------------------------------------
// Creating

async fn a_create_with_a_lease_returns_its_claim(store: Arc<dyn Store>) {
    let mut notices = store.watch().subscribe();
    let claim = create(&*store, "o-1", Wake::Now, Some(&lease("w-1", NOW)))
        .await
        .expect("a create with a lease returns its claim");
    assert_eq!(claim.flow, FLOW);
    assert_eq!(claim.id, id("o-1"));
    assert_eq!(claim.worker, WorkerId::new("w-1"));
    // Its worker drives it: nobody else is told, and nobody else can claim it.
    assert_eq!(notices.try_recv(), Err(TryRecvError::Empty));
    let other = store
        .claim(FLOW, &id("o-1"), &lease("w-2", NOW))
        .await
        .unwrap();
    assert!(other.is_none());
    let due = store
        .claim_due(&versions(), &lease("w-2", NOW), 10)
        .await
        .unwrap();
    assert!(due.claimed.is_empty());
    store
        .commit(&claim, step("o-1", 2, Wake::Now))
        .await
        .unwrap();
    assert_eq!(
        store.load(FLOW, &id("o-1")).await.unwrap(),
        Some(snapshot("o-1", 2))
    );
}

async fn a_create_without_a_lease_is_noticed_and_left_for_any_worker(store: Arc<dyn Store>) {
    let mut notices = store.watch().subscribe();
    let claim = create(&*store, "o-1", Wake::Now, None).await;
    assert_eq!(claim, None);
    assert_eq!(
        notices.try_recv(),
        Ok(Notice::Created {
            flow: FLOW.into(),
            id: id("o-1"),
        })
    );
    assert_eq!(notices.try_recv(), Err(TryRecvError::Empty));
    let claimed = store
        .claim(FLOW, &id("o-1"), &lease("w-1", NOW))
        .await
        .unwrap()
        .expect("nobody holds a new instance created without a lease");
    assert_eq!(claimed.claim.worker, WorkerId::new("w-1"));
    assert_eq!(claimed.snapshot, snapshot("o-1", 1));
    assert!(claimed.inbox.is_empty());
}

async fn a_second_create_is_a_duplicate(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    let again = store
        .create(
            snapshot("o-1", 1),
            record(1, RecordKind::Started),
            Wake::Now,
            Some(&lease("w-2", NOW + LEASE + 1)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&again, StoreError::Duplicate { flow, id } if flow == FLOW && id.as_str() == "o-1"),
        "{again:?}"
    );
    // The instance and its claim are as they were.
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 1);
    store
        .commit(&claim, step("o-1", 2, Wake::Now))
        .await
        .unwrap();
}

/// `create_or_post` of instance `id` with `message`, created claimed by `lease`'s worker.
async fn create_or_post(
    store: &dyn Store,
    id: &str,
    lease: Option<&Lease>,
    message: Message,
) -> Result<CreatedOrPosted, StoreError> {
    store
        .create_or_post(
            snapshot(id, 1),
            record(1, RecordKind::Started),
            Wake::Now,
            lease,
            message,
            NOW,
        )
        .await
}

async fn create_or_post_creates_with_the_message_or_posts_it(store: Arc<dyn Store>) {
    let mut notices = store.watch().subscribe();
    let first = create_or_post(&*store, "o-1", None, event("Approve"))
        .await
        .unwrap();
    let CreatedOrPosted::Created {
        claim: None,
        message,
    } = first
    else {
        panic!("created, unclaimed: {first:?}")
    };
    assert_eq!(
        store.inbox(FLOW, &id("o-1")).await.unwrap(),
        [InboxItem::new(message, event("Approve"), NOW)],
        "created with its message"
    );
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 1);
    for notice in [
        Notice::Created {
            flow: FLOW.into(),
            id: id("o-1"),
        },
        Notice::Posted {
            flow: FLOW.into(),
            id: id("o-1"),
        },
    ] {
        assert_eq!(notices.try_recv(), Ok(notice));
    }
    // The second finds it, and only posts: its snapshot and record are not written.
    let second = create_or_post(&*store, "o-1", Some(&lease("w-1", NOW)), event("Comment"))
        .await
        .unwrap();
    let CreatedOrPosted::Posted(again) = second else {
        panic!("posted: {second:?}")
    };
    assert!(again > message);
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 1);
    assert_eq!(store.inbox(FLOW, &id("o-1")).await.unwrap().len(), 2);
    // It was not claimed by the second caller's lease.
    let claimed = store
        .claim(FLOW, &id("o-1"), &lease("w-2", NOW))
        .await
        .unwrap();
    assert!(claimed.is_some(), "a post does not claim");
    // Created with a lease: claimed by it, its message waiting.
    let third = create_or_post(&*store, "o-2", Some(&lease("w-1", NOW)), event("Approve"))
        .await
        .unwrap();
    let CreatedOrPosted::Created {
        claim: Some(claim), ..
    } = third
    else {
        panic!("created, claimed: {third:?}")
    };
    assert_eq!(claim.worker, WorkerId::new("w-1"));
    assert_eq!(store.inbox(FLOW, &id("o-2")).await.unwrap().len(), 1);
}

async fn create_or_post_to_an_ended_instance_is_refused(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    store
        .commit(&claim, end("o-1", 2, Status::Completed))
        .await
        .unwrap();
    let refused = create_or_post(&*store, "o-1", None, event("Approve"))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Ended { .. }), "{refused:?}");
    assert!(store.inbox(FLOW, &id("o-1")).await.unwrap().is_empty());
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 2);
}

async fn racing_create_or_posts_create_once_and_post_every_message(store: Arc<dyn Store>) {
    let racers = (0..8).map(|n| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let name = format!("E{n}");
            create_or_post(&*store, "o-1", None, event(&name))
                .await
                .unwrap()
        })
    });
    let done = futures::future::join_all(racers).await;
    let created = done
        .iter()
        .filter(|done| matches!(done, Ok(CreatedOrPosted::Created { .. })))
        .count();
    assert_eq!(created, 1, "{done:?}");
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 1);
    assert_eq!(store.inbox(FLOW, &id("o-1")).await.unwrap().len(), 8);
}

// ---------------------------------------------------------------------------------------
// Claims, leases and fencing

async fn a_live_claim_is_not_claimed_again(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    // Up to the end of its lease, the claim holds, against its own worker too.
    for (worker, now) in [("w-2", NOW + 1), ("w-1", NOW + 1), ("w-2", NOW + LEASE)] {
        let claimed = store
            .claim(FLOW, &id("o-1"), &lease(worker, now))
            .await
            .unwrap();
        assert!(claimed.is_none(), "{worker} claimed at {now}");
    }
    let missing = store
        .claim(FLOW, &id("o-9"), &lease("w-2", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, StoreError::NotFound { flow, id } if flow == FLOW && id.as_str() == "o-9"),
        "{missing:?}"
    );
    // The claim still writes.
    store
        .commit(&claim, step("o-1", 2, Wake::Now))
        .await
        .unwrap();
}

async fn an_expired_claim_is_taken_over_and_its_writes_are_refused(store: Arc<dyn Store>) {
    let old = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    store.commit(&old, step("o-1", 2, Wake::Now)).await.unwrap();
    let history = store.history(FLOW, &id("o-1")).await.unwrap();
    let after = NOW + LEASE + 1;
    let taken = store
        .claim(FLOW, &id("o-1"), &lease("w-2", after))
        .await
        .unwrap()
        .expect("a claim whose lease has ended is taken over");
    assert_eq!(taken.claim.worker, WorkerId::new("w-2"));
    assert!(
        taken.claim.token > old.token,
        "token {} after {}",
        taken.claim.token,
        old.token
    );
    assert_eq!(taken.snapshot, snapshot("o-1", 2));
    // The old claim's write follows the stored records, and is refused all the same.
    let fenced = store.commit(&old, step("o-1", 3, Wake::Now)).await;
    assert!(is_claim_lost(&fenced, "o-1"), "{fenced:?}");
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap(), history);
    assert_eq!(
        store.load(FLOW, &id("o-1")).await.unwrap(),
        Some(snapshot("o-1", 2))
    );
    // Its worker cannot claim it back while the new claim lives.
    let back = store
        .claim(FLOW, &id("o-1"), &lease("w-1", after))
        .await
        .unwrap();
    assert!(back.is_none());
    store
        .commit(&taken.claim, step("o-1", 3, Wake::Now))
        .await
        .unwrap();
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 3);
}

async fn a_commit_that_does_not_follow_the_stored_records_is_a_conflict(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    store
        .commit(&claim, step("o-1", 2, Wake::Now))
        .await
        .unwrap();
    for seq in [2, 4] {
        let result = store.commit(&claim, step("o-1", seq, Wake::Now)).await;
        let expected = seq - 1;
        assert!(
            matches!(&result, Err(StoreError::Conflict { id, expected: e, found: 2 }) if id.as_str() == "o-1" && *e == expected),
            "{result:?}"
        );
    }
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 2);
    assert_eq!(
        store.load(FLOW, &id("o-1")).await.unwrap(),
        Some(snapshot("o-1", 2))
    );
    // A conflict leaves the claim held.
    store
        .commit(&claim, step("o-1", 3, Wake::Now))
        .await
        .unwrap();
}

async fn renew_extends_claims_and_reports_the_lost_ones(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    let other = create_claimed(&*store, "o-2", Wake::Now, "w-1").await;
    let renewal = Lease::new(WorkerId::new("w-1"), NOW + 20_000, NOW + 60_000);
    let lost = store
        .renew(&[claim.clone(), other.clone()], &renewal)
        .await
        .unwrap();
    assert!(lost.is_empty(), "{lost:?}");
    // Past the old expiry, before the new one: still held.
    let between = NOW + 40_000;
    let claimed = store
        .claim(FLOW, &id("o-1"), &lease("w-2", between))
        .await
        .unwrap();
    assert!(claimed.is_none());
    let due = store
        .claim_due(&versions(), &lease("w-2", between), 10)
        .await
        .unwrap();
    assert!(due.claimed.is_empty());
    assert_eq!(due.next_ms, Some(NOW + 60_001));
    // Past the new expiry, another worker takes it.
    let taken = store
        .claim(FLOW, &id("o-1"), &lease("w-2", NOW + 60_001))
        .await
        .unwrap()
        .expect("the renewed lease has ended");
    let invented = Claim::new(FLOW, id("o-9"), WorkerId::new("w-1"), claim.token);
    let later = Lease::new(WorkerId::new("w-1"), NOW + 60_001, NOW + 90_000);
    let lost = store
        .renew(&[claim.clone(), other.clone(), invented.clone()], &later)
        .await
        .unwrap();
    assert_eq!(lost, vec![claim.clone(), invented]);
    let fenced = store.commit(&claim, step("o-1", 2, Wake::Now)).await;
    assert!(is_claim_lost(&fenced, "o-1"), "{fenced:?}");
    // The claim renewed in the same call still holds, and writes.
    store
        .commit(&other, step("o-2", 2, Wake::Now))
        .await
        .unwrap();
    store
        .commit(&taken.claim, step("o-1", 2, Wake::Now))
        .await
        .unwrap();
}

async fn release_hands_the_claim_back_at_once(store: Arc<dyn Store>) {
    let mut notices = store.watch().subscribe();
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    store.release(&claim).await.unwrap();
    // Its work is due at once: hosts are told.
    assert_eq!(
        notices.try_recv(),
        Ok(Notice::Released {
            flow: FLOW.into(),
            id: id("o-1"),
        })
    );
    let taken = store
        .claim(FLOW, &id("o-1"), &lease("w-2", NOW + 1))
        .await
        .unwrap()
        .expect("a released claim is free at once");
    assert!(taken.claim.token > claim.token);
    // Releasing a claim already lost is no error, and leaves the new holder's claim alone.
    store.release(&claim).await.unwrap();
    let third = store
        .claim(FLOW, &id("o-1"), &lease("w-3", NOW + 2))
        .await
        .unwrap();
    assert!(third.is_none());
    let fenced = store.commit(&claim, step("o-1", 2, Wake::Now)).await;
    assert!(is_claim_lost(&fenced, "o-1"), "{fenced:?}");
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 1);

    // A commit can hand the claim back too; waiting for a message, nobody is told.
    store
        .commit(&taken.claim, step("o-1", 2, Wake::OnMessage).releasing())
        .await
        .unwrap();
    assert_eq!(notices.try_recv(), Err(TryRecvError::Empty));
    let fenced = store.commit(&taken.claim, step("o-1", 3, Wake::Now)).await;
    assert!(is_claim_lost(&fenced, "o-1"), "{fenced:?}");
    let third = store
        .claim(FLOW, &id("o-1"), &lease("w-3", NOW + 3))
        .await
        .unwrap()
        .expect("a claim handed back by a commit is free at once");
    assert_eq!(third.snapshot, snapshot("o-1", 2));
}

async fn a_releasing_commit_with_work_due_tells_the_hosts(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    let mut notices = store.watch().subscribe();
    store
        .commit(&claim, step("o-1", 2, Wake::Now).releasing())
        .await
        .unwrap();
    assert_eq!(
        notices.try_recv(),
        Ok(Notice::Released {
            flow: FLOW.into(),
            id: id("o-1"),
        })
    );
}

// ---------------------------------------------------------------------------------------
// The inbox

async fn posted_messages_are_numbered_in_order_and_wait_oldest_first(store: Arc<dyn Store>) {
    create(&*store, "o-1", Wake::OnMessage, None).await;
    create(&*store, "o-2", Wake::OnMessage, None).await;
    let mut notices = store.watch().subscribe();
    let child = Message::ChildEnded {
        child: id("o-1/2/ship"),
    };
    let messages = [
        event("Approve"),
        event("Comment"),
        Message::Cancel,
        child,
        Message::Compensate,
        Message::Release,
    ];
    let mut items = Vec::new();
    for (n, message) in (1..).zip(messages) {
        let posted = store
            .post(FLOW, &id("o-1"), message.clone(), NOW + n)
            .await
            .unwrap();
        items.push(InboxItem::new(posted, message, NOW + n));
    }
    let elsewhere = store
        .post(FLOW, &id("o-2"), event("Approve"), NOW + 4)
        .await
        .unwrap();
    let numbers: Vec<MessageId> = items.iter().map(|item| item.id).collect();
    assert!(
        numbers.windows(2).all(|pair| pair[0] < pair[1]) && numbers[5] < elsewhere,
        "{numbers:?} then {elsewhere:?}"
    );
    for instance in ["o-1", "o-1", "o-1", "o-1", "o-1", "o-1", "o-2"] {
        assert_eq!(
            notices.try_recv(),
            Ok(Notice::Posted {
                flow: FLOW.into(),
                id: id(instance),
            })
        );
    }
    assert_eq!(store.inbox(FLOW, &id("o-1")).await.unwrap(), items);
    for item in &items {
        assert_eq!(store.answer(FLOW, &id("o-1"), item.id).await.unwrap(), None);
    }
    // A message is asked after under its own instance.
    for (instance, message) in [("o-2", items[0].id), ("o-1", MessageId(elsewhere.0 + 100))] {
        let unknown = store
            .answer(FLOW, &id(instance), message)
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, StoreError::NotFound { .. }),
            "{unknown:?}"
        );
    }
    assert!(store.inbox(FLOW, &id("o-9")).await.unwrap().is_empty());
    let missing = store
        .post(FLOW, &id("o-9"), event("Approve"), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, StoreError::NotFound { flow, id } if flow == FLOW && id.as_str() == "o-9"),
        "{missing:?}"
    );
    // A claim comes with the inbox.
    let claimed = store
        .claim(FLOW, &id("o-1"), &lease("w-1", NOW))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.inbox, items);
}

async fn a_commit_answers_messages_and_they_leave_the_inbox(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::OnMessage, "w-1").await;
    let mut posted = Vec::new();
    for name in ["Approve", "Reject", "Comment"] {
        posted.push(
            store
                .post(FLOW, &id("o-1"), event(name), NOW)
                .await
                .unwrap(),
        );
    }
    let not_accepted = Answer::NotAccepted { state: "S1".into() };
    let commit = step("o-1", 2, Wake::OnMessage).answering(vec![
        (posted[0], Answer::Applied),
        (posted[1], not_accepted.clone()),
    ]);
    store.commit(&claim, commit).await.unwrap();
    let o1 = id("o-1");
    let answer = |message| store.answer(FLOW, &o1, message);
    assert_eq!(answer(posted[0]).await.unwrap(), Some(Answer::Applied));
    assert_eq!(answer(posted[1]).await.unwrap(), Some(not_accepted));
    assert_eq!(answer(posted[2]).await.unwrap(), None);
    let waiting = store.inbox(FLOW, &id("o-1")).await.unwrap();
    assert_eq!(
        waiting,
        vec![InboxItem::new(posted[2], event("Comment"), NOW)]
    );
    // An answer needs no record: the instance stays where it was.
    let reason = "not an event of this flow".to_string();
    let commit = Commit::new(snapshot("o-1", 2), Vec::new(), Wake::OnMessage)
        .answering(vec![(
            posted[2],
            Answer::Unreadable {
                reason: reason.clone(),
            },
        )])
        .releasing();
    store.commit(&claim, commit).await.unwrap();
    assert_eq!(
        answer(posted[2]).await.unwrap(),
        Some(Answer::Unreadable { reason })
    );
    assert_eq!(store.history(FLOW, &id("o-1")).await.unwrap().len(), 2);
    let claimed = store
        .claim(FLOW, &id("o-1"), &lease("w-2", NOW))
        .await
        .unwrap()
        .unwrap();
    assert!(claimed.inbox.is_empty());
    assert_eq!(claimed.snapshot, snapshot("o-1", 2));
}

async fn an_answer_once_given_stays(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::OnMessage, "w-1").await;
    let message = store
        .post(FLOW, &id("o-1"), event("Approve"), NOW)
        .await
        .unwrap();
    let commit = step("o-1", 2, Wake::OnMessage).answering(vec![(message, Answer::Applied)]);
    store.commit(&claim, commit).await.unwrap();
    let again = step("o-1", 3, Wake::OnMessage)
        .answering(vec![(message, Answer::NotAccepted { state: "S2".into() })]);
    store.commit(&claim, again).await.unwrap();
    assert_eq!(
        store.answer(FLOW, &id("o-1"), message).await.unwrap(),
        Some(Answer::Applied)
    );
}

async fn a_commit_answers_only_its_own_instances_messages(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::OnMessage, "w-1").await;
    create(&*store, "o-2", Wake::OnMessage, None).await;
    let theirs = store
        .post(FLOW, &id("o-2"), event("Approve"), NOW)
        .await
        .unwrap();
    let commit = step("o-1", 2, Wake::OnMessage).answering(vec![(theirs, Answer::Applied)]);
    store.commit(&claim, commit).await.unwrap();
    // `o-2`'s message waits for `o-2`, which nobody has claimed.
    assert_eq!(store.answer(FLOW, &id("o-2"), theirs).await.unwrap(), None);
    assert_eq!(
        store.inbox(FLOW, &id("o-2")).await.unwrap(),
        vec![InboxItem::new(theirs, event("Approve"), NOW)]
    );
}

async fn an_ending_commit_answers_the_rest_ended_and_ends_the_claim(store: Arc<dyn Store>) {
    for (n, status) in [Status::Completed, Status::Failed, Status::Cancelled]
        .into_iter()
        .enumerate()
    {
        let instance = format!("o-{n}");
        let claim = create_claimed(&*store, &instance, Wake::Now, "w-1").await;
        let mut posted = Vec::new();
        for message in [event("Approve"), event("Comment"), Message::Cancel] {
            posted.push(
                store
                    .post(FLOW, &id(&instance), message, NOW)
                    .await
                    .unwrap(),
            );
        }
        let commit = end(&instance, 2, status).answering(vec![(posted[0], Answer::Applied)]);
        store.commit(&claim, commit).await.unwrap();
        let ended = Answer::Ended {
            status,
            state: "S2".into(),
        };
        for (message, answer) in posted.iter().zip([Answer::Applied, ended.clone(), ended]) {
            let given = store.answer(FLOW, &id(&instance), *message).await.unwrap();
            assert_eq!(given, Some(answer), "{instance} {status}");
        }
        assert!(store.inbox(FLOW, &id(&instance)).await.unwrap().is_empty());
        // The claim ended with the instance.
        let lost = store
            .renew(std::slice::from_ref(&claim), &lease("w-1", NOW + 1))
            .await
            .unwrap();
        assert_eq!(lost, vec![claim.clone()]);
        let fenced = store.commit(&claim, step(&instance, 3, Wake::Now)).await;
        assert!(is_claim_lost(&fenced, &instance), "{fenced:?}");
        assert_eq!(store.history(FLOW, &id(&instance)).await.unwrap().len(), 2);
        // Nobody claims an instance that ended, and it takes no more messages.
        for worker in ["w-1", "w-2"] {
            let claimed = store
                .claim(FLOW, &id(&instance), &lease(worker, NOW + 1))
                .await
                .unwrap();
            assert!(claimed.is_none(), "{instance} claimed by {worker}");
        }
        let refused = store
            .post(FLOW, &id(&instance), event("Approve"), NOW + 1)
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, StoreError::Ended { flow, id, status: s } if flow == FLOW && id.as_str() == instance && *s == status),
            "{refused:?}"
        );
    }
    assert!(store.unfinished(FLOW).await.unwrap().is_empty());
    let statuses: Vec<Status> = store
        .list(FLOW)
        .await
        .unwrap()
        .iter()
        .map(|summary| summary.status)
        .collect();
    assert_eq!(
        statuses,
        [Status::Completed, Status::Failed, Status::Cancelled]
    );
    let due = store
        .claim_due(&versions(), &lease("w-2", NOW + 1), 10)
        .await
        .unwrap();
    assert!(due.claimed.is_empty() && due.unreadable.is_empty());
    assert_eq!(due.next_ms, None);
}

async fn a_second_cancel_is_refused(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::OnMessage, "w-1").await;
    let cancel = store
        .post(FLOW, &id("o-1"), Message::Cancel, NOW)
        .await
        .unwrap();
    let second = store
        .post(FLOW, &id("o-1"), Message::Cancel, NOW + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&second, StoreError::CancelPosted { flow, id } if flow == FLOW && id.as_str() == "o-1"),
        "{second:?}"
    );
    assert_eq!(
        store.inbox(FLOW, &id("o-1")).await.unwrap(),
        vec![InboxItem::new(cancel, Message::Cancel, NOW)]
    );
    // Once the cancel is accepted, another is refused too; events still come in.
    let commit = step("o-1", 2, Wake::Now).answering(vec![(cancel, Answer::Applied)]);
    store.commit(&claim, commit).await.unwrap();
    let third = store
        .post(FLOW, &id("o-1"), Message::Cancel, NOW + 2)
        .await
        .unwrap_err();
    assert!(
        matches!(third, StoreError::CancelPosted { .. }),
        "{third:?}"
    );
    let later = store
        .post(FLOW, &id("o-1"), event("Comment"), NOW + 3)
        .await
        .unwrap();
    assert_eq!(
        store.inbox(FLOW, &id("o-1")).await.unwrap(),
        vec![InboxItem::new(later, event("Comment"), NOW + 3)]
    );
}

// ---------------------------------------------------------------------------------------
// The queue of due work

async fn claim_due_takes_what_is_due_for_the_given_versions(store: Arc<dyn Store>) {
    let store = &*store;
    let now = NOW + 100_000;
    create(store, "a-now", Wake::Now, None).await;
    create(store, "b-past", Wake::At(now - 10), None).await;
    create(store, "c-later", Wake::At(now + 500), None).await;
    create(store, "e-idle", Wake::OnMessage, None).await;
    create(store, "f-message", Wake::OnMessage, None).await;
    let message = store
        .post(FLOW, &id("f-message"), event("Approve"), now - 1)
        .await
        .unwrap();
    create(store, "i-exact", Wake::At(now), None).await;
    // Instances no worker of `versions()` may take.
    create_as(store, FLOW, "d-old", other_fingerprint(), Wake::Now, None).await;
    store
        .post(FLOW, &id("d-old"), event("Approve"), now - 1)
        .await
        .unwrap();
    create_as(
        store,
        "Invoice",
        "j-invoice",
        fingerprint(),
        Wake::Now,
        None,
    )
    .await;
    let held = lease("w-9", now - 1_000);
    create(store, "g-held", Wake::Now, Some(&held)).await;
    let done = create(store, "h-done", Wake::Now, Some(&lease("w-9", NOW))).await;
    store
        .commit(&done.unwrap(), end("h-done", 2, Status::Completed))
        .await
        .unwrap();

    let due = store
        .claim_due(&versions(), &lease("w-1", now), 100)
        .await
        .unwrap();
    assert_eq!(
        ids(&due.claimed),
        ["a-now", "b-past", "f-message", "i-exact"]
    );
    assert!(due.unreadable.is_empty());
    assert_eq!(due.next_ms, Some(now + 500));
    for claimed in &due.claimed {
        let instance = &claimed.claim.id;
        assert_eq!(claimed.claim.worker, WorkerId::new("w-1"));
        assert_eq!(claimed.claim.flow, FLOW);
        assert_eq!(claimed.snapshot, snapshot(instance.as_str(), 1));
        let inbox = if instance.as_str() == "f-message" {
            vec![InboxItem::new(message, event("Approve"), now - 1)]
        } else {
            Vec::new()
        };
        assert_eq!(claimed.inbox, inbox, "{instance}");
    }
    let mut tokens: Vec<u64> = due.claimed.iter().map(|c| c.claim.token).collect();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), 4, "every claim has a token of its own");
    // What was claimed is not due again while its claims live.
    let again = store
        .claim_due(&versions(), &lease("w-2", now), 100)
        .await
        .unwrap();
    assert!(again.claimed.is_empty());
    assert_eq!(again.next_ms, Some(now + 500));
    // When the timer comes, its instance is due; the next is the end of `g-held`'s lease.
    let later = store
        .claim_due(&versions(), &lease("w-2", now + 500), 100)
        .await
        .unwrap();
    assert_eq!(ids(&later.claimed), ["c-later"]);
    assert_eq!(later.next_ms, Some(held.until_ms + 1));
    // The other versions' workers find their own.
    let old = [FlowVersion::new(FLOW, other_fingerprint())];
    let old = store
        .claim_due(&old, &lease("w-3", now), 100)
        .await
        .unwrap();
    assert_eq!(ids(&old.claimed), ["d-old"]);
    let invoices = [FlowVersion::new("Invoice", fingerprint())];
    let invoices = store
        .claim_due(&invoices, &lease("w-3", now), 100)
        .await
        .unwrap();
    assert_eq!(ids(&invoices.claimed), ["j-invoice"]);
}

async fn claim_due_respects_its_limit(store: Arc<dyn Store>) {
    let all: Vec<String> = (0..5).map(|n| format!("o-{n}")).collect();
    for instance in &all {
        create(&*store, instance, Wake::Now, None).await;
    }
    let none = store
        .claim_due(&versions(), &lease("w-1", NOW), 0)
        .await
        .unwrap();
    assert!(none.claimed.is_empty());
    let mut claimed = Vec::new();
    for expected in [2, 2, 1, 0] {
        let due = store
            .claim_due(&versions(), &lease("w-1", NOW), 2)
            .await
            .unwrap();
        assert_eq!(due.claimed.len(), expected);
        claimed.extend(ids(&due.claimed));
    }
    claimed.sort();
    assert_eq!(claimed, all, "each instance claimed once");
}

async fn claim_due_leaves_claimed_instances_until_their_lease_ends(store: Arc<dyn Store>) {
    let held = lease("w-1", NOW);
    let claim = create(&*store, "o-1", Wake::Now, Some(&held))
        .await
        .unwrap();
    let due = store
        .claim_due(&versions(), &lease("w-2", NOW + 1), 10)
        .await
        .unwrap();
    assert!(due.claimed.is_empty());
    assert_eq!(due.next_ms, Some(held.until_ms + 1));
    let mine = store
        .claim_due(&versions(), &lease("w-1", NOW + 1), 10)
        .await
        .unwrap();
    assert!(mine.claimed.is_empty(), "the worker holds it already");
    let due = store
        .claim_due(&versions(), &lease("w-2", held.until_ms + 1), 10)
        .await
        .unwrap();
    assert_eq!(ids(&due.claimed), ["o-1"]);
    assert!(due.claimed[0].claim.token > claim.token);
    let fenced = store.commit(&claim, step("o-1", 2, Wake::Now)).await;
    assert!(is_claim_lost(&fenced, "o-1"), "{fenced:?}");
}

async fn next_ms_is_never_in_the_past(store: Arc<dyn Store>) {
    // `w-1` keeps its claim, with a timer after its lease, and stops renewing it.
    let claim = create_claimed(&*store, "o-1", Wake::Now, "w-1").await;
    let timer = NOW + 50_000;
    store
        .commit(&claim, step("o-1", 2, Wake::At(timer)))
        .await
        .unwrap();
    let now = NOW + 40_000;
    let due = store
        .claim_due(&versions(), &lease("w-2", now), 10)
        .await
        .unwrap();
    assert!(due.claimed.is_empty());
    assert_eq!(due.next_ms, Some(timer));
}

async fn next_ms_looks_past_the_timers_of_other_versions(store: Arc<dyn Store>) {
    for n in 0..70 {
        let instance = format!("old-{n}");
        let wake = Wake::At(NOW + 100 + n);
        create_as(&*store, FLOW, &instance, other_fingerprint(), wake, None).await;
    }
    create(&*store, "new", Wake::At(NOW + 1_000), None).await;
    let due = store
        .claim_due(&versions(), &lease("w-1", NOW), 10)
        .await
        .unwrap();
    assert!(due.claimed.is_empty());
    assert_eq!(due.next_ms, Some(NOW + 1_000));
}

// ---------------------------------------------------------------------------------------
// The watch

async fn an_instance_watch_wakes_on_its_messages_answers_and_ending(store: Arc<dyn Store>) {
    let claim = create_claimed(&*store, "o-1", Wake::OnMessage, "w-1").await;
    let other = create_claimed(&*store, "o-2", Wake::OnMessage, "w-1").await;
    let watch = store.watch().instance(FLOW, &id("o-1"));

    let mut woken = pin!(watch.notified());
    woken.as_mut().enable();
    // Changes to another instance do not wake it, nor does a step that answers nothing.
    store
        .commit(&other, end("o-2", 2, Status::Completed))
        .await
        .unwrap();
    create(&*store, "o-3", Wake::Now, None).await;
    store
        .commit(&claim, step("o-1", 2, Wake::OnMessage))
        .await
        .unwrap();
    assert!(woken.as_mut().now_or_never().is_none());
    let message = store
        .post(FLOW, &id("o-1"), event("Approve"), NOW)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, woken)
        .await
        .expect("a message posted wakes the instance's watch");

    let mut woken = pin!(watch.notified());
    woken.as_mut().enable();
    assert!(woken.as_mut().now_or_never().is_none());
    let answering = step("o-1", 3, Wake::OnMessage).answering(vec![(message, Answer::Applied)]);
    store.commit(&claim, answering).await.unwrap();
    tokio::time::timeout(WAIT, woken)
        .await
        .expect("a commit that answers a message wakes the instance's watch");

    let mut woken = pin!(watch.notified());
    woken.as_mut().enable();
    store
        .commit(&claim, end("o-1", 4, Status::Cancelled))
        .await
        .unwrap();
    tokio::time::timeout(WAIT, woken)
        .await
        .expect("a commit that ends the instance wakes its watch");

    // A caller may wait for an instance that does not exist yet.
    let later = store.watch().instance(FLOW, &id("o-4"));
    let mut woken = pin!(later.notified());
    woken.as_mut().enable();
    create(&*store, "o-4", Wake::Now, None).await;
    tokio::time::timeout(WAIT, woken)
        .await
        .expect("a creation wakes the instance's watch");
}

// ---------------------------------------------------------------------------------------
// Each rule, against each store

/// A commit marked as a migration moves the instance to the snapshot's definition: workers
/// of that version claim it, and the old version's no longer do.
async fn a_migrating_commit_moves_the_instance_to_its_new_version(store: Arc<dyn Store>) {
    let store = &*store;
    create_as(
        store,
        FLOW,
        "m-old",
        other_fingerprint(),
        Wake::OnMessage,
        None,
    )
    .await;
    let claimed = store
        .claim(FLOW, &id("m-old"), &lease("migration", NOW))
        .await
        .unwrap()
        .expect("free to claim");
    let migrated = RecordKind::Migrated {
        from: other_fingerprint(),
        to: fingerprint(),
        from_state: "S1".into(),
    };
    let commit = Commit::new(
        snapshot_of(FLOW, "m-old", fingerprint(), 2),
        vec![record(2, migrated.clone())],
        Wake::Now,
    )
    .migrating()
    .releasing();
    store.commit(&claimed.claim, commit).await.unwrap();

    let old = [FlowVersion::new(FLOW, other_fingerprint())];
    let none = store
        .claim_due(&old, &lease("w-old", NOW + 10), 10)
        .await
        .unwrap();
    assert!(none.claimed.is_empty(), "{:?}", ids(&none.claimed));
    let due = store
        .claim_due(&versions(), &lease("w-new", NOW + 10), 10)
        .await
        .unwrap();
    assert_eq!(ids(&due.claimed), ["m-old"]);
    assert_eq!(due.claimed[0].snapshot.fingerprint, fingerprint());
    let listed = store.unfinished(FLOW).await.unwrap();
    assert_eq!(listed[0].fingerprint, fingerprint());
    let history = store.history(FLOW, &id("m-old")).await.unwrap();
    assert_eq!(history.last().map(|r| &r.kind), Some(&migrated));
}

fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(dir.path().join("store.sqlite")).unwrap())
}

/// A store on a database of its own on the test server; `None` (the test is skipped) when
/// there is no server and `CI` is not set.
async fn postgres_store(test: &str) -> Option<Arc<dyn Store>> {
    let server = pg_server::Server::shared()?;
    let db = server.database(test).await;
    Some(Arc::new(PostgresStore::connect(&db.url).await.unwrap()))
}

/// A test per rule and store.
macro_rules! contract {
    ($($rule:ident;)*) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $rule() {
                    super::$rule(super::memory_store()).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test]
                async fn $rule() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$rule(super::sqlite_store(&dir)).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $rule() {
                    if let Some(store) = super::postgres_store(stringify!($rule)).await {
                        super::$rule(store).await;
                    }
                }
            )*
        }
    };
}

contract! {
    a_create_with_a_lease_returns_its_claim;
    a_create_without_a_lease_is_noticed_and_left_for_any_worker;
    a_second_create_is_a_duplicate;
    create_or_post_creates_with_the_message_or_posts_it;
    create_or_post_to_an_ended_instance_is_refused;
    racing_create_or_posts_create_once_and_post_every_message;
    a_live_claim_is_not_claimed_again;
    an_expired_claim_is_taken_over_and_its_writes_are_refused;
    a_commit_that_does_not_follow_the_stored_records_is_a_conflict;
    renew_extends_claims_and_reports_the_lost_ones;
    release_hands_the_claim_back_at_once;
    a_releasing_commit_with_work_due_tells_the_hosts;
    posted_messages_are_numbered_in_order_and_wait_oldest_first;
    a_commit_answers_messages_and_they_leave_the_inbox;
    an_answer_once_given_stays;
    a_commit_answers_only_its_own_instances_messages;
    an_ending_commit_answers_the_rest_ended_and_ends_the_claim;
    a_second_cancel_is_refused;
    claim_due_takes_what_is_due_for_the_given_versions;
    claim_due_respects_its_limit;
    claim_due_leaves_claimed_instances_until_their_lease_ends;
    next_ms_is_never_in_the_past;
    next_ms_looks_past_the_timers_of_other_versions;
    an_instance_watch_wakes_on_its_messages_answers_and_ending;
    a_migrating_commit_moves_the_instance_to_its_new_version;
}
