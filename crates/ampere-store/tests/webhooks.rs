//! Store contract for webhook subscriptions and their delivery outbox, on SQLite and
//! PostgreSQL (see `contract.rs` for how the backends are chosen).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use ampere_domain::webhook::*;
use chrono::Duration;

use harness::Harness;

fn new_hook(h: &Harness, url: &str) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        event_types: vec!["status".into(), "boot".into()],
        charger_ids: vec![],
        secret: generate_secret(),
        active: true,
        created_at: h.now(),
    }
}

fn delivery(webhook_id: i64, event_id: i64, h: &Harness) -> NewDelivery {
    NewDelivery {
        webhook_id,
        event_id,
        event_type: "status".into(),
        charger_id: "CP1".into(),
        body: format!(r#"{{"id":{event_id}}}"#),
        created_at: h.now(),
    }
}

async fn subscriptions_are_created_changed_listed_and_deleted(h: Harness) {
    let store = &h.store;
    let a = store
        .insert_webhook(&new_hook(&h, "http://a.example/hook"))
        .await
        .unwrap();
    let b = store
        .insert_webhook(&new_hook(&h, "http://b.example/hook"))
        .await
        .unwrap();
    assert!(b.id > a.id);
    assert_eq!(a.event_types, vec!["status", "boot"]);
    assert!(a.charger_ids.is_empty() && a.active);
    assert_eq!(store.webhook(a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.list_webhooks(None, 1).await.unwrap(), vec![a.clone()]);
    assert_eq!(
        store.list_webhooks(Some(a.id), 10).await.unwrap(),
        vec![b.clone()]
    );

    h.clock.advance(Duration::seconds(3));
    let change = WebhookChange {
        charger_ids: Some(vec!["CP9".into()]),
        active: Some(false),
        ..WebhookChange::default()
    };
    let changed = store
        .update_webhook(a.id, &change, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.url, a.url, "fields left out stay");
    assert_eq!(changed.secret, a.secret);
    assert_eq!(changed.charger_ids, vec!["CP9"]);
    assert!(!changed.active);
    assert_eq!(changed.updated_at, h.now());
    assert!(
        store
            .update_webhook(999_999, &change, h.now())
            .await
            .unwrap()
            .is_none()
    );

    assert!(store.delete_webhook(a.id).await.unwrap());
    assert!(!store.delete_webhook(a.id).await.unwrap());
    assert_eq!(store.all_webhooks().await.unwrap(), vec![b]);
}

async fn deliveries_go_in_order_with_their_attempts(h: Harness) {
    let store = &h.store;
    let hook = store
        .insert_webhook(&new_hook(&h, "http://a.example/hook"))
        .await
        .unwrap();
    let other = store
        .insert_webhook(&new_hook(&h, "http://b.example/hook"))
        .await
        .unwrap();
    store
        .insert_deliveries(&[
            delivery(hook.id, 10, &h),
            delivery(other.id, 11, &h),
            delivery(hook.id, 12, &h),
        ])
        .await
        .unwrap();

    let first = store.next_delivery(hook.id).await.unwrap().unwrap();
    assert_eq!((first.event_id, first.state), (10, DeliveryState::Pending));
    assert_eq!(first.body, r#"{"id":10}"#);
    assert!(first.attempts.is_empty());

    // A failed attempt keeps it at the head, with its retry time.
    let retry_at = h.now() + Duration::seconds(30);
    let failed = DeliveryAttempt {
        number: 1,
        at: h.now(),
        http_status: Some(500),
        error: None,
        duration_ms: 12,
    };
    let pending = AttemptOutcome {
        state: DeliveryState::Pending,
        next_attempt_at: Some(retry_at),
    };
    store
        .record_attempt(first.id, &failed, &pending)
        .await
        .unwrap();
    let again = store.next_delivery(hook.id).await.unwrap().unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.next_attempt_at, Some(retry_at));
    assert_eq!(again.attempts, vec![failed.clone()]);

    let ok = DeliveryAttempt {
        number: 2,
        http_status: Some(204),
        ..failed.clone()
    };
    let no_answer = DeliveryAttempt {
        number: 2,
        http_status: None,
        error: Some("connection refused".into()),
        ..failed.clone()
    };
    let delivered = AttemptOutcome {
        state: DeliveryState::Delivered,
        next_attempt_at: None,
    };
    store
        .record_attempt(first.id, &ok, &delivered)
        .await
        .unwrap();
    let second = store.next_delivery(hook.id).await.unwrap().unwrap();
    assert_eq!(second.event_id, 12, "then the next event, in order");
    let gave_up = AttemptOutcome {
        state: DeliveryState::Failed,
        next_attempt_at: None,
    };
    store
        .record_attempt(
            second.id,
            &DeliveryAttempt {
                number: 1,
                ..no_answer.clone()
            },
            &gave_up,
        )
        .await
        .unwrap();
    assert!(store.next_delivery(hook.id).await.unwrap().is_none());

    // The log: newest first, with every attempt.
    let log = store.deliveries(hook.id, None, 10).await.unwrap();
    assert_eq!(
        log.iter().map(|d| d.event_id).collect::<Vec<_>>(),
        vec![12, 10]
    );
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert_eq!(
        log[0].attempts[0].error.as_deref(),
        Some("connection refused")
    );
    assert_eq!(log[1].state, DeliveryState::Delivered);
    assert_eq!(log[1].attempts, vec![failed, ok]);
    assert_eq!(
        store
            .deliveries(hook.id, Some(log[0].id), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Deleting a subscription takes its deliveries; a delivery for it arriving late is dropped.
    assert!(store.delete_webhook(hook.id).await.unwrap());
    assert!(
        store
            .deliveries(hook.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .insert_deliveries(&[delivery(hook.id, 13, &h), delivery(other.id, 14, &h)])
        .await
        .unwrap();
    assert!(
        store
            .deliveries(hook.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.deliveries(other.id, None, 10).await.unwrap().len(), 2);
}

contract!(
    subscriptions_are_created_changed_listed_and_deleted,
    deliveries_go_in_order_with_their_attempts,
);
