//! The durable inbox: order, acknowledgement, redelivery, limits, restarts, hostile input, and
//! the wake rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use autonet_agents::{
    AgentStatus, Inbox, InboxError, InboxMessage, MessageError, MessageKind, Posted, Priority,
    wakes,
};
use autonet_store::Store;

fn message(id: &str, kind: MessageKind, priority: Priority) -> InboxMessage {
    InboxMessage {
        id: id.into(),
        source: "user".into(),
        target: "researcher-1".into(),
        kind,
        priority,
        data: serde_json::json!({"task": id}),
        timestamp_ms: 1,
    }
}

fn open(dir: &std::path::Path) -> Inbox {
    Inbox::new(Arc::new(Store::open(dir.join("state.redb")).unwrap()))
}

#[test]
fn messages_wait_in_order_until_acknowledged_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(dir.path());
    for id in ["a", "b", "c"] {
        assert!(matches!(
            inbox
                .post(&message(id, MessageKind::Work, Priority::Normal))
                .unwrap(),
            Posted::New(_)
        ));
    }
    let ids = |inbox: &Inbox| -> Vec<String> {
        inbox
            .pending("researcher-1")
            .unwrap()
            .into_iter()
            .map(|(_, m)| m.id)
            .collect()
    };
    assert_eq!(ids(&inbox), ["a", "b", "c"]);
    // Read but not acknowledged (the agent crashed mid-turn): still there after a restart.
    let first = inbox.pending("researcher-1").unwrap()[0].0;
    drop(inbox);
    let inbox = open(dir.path());
    assert_eq!(ids(&inbox), ["a", "b", "c"]);
    inbox.ack("researcher-1", &[first]).unwrap();
    inbox.ack("researcher-1", &[first, 999]).unwrap(); // repeated and unknown acks are harmless
    assert_eq!(ids(&inbox), ["b", "c"]);
    assert_eq!(inbox.count("researcher-1").unwrap(), 2);
    assert!(inbox.pending("someone-else").unwrap().is_empty());
}

#[test]
fn a_redelivered_message_is_kept_once_even_after_it_was_handled() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(dir.path());
    let m = message("m1", MessageKind::Info, Priority::Low);
    let Posted::New(seq) = inbox.post(&m).unwrap() else {
        panic!("the first delivery is new")
    };
    assert_eq!(inbox.post(&m).unwrap(), Posted::Duplicate);
    inbox.ack("researcher-1", &[seq]).unwrap();
    assert_eq!(inbox.post(&m).unwrap(), Posted::Duplicate);
    assert_eq!(inbox.count("researcher-1").unwrap(), 0);
}

#[test]
fn a_full_inbox_refuses_senders_and_takes_more_once_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::with_limit(Arc::new(Store::open(dir.path().join("s.redb")).unwrap()), 2);
    inbox
        .post(&message("1", MessageKind::Work, Priority::Normal))
        .unwrap();
    inbox
        .post(&message("2", MessageKind::Work, Priority::Normal))
        .unwrap();
    assert!(matches!(
        inbox.post(&message("3", MessageKind::Work, Priority::Urgent)),
        Err(InboxError::Full(_, 2))
    ));
    let seq = inbox.pending("researcher-1").unwrap()[0].0;
    inbox.ack("researcher-1", &[seq]).unwrap();
    assert!(matches!(
        inbox
            .post(&message("3", MessageKind::Work, Priority::Urgent))
            .unwrap(),
        Posted::New(_)
    ));
}

#[test]
fn hostile_messages_are_refused_before_anything_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = open(dir.path());
    let mut bad = message("x", MessageKind::Work, Priority::Normal);
    for target in ["", "a\0b", "../etc", &"x".repeat(65), "agent with spaces"] {
        bad.target = target.into();
        assert!(
            matches!(
                inbox.post(&bad),
                Err(InboxError::Message(MessageError::BadName {
                    field: "target",
                    ..
                }))
            ),
            "{target:?}"
        );
    }
    let mut big = message("big", MessageKind::Work, Priority::Normal);
    big.data = serde_json::json!("x".repeat(70_000));
    assert!(matches!(
        inbox.post(&big),
        Err(InboxError::Message(MessageError::TooLarge(_)))
    ));
    assert_eq!(inbox.count("researcher-1").unwrap(), 0);
    for raw in [&b"{"[..], br#"{"id":"a"}"#, br#"{"id":"a","source":"u","target":"t","kind":"order","priority":"low","data":1,"timestamp_ms":1}"#] {
        assert!(matches!(InboxMessage::decode(raw), Err(MessageError::Malformed(_))));
    }
    let extra = br#"{"id":"a","source":"u","target":"t","kind":"work","priority":"low","data":1,"timestamp_ms":1,"admin":true}"#;
    assert!(
        matches!(InboxMessage::decode(extra), Err(MessageError::Malformed(_))),
        "unknown fields are refused"
    );
    assert!(matches!(
        InboxMessage::decode(&vec![b' '; 200_000]),
        Err(MessageError::TooLarge(_))
    ));
}

#[test]
fn wake_rules_follow_the_status() {
    let info = message("i", MessageKind::Info, Priority::Normal);
    let trigger = message("t", MessageKind::Trigger, Priority::Low);
    let high = message("h", MessageKind::Info, Priority::High);
    let urgent = message("u", MessageKind::Alert, Priority::Urgent);
    use AgentStatus::*;
    assert!(!wakes(Active, std::slice::from_ref(&info)));
    assert!(wakes(Active, std::slice::from_ref(&trigger)));
    assert!(wakes(Active, std::slice::from_ref(&high)));
    for status in [Running, Stopped, Completed, BudgetPaused] {
        assert!(
            !wakes(status, &[trigger.clone(), urgent.clone()]),
            "{status:?}"
        );
    }
    for status in [Registered, Error] {
        assert!(
            !wakes(status, &[trigger.clone(), high.clone()]),
            "{status:?}"
        );
        assert!(wakes(status, std::slice::from_ref(&urgent)), "{status:?}");
    }
}

/// The child half of the kill -9 test: posts until killed, printing each id once it is durable.
fn post_until_killed(dir: &str) {
    use std::io::Write;
    let inbox = open(std::path::Path::new(dir));
    for i in 0..100_000 {
        inbox
            .post(&message(
                &format!("m{i}"),
                MessageKind::Work,
                Priority::Normal,
            ))
            .unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "posted {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn every_post_that_returned_survives_kill_9() {
    use std::io::{BufRead, BufReader};
    if let Ok(dir) = std::env::var("AUTONET_INBOX_CHILD_DIR") {
        return post_until_killed(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "every_post_that_returned_survives_kill_9",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("AUTONET_INBOX_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut last = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("posted ") {
            let n: u64 = n.parse().unwrap();
            last = Some(n);
            if n >= 40 {
                child.kill().unwrap(); // SIGKILL, mid-stream
                break;
            }
        }
    }
    let _ = child.wait();
    let last = last.expect("the child posted nothing");
    let kept: Vec<String> = open(dir.path())
        .pending("researcher-1")
        .unwrap()
        .into_iter()
        .map(|(_, m)| m.id)
        .collect();
    for i in 0..=last {
        assert_eq!(
            kept.get(i as usize).map(String::as_str),
            Some(format!("m{i}").as_str()),
            "post {i} returned but was lost"
        );
    }
}
