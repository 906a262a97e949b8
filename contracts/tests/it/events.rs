//! The event cursor (confirmations, reorg detection) and the embedded chain's block timer.

use std::time::Duration;

use autonet_contracts::cursor::EventCursor;
use autonet_contracts::{Backend, Chain, Role};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_timer_mines_without_transactions() {
    let (c, _) = crate::embedded::fixture().await;
    let start = c.backend().block_number().await.unwrap();
    let _timer = c.backend().start_block_timer(Duration::from_millis(5));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while c.backend().block_number().await.unwrap() < start + 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the timer mined no blocks"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn cursor_waits_for_confirmations_and_names_events() {
    let (c, cast) = crate::embedded::fixture().await;
    let head = c.backend().block_number().await.unwrap();
    let mut cursor = EventCursor::new(c.addresses, head + 1, 2);
    c.stake(cast.solvers[0], Role::Solver, Role::Solver.min_stake())
        .await
        .unwrap();
    assert!(
        cursor.poll(c.backend()).await.unwrap().events.is_empty(),
        "unconfirmed events wait"
    );
    c.backend().mine(2).await.unwrap();
    let batch = cursor.poll(c.backend()).await.unwrap();
    let names: Vec<_> = batch
        .events
        .iter()
        .map(|e| (e.contract, e.name.clone().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("ATNToken", "Approval".to_string()),
            ("ATNToken", "Transfer".into()),
            ("ParticipantStaking", "Staked".into())
        ]
    );
    assert!(!batch.reorged());
    c.backend().mine(3).await.unwrap();
    assert!(
        cursor.poll(c.backend()).await.unwrap().events.is_empty(),
        "nothing delivered twice"
    );
}
