//! SQLite answers configuration reads from memory between changes: every change, by any
//! statement, is seen by the next read once it is acknowledged, never a stale answer.

use wharf_store::{Database, Store};

async fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&Database::Sqlite(dir.path().to_path_buf()))
        .await
        .unwrap()
}

async fn write(store: &Store, sql: &str) {
    let mut tx = store.begin().await.unwrap();
    tx.raw_execute(sql).await.unwrap();
    tx.commit().await.unwrap();
}

async fn description(store: &Store) -> Option<String> {
    store
        .ci("shop", "api")
        .await
        .unwrap()
        .expect("the CI integration")
        .description
}

async fn with_a_ci(dir: &tempfile::TempDir) -> Store {
    let store = open(dir).await;
    write(
        &store,
        "INSERT INTO projects (name, created_at) VALUES ('shop', 'now')",
    )
    .await;
    assert!(store.ci("shop", "api").await.unwrap().is_none());
    write(
        &store,
        "INSERT INTO ci_integrations (id, project, name, registration_type, description, \
         created_at) VALUES ('c1', 'shop', 'api', 'ENVIRONMENT', 'first', 'now')",
    )
    .await;
    store
}

#[tokio::test]
async fn an_acknowledged_change_is_read_at_once_whatever_statement_made_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_a_ci(&dir).await;
    assert_eq!(
        description(&store).await.as_deref(),
        Some("first"),
        "an answer of none is not kept past the insert"
    );
    assert_eq!(description(&store).await.as_deref(), Some("first"));

    write(
        &store,
        "UPDATE ci_integrations SET description = 'second' WHERE id = 'c1'",
    )
    .await;
    assert_eq!(description(&store).await.as_deref(), Some("second"));

    // Through the store's own method, and an upsert.
    let mut ci = store.ci("shop", "api").await.unwrap().unwrap();
    ci.description = Some("third".into());
    let mut tx = store.begin().await.unwrap();
    tx.update_ci(&ci).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(description(&store).await.as_deref(), Some("third"));

    write(&store, "DELETE FROM ci_integrations").await;
    assert!(store.ci("shop", "api").await.unwrap().is_none());
}

#[tokio::test]
async fn a_change_rolled_back_leaves_the_answer_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_a_ci(&dir).await;
    assert_eq!(description(&store).await.as_deref(), Some("first"));
    let mut tx = store.begin().await.unwrap();
    tx.raw_execute("UPDATE ci_integrations SET description = 'undone'")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(description(&store).await.as_deref(), Some("first"));
    let mut tx = store.begin().await.unwrap();
    tx.raw_execute("UPDATE ci_integrations SET description = 'dropped'")
        .await
        .unwrap();
    drop(tx);
    write(&store, "UPDATE projects SET ci_system = 'GITHUB'").await;
    assert_eq!(description(&store).await.as_deref(), Some("first"));
}

#[tokio::test]
async fn a_write_transaction_sees_its_batchs_own_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_a_ci(&dir).await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.webhooks_in_tx("shop").await.unwrap().is_empty());
    tx.commit().await.unwrap();

    // The first transaction adds a subscription into a batch held open; the second, in the
    // same batch, must see it though it is not committed (and the cache holds none).
    let hold = store.hold_commits().unwrap();
    let adding = {
        let store = store.clone();
        tokio::spawn(async move {
            write(
                &store,
                "INSERT INTO webhooks (id, project, name, url, events, secret_env, secret, \
                 created_at) VALUES ('w1', 'shop', 'chat', 'https://chat.example/hook', \
                 '[\"*\"]', 'CHAT_SECRET', 'sealed', 'now')",
            )
            .await
        })
    };
    store.batch_reaches(1).await;
    let mut tx = store.begin().await.unwrap();
    let seen: Vec<String> = tx
        .webhooks_in_tx("shop")
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(seen, ["chat"]);
    tx.rollback().await.unwrap();
    drop(hold);
    adding.await.unwrap();
    assert_eq!(store.webhooks("shop").await.unwrap().len(), 1);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.webhooks_in_tx("shop").await.unwrap().len(), 1);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn protections_are_read_afresh_after_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = with_a_ci(&dir).await;
    assert!(store.protections("shop").await.unwrap().is_empty());
    assert!(store.protection("shop", "prod").await.unwrap().is_none());
    write(
        &store,
        "INSERT INTO protections (project, stage, rules) VALUES ('shop', 'prod', '{}')",
    )
    .await;
    assert_eq!(store.protections("shop").await.unwrap().len(), 1);
    assert!(store.protection("shop", "prod").await.unwrap().is_some());
    write(&store, "DELETE FROM protections WHERE stage = 'prod'").await;
    assert!(store.protections("shop").await.unwrap().is_empty());
    assert!(store.protection("shop", "prod").await.unwrap().is_none());
}
