//! Store contract for charger certificates (issued, installed, renewal) and pending
//! credentials (password rotation, profile upgrade), on SQLite and PostgreSQL (see
//! `contract.rs` for how the backends are chosen).

// The harness serves several suites; this one does not use all of its fields.
#[macro_use]
#[allow(dead_code)]
mod harness;

use ampere_domain::certificates::{CertificateUse, InstalledCertificate, IssuedCertificate};
use ampere_domain::credentials::Admission;
use ampere_domain::password::verify_password;
use ampere_domain::*;
use chrono::Duration;

use harness::Harness;

async fn register(h: &Harness, id: &str, password: Option<&str>) -> ChargerId {
    let id = ChargerId::new(id).unwrap();
    h.services
        .chargers
        .register(NewCharger {
            id: id.clone(),
            password: password.map(Into::into),
            security_profile: SecurityProfile::BASIC,
            registration_status: RegistrationStatus::Accepted,
        })
        .await
        .unwrap();
    id
}

fn issued(h: &Harness, charger: &ChargerId, serial: &str, days: i64) -> IssuedCertificate {
    IssuedCertificate {
        serial: serial.into(),
        charger: charger.clone(),
        certificate_use: CertificateUse::ChargingStation,
        not_before: h.now(),
        not_after: h.now() + Duration::days(days),
        issued_at: h.now(),
        certificate_pem: format!("PEM {serial}"),
        delivery: "Sent".into(),
        renewal_requested_at: None,
    }
}

async fn issued_certificates_are_kept_and_renewed_once(h: Harness) {
    let certificates = &h.services.certificates;
    let cp = register(&h, "CP-1", None).await;
    let first = issued(&h, &cp, "01", 10);
    certificates.record_issued(&first).await.unwrap();
    assert_eq!(certificates.issued(&cp).await.unwrap(), vec![first.clone()]);
    // Not delivered yet: nothing to renew.
    let window = Duration::days(30);
    assert!(
        certificates
            .due_for_renewal(window)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(certificates.set_delivery("01", "Accepted").await.unwrap());
    assert!(!certificates.set_delivery("99", "Accepted").await.unwrap());
    let due = certificates.due_for_renewal(window).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].delivery, "Accepted");
    assert!(
        certificates
            .due_for_renewal(Duration::days(5))
            .await
            .unwrap()
            .is_empty(),
        "outside the window"
    );

    h.clock.advance(Duration::seconds(1));
    assert!(certificates.mark_renewal_requested("01").await.unwrap());
    assert!(
        !certificates.mark_renewal_requested("01").await.unwrap(),
        "once"
    );
    assert!(
        certificates
            .due_for_renewal(window)
            .await
            .unwrap()
            .is_empty()
    );

    // A newer certificate replaces the old one; only the newest is ever due.
    let mut second = issued(&h, &cp, "02", 20);
    second.delivery = "Accepted".into();
    certificates.record_issued(&second).await.unwrap();
    let listed = certificates.issued(&cp).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
        ["02", "01"],
        "newest first"
    );
    assert_eq!(listed[1].renewal_requested_at, Some(h.now()));
    let due = certificates.due_for_renewal(window).await.unwrap();
    assert_eq!(
        due.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
        ["02"]
    );
}

async fn installed_certificates_are_replaced_per_type(h: Harness) {
    let certificates = &h.services.certificates;
    let cp = register(&h, "CP-1", None).await;
    let entry = |certificate_type: &str, serial: &str| InstalledCertificate {
        certificate_type: certificate_type.into(),
        hash_algorithm: "SHA256".into(),
        issuer_name_hash: "aa".into(),
        issuer_key_hash: "bb".into(),
        serial_number: serial.into(),
        reported_at: h.now(),
    };
    let all = vec![
        entry("CSMSRootCertificate", "01"),
        entry("V2GRootCertificate", "02"),
    ];
    certificates
        .replace_installed(&cp, &[], &all)
        .await
        .unwrap();
    assert_eq!(certificates.installed(&cp).await.unwrap(), all);
    // A report for one type leaves the others.
    let csms = vec![entry("CSMSRootCertificate", "03")];
    certificates
        .replace_installed(&cp, &["CSMSRootCertificate".into()], &csms)
        .await
        .unwrap();
    assert_eq!(
        certificates.installed(&cp).await.unwrap(),
        vec![
            entry("CSMSRootCertificate", "03"),
            entry("V2GRootCertificate", "02")
        ]
    );
    // Deleting the charger deletes its certificates.
    assert!(h.services.chargers.delete(&cp).await.unwrap());
    assert!(certificates.installed(&cp).await.unwrap().is_empty());
}

