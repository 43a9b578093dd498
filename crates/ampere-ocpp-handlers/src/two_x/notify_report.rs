//! NotifyReport (2.0.1 and 2.1): kept as a report, and fed to the device model as one part
//! of the report the charger sends after GetBaseReport/GetReport (the domain assembles the
//! parts; see [`ampere_domain::device_model`]).

/// The handler of one 2.x version: the same body for 2.0.1 and 2.1, over that version's
/// generated types. `max_elements` reads the one field only 2.1's characteristics have.
macro_rules! handler {
    ($v:ident, max_elements: $max_elements:expr) => {
        pub(crate) mod $v {
            use ampere_domain::{
                ComponentRef, ReportPart, ReportedVariable, VariableAttribute,
                VariableCharacteristics, VariableRef,
            };
            use ampere_ocpp::CallError;
            use ampere_ocpp::$v::{NotifyReportRequest, NotifyReportResponse, ReportData};

            use crate::context::Ctx;
            use crate::error::domain_error;
            use crate::wire::{wire, wire_opt};

            fn variable(data: ReportData) -> ReportedVariable {
                let evse = data.component.evse.as_ref();
                ReportedVariable {
                    component: ComponentRef {
                        name: data.component.name,
                        instance: data.component.instance,
                        evse_id: evse.map(|e| e.id),
                        connector_id: evse.and_then(|e| e.connector_id),
                    },
                    variable: VariableRef {
                        name: data.variable.name,
                        instance: data.variable.instance,
                    },
                    attributes: data
                        .variable_attribute
                        .into_iter()
                        .map(|a| VariableAttribute {
                            // The schema's default type is Actual.
                            attribute_type: wire_opt(a.r#type.as_ref())
                                .unwrap_or_else(|| "Actual".into()),
                            value: a.value,
                            mutability: wire_opt(a.mutability.as_ref()),
                            persistent: a.persistent,
                            constant: a.constant,
                        })
                        .collect(),
                    characteristics: data.variable_characteristics.map(|c| {
                        VariableCharacteristics {
                            unit: c.unit.clone(),
                            data_type: wire(&c.data_type),
                            min_limit: c.min_limit,
                            max_limit: c.max_limit,
                            max_elements: $max_elements(&c),
                            values_list: c.values_list.clone(),
                            supports_monitoring: c.supports_monitoring,
                        }
                    }),
                }
            }

            pub(crate) async fn handle(
                ctx: &Ctx<'_>,
                request: NotifyReportRequest,
            ) -> Result<NotifyReportResponse, CallError> {
                ctx.record_report().await?;
                let part = ReportPart {
                    request_id: request.request_id,
                    seq_no: request.seq_no,
                    tbc: request.tbc.unwrap_or(false),
                    generated_at: request.generated_at,
                    variables: request
                        .report_data
                        .unwrap_or_default()
                        .into_iter()
                        .map(variable)
                        .collect(),
                };
                ctx.services
                    .device_model
                    .receive_part(ctx.charger_id(), &part)
                    .await
                    .map_err(domain_error)?;
                Ok(NotifyReportResponse { custom_data: None })
            }
        }
    };
}

handler!(v201, max_elements: |_: &ampere_ocpp::v201::VariableCharacteristics| None);
handler!(v21, max_elements: |c: &ampere_ocpp::v21::VariableCharacteristics| c.max_elements);

#[cfg(test)]
mod tests {
    use ampere_domain::{ChargerId, ReportScope};
    use ampere_ocpp::OcppVersion;
    use serde_json::{Value, json};

    use crate::testing::{CHARGER, Harness, assert_kept, two_x_tests};

    async fn is_kept_and_acknowledged(version: OcppVersion) {
        assert_kept(
            version,
            "NotifyReport",
            json!({
                "requestId": 1,
                "generatedAt": "2026-01-01T11:00:00Z",
                "seqNo": 0,
                "tbc": false,
                "reportData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                        "variableAttribute": [{"type": "Actual", "value": "300", "mutability": "ReadWrite"}]
                    }
                ]
            }),
            json!({}),
        )
        .await;
    }

    fn part(seq_no: i64, tbc: bool, component: &str, value: &str) -> Value {
        json!({
            "requestId": 7,
            "generatedAt": "2026-01-01T11:00:00Z",
            "seqNo": seq_no,
            "tbc": tbc,
            "reportData": [{
                "component": {"name": component, "evse": {"id": 1, "connectorId": 1}},
                "variable": {"name": "Power", "instance": "Max"},
                "variableAttribute": [{"value": value}, {"type": "MaxSet", "value": "22000", "persistent": true}],
                "variableCharacteristics": {"unit": "W", "dataType": "decimal", "minLimit": 0, "maxLimit": 22000.5, "supportsMonitoring": true}
            }]
        })
    }

    async fn parts_become_the_device_model(version: OcppVersion) {
        let h = Harness::new().await;
        let charger = ChargerId::new(CHARGER).unwrap();
        h.services
            .device_model
            .expect_report(&charger, 7, ReportScope::Full)
            .await
            .unwrap();
        h.call(version, "NotifyReport", part(0, true, "EVSE", "11000"))
            .await
            .unwrap();
        assert_eq!(
            h.services.device_model.get(&charger).await.unwrap(),
            None,
            "not complete before its last part"
        );
        h.call(version, "NotifyReport", part(1, false, "Connector", "7400"))
            .await
            .unwrap();
        let model = h
            .services
            .device_model
            .get(&charger)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(model.last_request_id, 7);
        assert_eq!(model.variables.len(), 2);
        let first = &model.variables[0];
        assert_eq!(first.component.name, "EVSE");
        assert_eq!(first.component.evse_id, Some(1));
        assert_eq!(first.variable.instance.as_deref(), Some("Max"));
        assert_eq!(
            first.attributes[0].attribute_type, "Actual",
            "the default type"
        );
        assert_eq!(first.attributes[1].persistent, Some(true));
        let characteristics = first.characteristics.as_ref().unwrap();
        assert_eq!(characteristics.data_type, "decimal");
        assert_eq!(characteristics.max_limit.unwrap().to_string(), "22000.5");
    }

    two_x_tests!(is_kept_and_acknowledged, parts_become_the_device_model);
}
