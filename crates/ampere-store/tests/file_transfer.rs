//! Store contract for charger file transfer (firmware files, firmware updates, log requests
//! and their status histories), on SQLite and PostgreSQL (see `contract.rs` for how the
//! backends are chosen).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use std::sync::Arc;

use ampere_domain::file_transfer::{STATUS_REQUESTED, new_file_id};
use ampere_domain::*;
use chrono::Duration;

use harness::Harness;

fn service(h: &Harness) -> FileTransferService {
    FileTransferService::new(Arc::new(h.store.clone()), h.clock.clone())
}

async fn charger(h: &Harness, id: &str) -> ChargerId {
    let id = ChargerId::new(id).unwrap();
    h.services
        .chargers
        .register(NewCharger {
            id: id.clone(),
            password: None,
            security_profile: SecurityProfile::BASIC,
            registration_status: RegistrationStatus::Accepted,
        })
        .await
        .unwrap();
    id
}

fn statuses(history: &[StatusEntry]) -> Vec<&str> {
    history.iter().map(|e| e.status.as_str()).collect()
}

fn update(charger: &ChargerId, location: &str, h: &Harness) -> NewFirmwareUpdate {
    NewFirmwareUpdate {
        charger: charger.clone(),
        firmware_id: None,
        location: location.into(),
        signed: false,
        retrieve_date: h.now(),
        install_date: None,
        retries: Some(3),
        retry_interval: Some(60),
        signing_certificate: None,
        signature: None,
        requested_by: Some("ops".into()),
    }
}

fn log_request(charger: &ChargerId, kind: LogKind) -> NewLogRequest {
    NewLogRequest {
        charger: charger.clone(),
        kind,
        start_time: None,
        stop_time: None,
        retries: None,
        retry_interval: None,
        requested_by: None,
    }
}

async fn firmware_files_added_listed_newest_first_and_deleted(h: Harness) {
    let files = &service(&h);
    let mut added = Vec::new();
    for name in ["a.bin", "b.bin", "c.bin"] {
        let file = files
            .add_firmware(NewFirmwareFile {
                id: new_file_id(),
                filename: name.into(),
                size: 1 << 33, // over 32 bits: sizes are 64-bit
                sha256: "ab".repeat(32),
                uploaded_by: Some("ops".into()),
            })
            .await
            .unwrap();
        assert_eq!(file.uploaded_at, h.now());
        added.push(file);
        h.clock.advance(Duration::seconds(1));
    }
    assert_eq!(
        files.firmware(&added[1].id).await.unwrap().as_ref(),
        Some(&added[1])
    );
    let page = files.list_firmware(None, 2).await.unwrap();
    assert_eq!(page, vec![added[2].clone(), added[1].clone()]);
    let rest = files.list_firmware(Some(page[1].serial), 2).await.unwrap();
    assert_eq!(rest, vec![added[0].clone()]);

    assert!(files.delete_firmware(&added[0].id).await.unwrap());
    assert!(!files.delete_firmware(&added[0].id).await.unwrap());
    assert_eq!(files.firmware(&added[0].id).await.unwrap(), None);
    assert_eq!(files.firmware("../etc/passwd").await.unwrap(), None);
    let bad_name = files
        .add_firmware(NewFirmwareFile {
            id: new_file_id(),
            filename: "../x".into(),
            size: 1,
            sha256: String::new(),
            uploaded_by: None,
        })
        .await;
    assert!(matches!(bad_name, Err(DomainError::Invalid(_))));
}

