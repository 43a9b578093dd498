//! ClearedChargingLimit (2.0.1 and 2.1): kept as a report for the smart-charging feature.

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types.
macro_rules! handler {
    ($v:ident) => {
        pub(crate) mod $v {
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{ClearedChargingLimitRequest, ClearedChargingLimitResponse};

            use crate::context::Ctx;

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                _request: ClearedChargingLimitRequest,
            ) -> Result<ClearedChargingLimitResponse, CallError> {
                ctx.record_report().await?;
                Ok(ClearedChargingLimitResponse { custom_data: None })
            }
        }
    };
}

handler!(v201);
handler!(v21);

#[cfg(test)]
mod tests {
    use ampere_ocpp::OcppVersion;
    use serde_json::json;

    use crate::testing::{assert_kept, two_x_tests};

    async fn is_kept_and_acknowledged(version: OcppVersion) {
        assert_kept(
            version,
            "ClearedChargingLimit",
            json!({"chargingLimitSource": "EMS", "evseId": 1}),
            json!({}),
        )
        .await;
    }

    two_x_tests!(is_kept_and_acknowledged);
}