async fn a_rotated_password_is_promoted_only_when_confirmed_and_used(h: Harness) {
    let credentials = &h.services.credentials;
    let cp = register(&h, "CP-1", Some("old-password-0001")).await;
    let unknown = ChargerId::new("CP-NONE").unwrap();
    assert!(
        credentials
            .begin_password_rotation(&unknown, "x-password-000001")
            .await
            .is_err()
    );

    let hash = credentials
        .begin_password_rotation(&cp, "new-password-0001")
        .await
        .unwrap();
    let pending = credentials.pending(&cp).await.unwrap();
    assert_eq!(pending.password_hash.as_deref(), Some(hash.as_str()));
    assert!(!pending.password_confirmed);
    assert_eq!(pending.password_requested_at, Some(h.now()));
    // Not offered to the gateway before the charger confirmed it.
    assert_eq!(
        credentials.also_accepted(&cp).await.unwrap().password_hash,
        None
    );
    let login = Admission {
        pending_password: true,
        ..Admission::default()
    };
    assert!(!credentials.admitted(&cp, login).await.unwrap().password);

    credentials.password_confirmed(&cp, &hash).await.unwrap();
    assert_eq!(
        credentials
            .also_accepted(&cp)
            .await
            .unwrap()
            .password_hash
            .as_deref(),
        Some(hash.as_str())
    );
    // A login with the old password changes nothing.
    assert!(
        !credentials
            .admitted(&cp, Admission::default())
            .await
            .unwrap()
            .password
    );
    assert!(credentials.admitted(&cp, login).await.unwrap().password);
    let auth = h.services.chargers.auth(&cp).await.unwrap().unwrap();
    let current = auth.password_hash.unwrap();
    assert!(verify_password(&current, "new-password-0001"));
    assert!(!verify_password(&current, "old-password-0001"));
    assert_eq!(credentials.pending(&cp).await.unwrap().password_hash, None);

    // A refusal drops the pending one, and only the rotation it names.
    let hash = credentials
        .begin_password_rotation(&cp, "refused-password1")
        .await
        .unwrap();
    credentials
        .password_refused(&cp, "another hash")
        .await
        .unwrap();
    assert!(
        credentials
            .pending(&cp)
            .await
            .unwrap()
            .password_hash
            .is_some()
    );
    credentials.password_refused(&cp, &hash).await.unwrap();
    assert_eq!(credentials.pending(&cp).await.unwrap().password_hash, None);
}

async fn a_profile_upgrade_is_promoted_by_a_login_that_meets_it(h: Harness) {
    let credentials = &h.services.credentials;
    let cp = register(&h, "CP-1", Some("password-for-cp-1")).await;
    let three = SecurityProfile::new(3).unwrap();
    credentials.profile_accepted(&cp, three).await.unwrap();
    assert_eq!(
        credentials
            .also_accepted(&cp)
            .await
            .unwrap()
            .security_profile,
        Some(three)
    );
    // TLS without a certificate does not meet profile 3.
    let tls = Admission {
        tls: true,
        ..Admission::default()
    };
    assert_eq!(
        credentials
            .admitted(&cp, tls)
            .await
            .unwrap()
            .security_profile,
        None
    );
    let auth = h.services.chargers.auth(&cp).await.unwrap().unwrap();
    assert_eq!(auth.security_profile, SecurityProfile::BASIC);
    let with_certificate = Admission {
        tls: true,
        client_certificate: true,
        ..Admission::default()
    };
    assert_eq!(
        credentials
            .admitted(&cp, with_certificate)
            .await
            .unwrap()
            .security_profile,
        Some(three)
    );
    let auth = h.services.chargers.auth(&cp).await.unwrap().unwrap();
    assert_eq!(auth.security_profile, three);
    assert_eq!(
        credentials.pending(&cp).await.unwrap().security_profile,
        None
    );
    // The password is untouched by a profile change.
    assert!(verify_password(
        &auth.password_hash.unwrap(),
        "password-for-cp-1"
    ));

    // Cancelled before any login: nothing changes.
    let cp2 = register(&h, "CP-2", None).await;
    credentials
        .profile_accepted(&cp2, SecurityProfile::new(2).unwrap())
        .await
        .unwrap();
    assert!(credentials.cancel_profile_change(&cp2).await.unwrap());
    assert_eq!(
        credentials
            .admitted(&cp2, tls)
            .await
            .unwrap()
            .security_profile,
        None
    );
}

contract! {
    issued_certificates_are_kept_and_renewed_once,
    installed_certificates_are_replaced_per_type,
    a_rotated_password_is_promoted_only_when_confirmed_and_used,
    a_profile_upgrade_is_promoted_by_a_login_that_meets_it,
}
