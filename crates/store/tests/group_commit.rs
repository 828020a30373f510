//! Group commit on SQLite, against a real database file: writes share a batch, none is
//! acknowledged before the batch commits, and one that breaks a constraint fails alone.

use wharf_store::{Database, EventRow, Store, StoreOptions, Synchronous};

async fn open(dir: &tempfile::TempDir, synchronous: Synchronous) -> Store {
    let database = Database::Sqlite(dir.path().to_path_buf());
    Store::open_with(&database, StoreOptions { synchronous })
        .await
        .unwrap()
}

/// Inserts user `name` in a transaction of its own; answers what its commit said.
async fn add_user(store: Store, id: usize, name: String) -> Result<(), String> {
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    let sql = format!(
        "INSERT INTO users (id, username, admin, created_at) VALUES ('u{id}', '{name}', FALSE, 'now')"
    );
    tx.raw_execute(&sql).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

async fn stored_users(store: &Store) -> Vec<String> {
    store
        .raw_strings("SELECT username FROM users ORDER BY id")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_share_a_batch_are_acknowledged_after_its_commit_and_a_duplicate_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, Synchronous::Full).await;
    let hold = store.hold_commits().expect("SQLite batches its commits");

    // Ten writers, the fourth a duplicate of the first: whichever of the two comes second
    // meets the unique index and fails at its INSERT, never joining the batch.
    let names: Vec<String> = (0..10)
        .map(|i| {
            if i == 3 {
                "user-0".into()
            } else {
                format!("user-{i}")
            }
        })
        .collect();
    let tasks: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| tokio::spawn(add_user(store.clone(), i, name.clone())))
        .collect();
    store.batch_reaches(9).await;

    // Nine writes are in the open batch: none is acknowledged, and readers see none of them.
    let answered: Vec<usize> = (0..10).filter(|i| tasks[*i].is_finished()).collect();
    assert!(
        answered.len() <= 1 && answered.iter().all(|i| *i == 0 || *i == 3),
        "{answered:?}"
    );
    assert_eq!(stored_users(&store).await, Vec::<String>::new());

    drop(hold);
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let duplicate = if outcomes[0].is_err() { 0 } else { 3 };
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == duplicate {
            let error = outcome.as_ref().unwrap_err();
            assert!(
                error.contains("UNIQUE constraint failed: users.username"),
                "{error}"
            );
        } else {
            assert_eq!(outcome, &Ok(()), "writer {i}");
        }
    }
    let mut expected: Vec<String> = (0..10)
        .filter(|i| *i != 3)
        .map(|i| format!("user-{i}"))
        .collect();
    expected.sort();
    let mut stored = stored_users(&store).await;
    stored.sort();
    assert_eq!(
        stored, expected,
        "every acknowledged write, once; the duplicate not at all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_or_rolled_back_undoes_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, Synchronous::Normal).await;
    let hold = store.hold_commits().unwrap();
    let kept = tokio::spawn(add_user(store.clone(), 1, "kept".into()));
    store.batch_reaches(1).await;

    let mut dropped = store.begin().await.unwrap();
    dropped
        .raw_execute("INSERT INTO users (id, username, admin, created_at) VALUES ('d', 'dropped', FALSE, 'now')")
        .await
        .unwrap();
    drop(dropped);
    let mut undone = store.begin().await.unwrap();
    undone
        .raw_execute("INSERT INTO users (id, username, admin, created_at) VALUES ('r', 'undone', FALSE, 'now')")
        .await
        .unwrap();
    undone.rollback().await.unwrap();

    drop(hold);
    kept.await.unwrap().unwrap();
    assert_eq!(stored_users(&store).await, vec!["kept".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_all_land_once_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, Synchronous::Full).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| tokio::spawn(add_user(store.clone(), i, format!("user-{i:03}"))))
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    store.close().await;
    let reopened = open(&dir, Synchronous::Full).await;
    let stored = stored_users(&reopened).await;
    assert_eq!(stored.len(), 200);
    let unique: std::collections::BTreeSet<_> = stored.iter().collect();
    assert_eq!(unique.len(), 200);
}

fn event(id: &str) -> EventRow {
    EventRow {
        seq: 0,
        id: id.into(),
        project: "shop".into(),
        kind: "build.registered".into(),
        subject: "b1".into(),
        time: "2026-12-05T10:00:00.000Z".into(),
        data: "{}".into(),
    }
}

/// Events, deliveries and audit entries run with the transaction's commit (one round trip
/// on SQLite): one that breaks a constraint there still fails its transaction alone, whole,
/// and the batch's other writes stand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_statement_that_fails_at_commit_fails_its_transaction_alone_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, Synchronous::Normal).await;
    let hold = store.hold_commits().unwrap();
    let first = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            tx.insert_event(&event("e1")).await.unwrap();
            tx.commit().await
        })
    };
    store.batch_reaches(1).await;

    let mut second = store.begin().await.unwrap();
    second
        .raw_execute("INSERT INTO users (id, username, admin, created_at) VALUES ('u', 'lost', FALSE, 'now')")
        .await
        .unwrap();
    second.insert_event(&event("e2")).await.unwrap();
    second.insert_event(&event("e1")).await.unwrap();
    let error = second.commit().await.unwrap_err().to_string();
    assert!(
        error.contains("UNIQUE constraint failed: events.id"),
        "{error}"
    );

    // Read inside a transaction: what was deferred runs first, and is seen.
    let mut third = store.begin().await.unwrap();
    third.insert_event(&event("e3")).await.unwrap();
    let seen = third
        .raw_execute("UPDATE events SET subject = 'seen' WHERE id = 'e3'")
        .await
        .unwrap();
    assert_eq!(seen, 1, "the deferred insert ran before the update");
    drop(third);

    drop(hold);
    first.await.unwrap().unwrap();
    assert_eq!(
        store
            .raw_strings("SELECT id FROM events ORDER BY seq")
            .await
            .unwrap(),
        ["e1"]
    );
    assert_eq!(stored_users(&store).await, Vec::<String>::new());
}

/// A transaction's savepoint opens with its first statement: one that ends before any, or
/// whose very first statement fails, leaves the batch as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_ended_before_its_first_statement_or_failing_at_it_leaves_the_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, Synchronous::Normal).await;
    let hold = store.hold_commits().unwrap();
    let kept = tokio::spawn(add_user(store.clone(), 1, "kept".into()));
    store.batch_reaches(1).await;

    drop(store.begin().await.unwrap());
    store.begin().await.unwrap().rollback().await.unwrap();
    for sql in [
        "INSERT INTO users (id, username, admin, created_at) VALUES ('u2', 'kept', FALSE, 'now')",
        "INSERT INTO no_such_table VALUES (1)",
    ] {
        let mut failing = store.begin().await.unwrap();
        let error = failing.raw_execute(sql).await.unwrap_err().to_string();
        assert!(
            error.contains("UNIQUE constraint failed") || error.contains("no such table"),
            "{error}"
        );
        drop(failing);
    }

    drop(hold);
    kept.await.unwrap().unwrap();
    add_user(store.clone(), 3, "after".into()).await.unwrap();
    assert_eq!(stored_users(&store).await, ["kept", "after"]);
}
