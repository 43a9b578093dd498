//! NotifyPeriodicEventStream (2.1): a SEND, never answered. It needs no typed handler: the
//! router's `handle_send` validates it and keeps it as a report, like every notification.
//! Its tests are here, beside the other actions.

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::testing::Harness;

    fn stream_data() -> serde_json::Value {
        json!({"data": [{"t": 1.5, "v": "230.1"}], "id": 4, "pending": 0, "basetime": "2026-01-01T11:00:00Z"})
    }

    #[tokio::test]
    async fn is_kept_as_a_report() {
        let h = Harness::new().await;
        h.router
            .handle_send(
                &h.context(OcppVersion::V21),
                "NotifyPeriodicEventStream",
                stream_data(),
            )
            .await;
        let reports = h.reports("NotifyPeriodicEventStream").await;
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].payload, stream_data());
    }

    #[tokio::test]
    async fn an_invalid_one_is_dropped() {
        let h = Harness::new().await;
        h.router
            .handle_send(
                &h.context(OcppVersion::V21),
                "NotifyPeriodicEventStream",
                json!({"id": 4}),
            )
            .await;
        assert!(h.reports("NotifyPeriodicEventStream").await.is_empty());
    }

    #[tokio::test]
    async fn as_a_call_it_is_not_supported() {
        let h = Harness::new().await;
        let e = h
            .call(OcppVersion::V21, "NotifyPeriodicEventStream", stream_data())
            .await
            .expect_err("a SEND-only message");
        assert_eq!(e.code, ampere_ocpp::ErrorCode::NotSupported);
        assert!(h.reports("NotifyPeriodicEventStream").await.is_empty());
    }
}