async fn firmware_status_follows_the_update_with_its_history(h: Harness) {
    let cp = charger(&h, "CP-FW").await;
    let other = charger(&h, "CP-OTHER").await;
    let files = &service(&h);
    let first = files
        .start_firmware_update(update(&cp, "http://x/1", &h))
        .await
        .unwrap();
    assert_eq!(first.status, STATUS_REQUESTED);
    assert_eq!(statuses(&first.history), [STATUS_REQUESTED]);
    let second = files
        .start_firmware_update(update(&cp, "http://x/2", &h))
        .await
        .unwrap();
    assert!(second.id > first.id);

    h.clock.advance(Duration::seconds(1));
    let answered = files
        .firmware_update_answered(second.id, "Accepted")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.status, "Accepted");
    // 1.6 without a request id: the latest update.
    for status in ["Downloading", "Downloaded", "Installing", "Installed"] {
        h.clock.advance(Duration::seconds(1));
        let matched = files
            .firmware_status(&cp, None, status)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(matched.id, second.id);
        assert_eq!(matched.status, status);
    }
    // With a request id: that one, whatever is newer.
    let matched = files
        .firmware_status(&cp, Some(first.id), "DownloadFailed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(matched.id, first.id);
    // Idle and unknown ids match nothing, and change nothing.
    assert_eq!(
        files.firmware_status(&cp, None, "Idle").await.unwrap(),
        None
    );
    assert_eq!(
        files
            .firmware_status(&cp, Some(second.id + 100), "Installed")
            .await
            .unwrap(),
        None
    );
    // Another charger's request id is not this charger's.
    assert_eq!(
        files
            .firmware_status(&other, Some(second.id), "Installed")
            .await
            .unwrap(),
        None
    );

    let stored = files
        .firmware_update(&cp, second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        statuses(&stored.history),
        [
            STATUS_REQUESTED,
            "Accepted",
            "Downloading",
            "Downloaded",
            "Installing",
            "Installed"
        ]
    );
    assert!(stored.history.windows(2).all(|w| w[0].at < w[1].at));
    assert_eq!(stored.request.retries, Some(3));
    assert_eq!(
        files.firmware_update(&other, second.id).await.unwrap(),
        None
    );

    let page = files.list_firmware_updates(&cp, None, 1).await.unwrap();
    assert_eq!(page, vec![stored]);
    let rest = files
        .list_firmware_updates(&cp, Some(second.id), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        statuses(&rest[0].history),
        [STATUS_REQUESTED, "DownloadFailed"]
    );
    assert!(
        files
            .list_firmware_updates(&other, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn upload_tokens_open_one_request_once_until_they_expire(h: Harness) {
    let cp = charger(&h, "CP-LOG").await;
    let files = &service(&h);
    let (request, token) = files
        .start_log_request(log_request(&cp, LogKind::Diagnostics))
        .await
        .unwrap();
    assert_eq!(request.status, STATUS_REQUESTED);
    assert!(request.upload_expires_at > h.now());
    let answered = files
        .log_request_answered(request.id, "Accepted", Some("diag.zip"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.charger_filename.as_deref(), Some("diag.zip"));

    match files.upload_target(token.expose()).await.unwrap() {
        UploadTarget::Open(open) => assert_eq!(open.id, request.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        files.upload_target("not-a-token").await.unwrap(),
        UploadTarget::Unknown
    );
    // The token is stored hashed: its hash is not a token.
    assert_eq!(
        files.upload_target(&token.hash()).await.unwrap(),
        UploadTarget::Unknown
    );

    assert!(
        files
            .attach_upload(request.id, "diag.zip", 5, "cd", "1-x")
            .await
            .unwrap()
    );
    assert!(
        !files
            .attach_upload(request.id, "again.zip", 6, "ef", "1-y")
            .await
            .unwrap(),
        "one upload per token"
    );
    assert_eq!(
        files.upload_target(token.expose()).await.unwrap(),
        UploadTarget::Used
    );
    let stored = files.log_request(request.id).await.unwrap().unwrap();
    let file = stored.file.unwrap();
    assert_eq!(
        (file.filename.as_str(), file.size, file.stored_as.as_str()),
        ("diag.zip", 5, "1-x")
    );

    let (_, late) = files
        .start_log_request(log_request(&cp, LogKind::SecurityLog))
        .await
        .unwrap();
    h.clock.advance(Duration::days(2));
    assert_eq!(
        files.upload_target(late.expose()).await.unwrap(),
        UploadTarget::Expired
    );
}

async fn log_status_notifications_follow_their_request(h: Harness) {
    let cp = charger(&h, "CP-LOGS").await;
    let files = &service(&h);
    let (diagnostics, _) = files
        .start_log_request(log_request(&cp, LogKind::Diagnostics))
        .await
        .unwrap();
    let (log, _) = files
        .start_log_request(log_request(&cp, LogKind::SecurityLog))
        .await
        .unwrap();
    // 2.x / whitepaper: by request id.
    let matched = files
        .log_status(&cp, Some(diagnostics.id), "Uploading")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(matched.id, diagnostics.id);
    // 1.6 DiagnosticsStatusNotification: the latest.
    let matched = files
        .log_status(&cp, None, "Uploaded")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(matched.id, log.id);
    assert_eq!(statuses(&matched.history), [STATUS_REQUESTED, "Uploaded"]);
    assert_eq!(files.log_status(&cp, None, "Idle").await.unwrap(), None);

    let page = files.list_log_requests(&cp, None, 10).await.unwrap();
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        [log.id, diagnostics.id]
    );
    assert_eq!(statuses(&page[1].history), [STATUS_REQUESTED, "Uploading"]);
    assert_eq!(page[1].request.kind, LogKind::Diagnostics);

    // A charger's records go with it.
    assert!(h.services.chargers.delete(&cp).await.unwrap());
    assert_eq!(files.log_request(log.id).await.unwrap(), None);
}

contract!(
    firmware_files_added_listed_newest_first_and_deleted,
    firmware_status_follows_the_update_with_its_history,
    upload_tokens_open_one_request_once_until_they_expire,
    log_status_notifications_follow_their_request,
);
