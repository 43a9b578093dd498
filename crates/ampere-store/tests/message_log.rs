//! Store contract for the OCPP message log, on SQLite and PostgreSQL (see `contract.rs` for
//! how the backends are chosen).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use ampere_domain::message_log::*;
use chrono::Duration;

use harness::Harness;

fn frame(
    h: &Harness,
    charger: &str,
    direction: FrameDirection,
    action: Option<&str>,
    id: &str,
) -> LoggedFrame {
    LoggedFrame {
        charger_id: charger.into(),
        at: h.now(),
        direction,
        message_type: if direction == FrameDirection::Incoming {
            "CALL"
        } else {
            "CALLRESULT"
        }
        .into(),
        action: action.map(Into::into),
        message_id: Some(id.into()),
        text: format!(r#"[2,"{id}","Heartbeat",{{}}]"#),
    }
}

fn query(charger: &str) -> FrameQuery {
    FrameQuery {
        charger_id: charger.into(),
        before: None,
        limit: 50,
        direction: None,
        action: None,
        since: None,
        until: None,
    }
}

async fn frames_are_listed_newest_first_with_filters(h: Harness) {
    let store = &h.store;
    let start = h.now();
    let mut batch = Vec::new();
    // 250 frames: more than one multi-row insert.
    for n in 0..125 {
        batch.push(frame(
            &h,
            "CP1",
            FrameDirection::Incoming,
            Some("Heartbeat"),
            &format!("m{n}"),
        ));
        batch.push(frame(
            &h,
            "CP1",
            FrameDirection::Outgoing,
            Some("Heartbeat"),
            &format!("m{n}"),
        ));
        h.clock.advance(Duration::seconds(1));
    }
    batch.push(frame(
        &h,
        "CP1",
        FrameDirection::Incoming,
        Some("BootNotification"),
        "boot",
    ));
    batch.push(frame(&h, "CP2", FrameDirection::Incoming, None, "other"));
    store.insert_frames(&batch).await.unwrap();

    let all = store.frames(&query("CP1")).await.unwrap();
    assert_eq!(all.len(), 50);
    assert_eq!(all[0].frame, batch[250], "newest first");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    let next = store
        .frames(&FrameQuery {
            before: Some(all[49].id),
            limit: 500,
            ..query("CP1")
        })
        .await
        .unwrap();
    assert_eq!(all.len() + next.len(), 251);

    let boots = store
        .frames(&FrameQuery {
            action: Some("BootNotification".into()),
            ..query("CP1")
        })
        .await
        .unwrap();
    assert_eq!(boots.len(), 1);
    let outgoing = store
        .frames(&FrameQuery {
            direction: Some(FrameDirection::Outgoing),
            limit: 500,
            ..query("CP1")
        })
        .await
        .unwrap();
    assert_eq!(outgoing.len(), 125);
    assert!(
        outgoing
            .iter()
            .all(|f| f.frame.direction == FrameDirection::Outgoing)
    );
    // Frames of the first 10 seconds: 10 exchanges.
    let window = store
        .frames(&FrameQuery {
            since: Some(start),
            until: Some(start + Duration::seconds(10)),
            ..query("CP1")
        })
        .await
        .unwrap();
    assert_eq!(window.len(), 20);
    assert_eq!(
        store.frames(&query("CP2")).await.unwrap()[0].frame.action,
        None
    );
}

async fn purge_removes_only_frames_older_than_the_cutoff(h: Harness) {
    let store = &h.store;
    let old = frame(
        &h,
        "CP1",
        FrameDirection::Incoming,
        Some("Heartbeat"),
        "old",
    );
    h.clock.advance(Duration::days(8));
    let new = frame(
        &h,
        "CP1",
        FrameDirection::Incoming,
        Some("Heartbeat"),
        "new",
    );
    store.insert_frames(&[old, new.clone()]).await.unwrap();
    let purged = store
        .purge_frames_before(h.now() - Duration::days(7))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let left = store.frames(&query("CP1")).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].frame, new);
}

contract!(
    frames_are_listed_newest_first_with_filters,
    purge_removes_only_frames_older_than_the_cutoff,
);
