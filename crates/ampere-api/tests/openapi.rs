//! The OpenAPI document is generated from the handlers: it must be OpenAPI 3.1, name every
//! route the router serves, and declare bearer auth.

use ampere_api::ApiDoc;
use serde_json::Value;
use utoipa::OpenApi;

#[test]
fn document_is_openapi_3_1_with_every_path() {
    let doc: Value = serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/api/v1/api-tokens", &["get", "post"][..]),
        ("/api/v1/api-tokens/{id}", &["delete"]),
        ("/api/v1/audit-log", &["get"]),
        ("/api/v1/chargers", &["get", "post"]),
        ("/api/v1/chargers/{id}", &["delete", "get", "patch"]),
        ("/api/v1/chargers/{id}/status-history", &["get"]),
        ("/api/v1/chargers/{id}/commands/{command}", &["post"]),
        ("/api/v1/chargers/{id}/ocpp/{action}", &["post"]),
        ("/api/v1/chargers/{id}/device-model", &["get"]),
        ("/api/v1/chargers/{id}/reports", &["get"]),
        ("/api/v1/events", &["get"]),
        ("/api/v1/id-tokens", &["get", "post"]),
        ("/api/v1/id-tokens/import", &["post"]),
        ("/api/v1/id-tokens/{id_token}", &["delete", "get", "patch"]),
        ("/api/v1/transactions", &["get"]),
        ("/api/v1/transactions/{id}", &["get"]),
        ("/api/v1/security-events", &["get"]),
        ("/api/v1/reservations", &["get", "post"]),
        ("/api/v1/reservations/{id}", &["delete", "get"]),
        ("/api/v1/charging-profiles", &["get", "post"]),
        ("/api/v1/charging-profiles/{id}", &["delete", "get"]),
        ("/api/v1/charging-profiles/{id}/installations", &["post"]),
        (
            "/api/v1/charging-profiles/{id}/installations/{charger_id}",
            &["delete"],
        ),
        ("/api/v1/chargers/{id}/local-list", &["get", "patch", "put"]),
        ("/api/v1/chargers/{id}/local-list/version", &["post"]),
        ("/api/v1/webhooks", &["get", "post"]),
        ("/api/v1/webhooks/{id}", &["delete", "get", "patch"]),
        ("/api/v1/webhooks/{id}/deliveries", &["get"]),
        ("/api/v1/chargers/{id}/messages", &["get"]),
        ("/api/v1/firmware", &["get", "post"]),
        ("/api/v1/firmware/{id}", &["delete", "get"]),
        ("/api/v1/chargers/{id}/firmware-update", &["post"]),
        ("/api/v1/chargers/{id}/firmware-updates", &["get"]),
        (
            "/api/v1/chargers/{id}/firmware-updates/{update_id}",
            &["get"],
        ),
        ("/api/v1/chargers/{id}/diagnostics", &["get", "post"]),
        ("/api/v1/diagnostics/{id}", &["get"]),
        ("/api/v1/diagnostics/{id}/file", &["get"]),
        ("/api/v1/chargers/{id}/certificates", &["get"]),
        ("/api/v1/chargers/{id}/certificates/install", &["post"]),
        ("/api/v1/chargers/{id}/certificates/delete", &["post"]),
        (
            "/api/v1/chargers/{id}/certificates/installed-ids",
            &["post"],
        ),
        ("/api/v1/chargers/{id}/password", &["post"]),
        ("/api/v1/chargers/{id}/credentials", &["get"]),
        ("/api/v1/chargers/{id}/security-profile", &["post"]),
    ];
    assert_eq!(paths.len(), expected.len(), "{:?}", paths.keys());
    for (path, methods) in expected {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
        let mut have: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        have.sort_unstable();
        assert_eq!(have, methods, "{path}");
        for method in methods {
            assert_eq!(
                item[method]["security"],
                serde_json::json!([{"bearer": []}]),
                "{method} {path} must declare bearer auth"
            );
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let charger = &doc["components"]["schemas"]["ChargerView"]["properties"];
    for field in [
        "id",
        "online",
        "protocol",
        "registration_status",
        "vendor",
        "model",
        "serial_number",
        "firmware_version",
        "last_seen",
        "evses",
    ] {
        assert!(charger.get(field).is_some(), "ChargerView.{field} missing");
    }
}

#[test]
fn events_are_documented_as_an_event_stream() {
    let doc: Value = serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap();
    let ok = &doc["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"];
    assert!(ok.get("text/event-stream").is_some(), "{ok}");
    let params: Vec<&str> = doc["paths"]["/api/v1/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["charger_id", "type"]);
    let event = &doc["components"]["schemas"]["Event"]["properties"];
    for field in ["id", "time", "charger_id", "type", "data"] {
        assert!(event.get(field).is_some(), "Event.{field} missing: {event}");
    }
}
