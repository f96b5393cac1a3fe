//! The PostgreSQL test server (`tests/support/postgres.rs`) that the PostgreSQL store's tests
//! stand on: it starts (a throwaway cluster, or the server `WORKFLOW_TEST_POSTGRES` names),
//! each test gets an empty database of its own, and what one test writes another does not
//! see.

#[path = "support/postgres.rs"]
mod postgres;

use postgres::Server;

#[tokio::test]
async fn each_test_gets_an_empty_database_of_its_own() {
    let Some(server) = Server::shared() else {
        return;
    };
    let (a, b) = (server.database("one").await, server.database("one").await);
    assert_ne!(a.name, b.name);
    let (a, b) = (a.connect().await, b.connect().await);
    a.batch_execute("CREATE TABLE effects (key text PRIMARY KEY)")
        .await
        .unwrap();
    a.execute("INSERT INTO effects VALUES ($1)", &[&"o-1/2/pay"])
        .await
        .unwrap();
    let seen: i64 = a
        .query_one("SELECT count(*) FROM effects", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 1);
    let tables: i64 = b
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "the other database is empty");
}

#[tokio::test]
async fn the_server_is_durable_and_recent_enough() {
    let Some(server) = Server::shared() else {
        return;
    };
    let db = server.database("settings").await;
    let client = db.connect().await;
    let fsync: String = client.query_one("SHOW fsync", &[]).await.unwrap().get(0);
    assert_eq!(
        fsync, "on",
        "crash tests count on what a sync leaves on disk"
    );
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        version >= 13_00_00,
        "SKIP LOCKED and the rest need PostgreSQL 13 or newer"
    );
}
