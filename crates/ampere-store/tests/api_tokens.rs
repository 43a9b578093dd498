//! Store contract for API tokens and the audit log, on SQLite and PostgreSQL (see
//! `contract.rs` for how the backends are chosen).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use std::sync::Arc;

use ampere_domain::api_token::hash_token;
use ampere_domain::*;
use chrono::Duration;
use serde_json::json;

use harness::Harness;

fn service(h: &Harness) -> ApiTokenService {
    ApiTokenService::new(Arc::new(h.store.clone()), h.clock.clone())
}

async fn tokens_created_found_by_hash_listed_and_revoked(h: Harness) {
    let tokens = service(&h);
    let (admin, admin_secret) = tokens.create("ops lead", ApiRole::Admin).await.unwrap();
    let (viewer, viewer_secret) = tokens.create("grafana", ApiRole::Viewer).await.unwrap();
    assert_eq!(admin.name, "ops lead");
    assert_eq!(admin.role, ApiRole::Admin);
    assert_eq!(admin.created_at, h.now());
    assert!(admin.revoked_at.is_none());
    assert!(viewer.id > admin.id);

    // Only the hash is stored: the secret finds the token, its hash does not.
    let found = tokens.authenticate(admin_secret.expose()).await.unwrap();
    assert_eq!(found.as_ref(), Some(&admin));
    assert_eq!(
        tokens.authenticate(&admin_secret.hash()).await.unwrap(),
        None
    );
    assert_eq!(tokens.authenticate("amp_unknown").await.unwrap(), None);

    let page = tokens.list(None, 1).await.unwrap();
    assert_eq!(page, vec![admin.clone()]);
    let next = tokens.list(Some(admin.id), 10).await.unwrap();
    assert_eq!(next, vec![viewer.clone()]);

    h.clock.advance(Duration::seconds(5));
    assert!(tokens.revoke(viewer.id).await.unwrap());
    assert!(!tokens.revoke(viewer.id).await.unwrap(), "already revoked");
    assert!(
        !tokens.revoke(viewer.id + 100).await.unwrap(),
        "no such token"
    );
    assert_eq!(
        tokens.authenticate(viewer_secret.expose()).await.unwrap(),
        None,
        "a revoked token no longer authenticates"
    );
    let revoked = tokens.get(viewer.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(h.now()));
    assert_eq!(
        tokens.list(None, 10).await.unwrap().len(),
        2,
        "revoked stay listed"
    );
}

async fn same_hash_twice_conflicts(h: Harness) {
    let store: Arc<dyn ApiTokenStore> = Arc::new(h.store.clone());
    let new = NewApiToken {
        name: "a".into(),
        role: ApiRole::Operator,
        token_hash: hash_token("same"),
        created_at: h.now(),
    };
    store.insert_api_token(&new).await.unwrap();
    let err = store.insert_api_token(&new).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn bootstrap_generates_once_or_adopts_the_environment(h: Harness) {
    let tokens = service(&h);
    let Bootstrap::Generated { id, secret } = tokens.bootstrap(None).await.unwrap() else {
        panic!("first start without a token must generate one");
    };
    let token = tokens.authenticate(secret.expose()).await.unwrap().unwrap();
    assert_eq!((token.id, token.role), (id, ApiRole::Admin));
    assert_eq!(
        tokens.bootstrap(None).await.unwrap(),
        Bootstrap::Existing { active: 1 },
        "a second start generates nothing"
    );

    let env = "e".repeat(48);
    let Bootstrap::FromEnvironment { id, created: true } =
        tokens.bootstrap(Some(&env)).await.unwrap()
    else {
        panic!("the environment token is stored");
    };
    assert_eq!(
        tokens.bootstrap(Some(&env)).await.unwrap(),
        Bootstrap::FromEnvironment { id, created: false }
    );
    tokens.revoke(id).await.unwrap();
    assert_eq!(
        tokens.bootstrap(Some(&env)).await.unwrap(),
        Bootstrap::EnvironmentTokenRevoked { id },
        "a restart does not bring a revoked token back"
    );
    assert!(tokens.authenticate(&env).await.unwrap().is_none());
    assert!(matches!(
        tokens.bootstrap(Some("short")).await,
        Err(DomainError::Invalid(_))
    ));
}

async fn audit_log_newest_first(h: Harness) {
    let tokens = service(&h);
    let mut ids = Vec::new();
    for n in 0..3 {
        h.clock.advance(Duration::seconds(1));
        let entry = AuditEntry {
            at: h.now(),
            token_id: if n == 0 { None } else { Some(n) },
            actor: format!("actor {n}"),
            action: "command reset".into(),
            charger_id: Some("CP-1".into()),
            request: json!({"type": "Soft", "n": n}),
            outcome: json!({"status": 200, "response": {"status": "Accepted"}}),
        };
        ids.push(tokens.audit(&entry).await.unwrap());
    }
    let all = tokens.audit_log(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    assert_eq!(all[0].entry.actor, "actor 2");
    assert_eq!(all[0].entry.request, json!({"type": "Soft", "n": 2}));
    assert_eq!(all[2].entry.token_id, None);
    assert_eq!(all[2].entry.at, h.now() - Duration::seconds(2));
    let older = tokens.audit_log(Some(ids[1]), 10).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].id, ids[0]);
}

contract! {
    tokens_created_found_by_hash_listed_and_revoked,
    same_hash_twice_conflicts,
    bootstrap_generates_once_or_adopts_the_environment,
    audit_log_newest_first,
}
